"""The Faust application, built from settings (no module-level app, no import-time I/O)."""

import logging

import faust
from prometheus_client import start_http_server

from streams import (
    analytics,
    bookmakers,
    deadletters_sink,
    race_pipeline,
    reference,
    reference_sinks,
)
from streams.analytics import Send
from streams.settings import StreamsSettings
from streams.sink import SinkFactory, postgres_sinks

log = logging.getLogger(__name__)


def create_app(
    settings: StreamsSettings, sinks: SinkFactory | None = None, send: Send | None = None
) -> faust.App:
    """The worker's app; `sinks` replaces PostgreSQL and `send` the Kafka producer (agent tests
    record rows and records in memory)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    app = faust.App(
        settings.app_id,
        broker=settings.faust_broker,
        store=settings.store,
        datadir=str(settings.data_dir / settings.app_id),
        web_enabled=False,
        topic_allow_declare=True,
        topic_partitions=1,  # its own tables' changelogs: the bookmaker parts' one partition
        consumer_auto_offset_reset="earliest",
        producer_enable_idempotence=True,
        producer_acks=-1,
        # A read-out is thousands of analytics records: big producer batches keep that to a few
        # requests per partition instead of one per 16 KB (the default) and a round trip each.
        producer_max_batch_size=512 * 1024,
        producer_linger=0.005,
        # The analytics repeat each race's whole market: zstd stores and serves them in a
        # twentieth of the bytes (bench card: 50 MB -> 2.3 MB), for less CPU than sending them raw.
        producer_compression_type="zstd",
        broker_commit_interval=1.0,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        consumer_group_instance_id=settings.instance_id,
        # The bookmaker table lives on the worker that owns its one partition; a standby copy
        # elsewhere would only cost a second read of its changelog.
        table_standby_replicas=0,
    )
    sinks = sinks or postgres_sinks(settings.database_url)
    feeds = analytics.create_feeds(settings, send or analytics.producer_send(app))
    race_pipeline.register(app, settings, feeds, sinks)
    bookmakers.register(app, settings, sinks)
    reference.register(app, settings, sinks)
    reference_sinks.register(app, settings, sinks)
    deadletters_sink.register(app, sinks)
    if settings.metrics_port is not None:
        port = settings.metrics_port

        @app.task
        async def serve_metrics() -> None:
            try:
                start_http_server(port)
            except OSError as error:  # a port in use costs the metrics, not the worker
                log.warning("streams metrics not served on port %d: %s", port, error)

    return app
