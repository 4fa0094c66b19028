"""Settings for the Faust worker (`darkhorses streams`)."""

import socket
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from darkhorses.settings import ConnectionSettings
from market.analytics import AnalyticsParams
from market.maths import MoveThresholds


class StreamsSettings(ConnectionSettings):
    model_config = SettingsConfigDict(
        env_prefix="DARKHORSES_STREAMS_", env_file=".env", extra="ignore", frozen=True
    )

    app_id: str = Field(default="darkhorses-streams", description="Faust app id / consumer group.")
    store: str = Field(
        default="memory://",
        description="Faust's table store: of the bookmaker-parts table alone (changelog-backed, "
        "streams/bookmakers.py); the race pipeline's state is in PostgreSQL, written with its "
        "rows (streams/market_store.py).",
    )
    data_dir: Path = Field(
        default=Path(".cache/faust"), description="Faust's working files, one folder per app id."
    )
    batch_size: int = Field(default=2000, ge=1, description="Rows per PostgreSQL write.")
    flush_interval_s: float = Field(default=0.2, gt=0, description="Longest a row waits.")
    analytics_interval_s: float = Field(
        default=1.0, ge=0, description="Least time between two analytics read-outs of a race."
    )
    analytics_share: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Most of the worker's time analytics read-outs may take under load: when "
        "events flood in, races wait longer than the interval for fresh analytics rather than "
        "the stream falling behind.",
    )
    batch_events: int = Field(
        default=10_000,
        ge=1,
        description="Most events per batch (race pipeline and agents). Only a backlog fills "
        "one: live, a batch is what arrived within the flush interval. Fewer, bigger "
        "transactions catch up faster (bench: 5000 against 2000, +35-50% prices/s), and a "
        "quote changed twice in one is written once (10,000 against 5000: PostgreSQL CPU "
        "11 -> 9.2 µs a price over the bench card).",
    )
    session_timeout_s: float = Field(
        default=60.0,
        ge=6,
        description="Kafka group session timeout: how soon a dead worker's "
        "partitions move to another.",
    )
    instance_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Kafka static group membership (group.instance.id): a worker restarted with "
        "the same id takes its partitions back at once instead of after the session timeout. "
        "Unique per worker: a second worker with the same id fences the first. `{hostname}` "
        "is replaced by the host name.",
    )
    metrics_port: int | None = Field(default=None, description="Serve Prometheus metrics here.")
    move_windows_min: tuple[int, ...] = Field(
        default=(5, 15, 60), description="Rolling windows (event time) of price moves."
    )
    steamer_window_min: int = Field(default=60, ge=1, description="Window of steamers/drifters.")
    steamer_points: float = Field(
        default=0.05, gt=0, lt=1, description="Implied-probability change of a steamer/drifter."
    )
    steamer_min_books: int = Field(default=3, ge=1, description="Books that must agree.")
    rate_window_min: int = Field(default=5, ge=1, description="Window of update rates.")
    retire_after_h: float = Field(
        default=24.0,
        gt=0,
        description="Event time a race stays in the worker's memory after its last price, card "
        "or status: then it lives in PostgreSQL only, revived by any later event. Bookmaker "
        "coverage counts the races held.",
    )

    @field_validator("instance_id")
    @classmethod
    def _hostname(cls, value: str | None) -> str | None:
        """`{hostname}` in the id is this machine's (or container's) host name."""
        return None if value is None else value.replace("{hostname}", socket.gethostname())

    @property
    def heartbeat_interval_s(self) -> float:
        """Kafka group heartbeats: a third of the session timeout, at most every 3 s."""
        return min(3.0, self.session_timeout_s / 3)

    @property
    def analytics_params(self) -> AnalyticsParams:
        return AnalyticsParams(
            windows_min=self.move_windows_min,
            move_window_min=self.steamer_window_min,
            thresholds=MoveThresholds(self.steamer_points, self.steamer_min_books),
            rate_window_min=self.rate_window_min,
        )

    @property
    def faust_broker(self) -> str:
        return ";".join(
            f"kafka://{server.strip()}" for server in self.kafka_bootstrap_servers.split(",")
        )
