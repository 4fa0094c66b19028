"""Settings for the API runtime (`darkhorses api`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from darkhorses.settings import READER_ROLE, ConnectionSettings, login_url


class ApiSettings(ConnectionSettings):
    model_config = SettingsConfigDict(
        env_prefix="DARKHORSES_API_", env_file=".env", extra="ignore", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    auth_required: bool = Field(
        default=False, description="Require an API key on /v1 (off for local use)."
    )
    anonymous_rate_limit_per_min: int = Field(
        default=6000, ge=1, description="Per-address limit for requests without a key."
    )
    cors_origins: list[str] = Field(
        default=["http://127.0.0.1:8000", "http://localhost:8000"],
        description="Browser origins allowed to call the API (JSON list).",
    )
    api_key_cache_s: float = Field(
        default=5.0, ge=0, description="How long a key lookup is cached (revocation delay)."
    )
    book_cache_s: float = Field(
        default=0.5, ge=0, description="Longest a served live book may lag the database."
    )
    access_log: bool = Field(
        default=False, description="Log every request (costly at thousands of requests/s)."
    )
    workers: int = Field(default=1, ge=1, le=32, description="API worker processes.")
    streams_group_id: str = Field(
        default="darkhorses-streams", description="Consumer group whose lag /v1/statistics reports."
    )
    statistics_max_age_s: float = Field(
        default=900.0,
        ge=0,
        description="Serve /v1/statistics and /v1/summary from the figures the maintenance job "
        "stored while they are younger than this (0: always compute them on request).",
    )
    api_database_url: str | None = Field(
        default=None,
        validation_alias="DARKHORSES_API_DATABASE_URL",
        description="How the API logs in to PostgreSQL: as the read-only role the migrations "
        f"create ({READER_ROLE}), never as the owner. Unset: DATABASE_URL's server and database "
        f"as {READER_ROLE} without a password (enough where the server trusts local logins, as "
        "the embedded one does). `darkhorses db migrate` gives the role this URL's password.",
    )

    @property
    def reader_url(self) -> str:
        return self.api_database_url or login_url(self.database_url, READER_ROLE)
