"""Settings for the API runtime (`darkhorses api`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from darkhorses.settings import ConnectionSettings


class ApiSettings(ConnectionSettings):
    model_config = SettingsConfigDict(
        env_prefix="DARKHORSES_API_", env_file=".env", extra="ignore", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    client_queue_size: int = Field(
        default=10_000,
        ge=1,
        description="Frames buffered per websocket client before it is closed.",
    )
