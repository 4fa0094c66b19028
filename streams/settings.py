"""Settings for the Faust worker (`darkhorses streams`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from darkhorses.settings import ConnectionSettings


class StreamsSettings(ConnectionSettings):
    model_config = SettingsConfigDict(
        env_prefix="DARKHORSES_STREAMS_", env_file=".env", extra="ignore", frozen=True
    )

    app_id: str = Field(default="darkhorses-streams", description="Faust app id / consumer group.")
    store: str = Field(default="memory://", description="Table store, e.g. rocksdb:// in prod.")
    batch_size: int = Field(default=2000, ge=1, description="Rows per PostgreSQL write.")
    flush_interval_s: float = Field(default=0.2, gt=0, description="Longest a row waits.")
    metrics_port: int | None = Field(default=None, description="Serve Prometheus metrics here.")

    @property
    def faust_broker(self) -> str:
        return ";".join(
            f"kafka://{server.strip()}" for server in self.kafka_bootstrap_servers.split(",")
        )
