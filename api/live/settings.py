"""Settings of the live stream (`DARKHORSES_STREAM_*`), built with the API's settings."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Public (it is in this file): fine for local use, where the stream is open anyway, and refused
# when keys are required, since anyone could sign an access token with it.
DEV_SECRET = "darkhorses-dev-secret"  # noqa: S105
MIN_SECRET_CHARS = 32


class InsecureSecretError(ValueError):
    """Keys are required but the stream's HMAC secret is the public default, empty or short."""


class LiveSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DARKHORSES_STREAM_", env_file=".env", extra="ignore", frozen=True
    )

    secret: SecretStr = Field(
        default=SecretStr(DEV_SECRET),
        description="HMAC key for resume and access tokens; the same on every API process. The "
        f"API refuses to start with keys required and this unset, empty or under {MIN_SECRET_CHARS}"
        " characters (`darkhorses up` generates one per install).",
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
    history_wait_s: float = Field(
        default=10.0,
        gt=0,
        description="Longest a resume or replay waits for a free history reader: then a resume "
        "gets a snapshot and a replay an error frame (history_unavailable, retry_after_ms).",
    )
    history_stall_s: float = Field(
        default=30.0,
        gt=0,
        description="A client that reads nothing for this long while its resume or replay waits "
        "on it is closed as a slow consumer (4008), freeing the history reader.",
    )
    max_replays_per_key: int = Field(
        default=2,
        ge=1,
        description="Concurrent replay subscriptions per API key (per client address when the "
        "stream is open), over all of its connections to this process.",
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

    def check_secret(self, auth_required: bool) -> None:
        """Refuse a secret anyone could know when keys are required (raises InsecureSecretError):
        with it, anyone could sign an access token and stream everything."""
        if not auth_required:
            return
        secret = self.secret.get_secret_value()
        if secret == DEV_SECRET or len(secret.strip()) < MIN_SECRET_CHARS:
            if secret == DEV_SECRET:
                problem = "unset (the public development default)"
            elif not secret.strip():
                problem = "empty"
            else:
                problem = f"only {len(secret.strip())} characters"
            raise InsecureSecretError(
                f"DARKHORSES_API_AUTH_REQUIRED is on but DARKHORSES_STREAM_SECRET is {problem}: "
                f"anyone could forge access tokens. Set it to a random value of at least "
                f"{MIN_SECRET_CHARS} characters, the same on every API process (e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
            )
