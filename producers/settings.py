"""Settings for the producer runtimes (`darkhorses produce ...`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from darkhorses.settings import ConnectionSettings


class SimulatorSettings(ConnectionSettings):
    model_config = SettingsConfigDict(env_prefix="DARKHORSES_SIM_", env_file=".env", extra="ignore")

    seed: int = 1
    races: int = Field(default=12, ge=1)
    bookmakers: int = Field(default=22, ge=1, le=38)
    tick_s: float = Field(default=1.0, gt=0, description="Real seconds between market ticks.")
    compression: float = Field(
        default=1.0, gt=0, description="Simulated seconds per real second (10 = ten times faster)."
    )
    max_ticks: int | None = Field(default=None, ge=0, description="Stop after this many ticks.")
