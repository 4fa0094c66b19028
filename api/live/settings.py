"""Settings of the live stream (`DARKHORSES_STREAM_*`), built with the API's settings."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LiveSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DARKHORSES_STREAM_", env_file=".env", extra="ignore", frozen=True
    )

    api_keys: str = Field(
        default="",
        description="Comma-separated keys for the stream alone, on top of the database's API "
        "keys (api/live/credentials.py). With none and DARKHORSES_API_AUTH_REQUIRED off, the "
        "stream is open (no authentication).",
    )
    secret: SecretStr = Field(
        default=SecretStr("darkhorses-dev-secret"),
        description="HMAC key for resume and access tokens; the same on every API process.",
    )
    epoch: int = Field(
        default=1, ge=1, description="Bump when topics are recreated: older tokens re-image."
    )
    bootstrap_hours: float | None = Field(
        default=None,
        gt=0,
        description="Build books from this many hours of history (unset: all retained history).",
    )
    token_ttl_s: int = Field(default=300, ge=10, description="Lifetime of REST-minted tokens.")
    max_subscriptions: int = Field(default=16, ge=1)
    max_frame_bytes: int = Field(default=16_384, ge=256, description="Largest client frame.")
    first_frame_timeout_s: float = Field(default=10.0, gt=0)
    heartbeat_ms: int = Field(default=5_000, ge=500, le=30_000, description="Default heartbeat.")
    max_conflate_ms: int = Field(default=120_000, ge=0)
    queue_watermark: int = Field(
        default=1_000, ge=1, description="Queued frames per client past which updates conflate."
    )
    queue_limit: int = Field(
        default=20_000, ge=1, description="Pending updates per client past which it is closed."
    )
    history_readers: int = Field(
        default=4, ge=1, description="Concurrent Kafka readers for resume catch-up and replay."
    )
    stale_after_s: float = Field(default=120.0, gt=0, description="A silent bookmaker is stale.")
    degraded_lag_ms: int = Field(default=10_000, ge=0, description="Lag past which it degrades.")
    shutdown_grace_s: float = Field(default=2.0, ge=0)
    evict_closed_after_s: float = Field(
        default=6 * 3600.0, gt=0, description="Forget a closed race's book after this silence."
    )
    coalesce_ms: int = Field(
        default=10,
        ge=0,
        le=100,
        description="At most one websocket message per client per this many ms: the first frame"
        " after a quiet spell goes at once; under load a message carries several frames.",
    )
    per_message_deflate: bool = Field(
        default=False,
        description="Compress websocket messages: less bandwidth, but each message is compressed"
        " per client (no sharing) and each connection holds ~46 KB of zlib state.",
    )

    def key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())
