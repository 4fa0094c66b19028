"""Connection settings shared by every runtime, read from the environment or a `.env` file.

The standard names (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`, `RACING_API_*`) carry no prefix;
runtime-specific settings classes extend `ConnectionSettings` with their own prefixed fields.
Defaults point at the local broker and database that `darkhorses up` starts.
"""

from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_KAFKA_PORT = 19092
LOCAL_POSTGRES_PORT = 15432
READER_ROLE = "darkhorses_reader"  # the read-only login role the migrations create for the API


def login_url(database_url: str, role: str, password: str | None = None) -> str:
    """`database_url`'s server, database and options, logging in as `role`."""
    parts = urlsplit(database_url)
    user = quote(role, safe="") + (f":{quote(password, safe='')}" if password else "")
    netloc = f"{user}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc))


class ConnectionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(
        default=f"127.0.0.1:{LOCAL_KAFKA_PORT}",
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description="Comma-separated Kafka bootstrap servers.",
    )
    database_url: str = Field(
        default=f"postgresql://postgres@127.0.0.1:{LOCAL_POSTGRES_PORT}/darkhorses",
        validation_alias="DATABASE_URL",
        description="PostgreSQL DSN; the default is the embedded server `darkhorses up` starts.",
    )


class RacingApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    base_url: str = Field(
        default="https://api.theracingapi.com/v1", validation_alias="RACING_API_BASE_URL"
    )
    username: str | None = Field(default=None, validation_alias="RACING_API_USERNAME")
    password: SecretStr | None = Field(default=None, validation_alias="RACING_API_PASSWORD")


class LocalInfraSettings(BaseSettings):
    """Where and how the project runs its own broker and database (`darkhorses kafka|db`)."""

    model_config = SettingsConfigDict(
        env_prefix="DARKHORSES_", env_file=".env", extra="ignore", frozen=True
    )

    home: Path = Field(default=Path(".cache"), description="Jars, data and logs (outside git).")
    kafka_port: int = LOCAL_KAFKA_PORT
    kafka_controller_port: int = LOCAL_KAFKA_PORT + 1
    kafka_heap: str = "1g"
    postgres_port: int = LOCAL_POSTGRES_PORT

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres_port}/darkhorses"
