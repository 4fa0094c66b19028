"""The Faust application, built from settings (no module-level app, no import-time I/O)."""

import faust
from prometheus_client import start_http_server

from streams import analytics, deadletters_sink, reference
from streams.settings import StreamsSettings
from streams.sink import SinkFactory, postgres_sinks


def create_app(settings: StreamsSettings, sinks: SinkFactory | None = None) -> faust.App:
    """The worker's app; `sinks` replaces PostgreSQL (agent tests record rows in memory)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    app = faust.App(
        settings.app_id,
        broker=settings.faust_broker,
        store=settings.store,
        datadir=str(settings.data_dir / settings.app_id),
        web_enabled=False,
        topic_allow_declare=True,
        topic_partitions=3,
        consumer_auto_offset_reset="earliest",
        producer_enable_idempotence=True,
        producer_acks=-1,
        broker_commit_interval=1.0,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
    )
    sinks = sinks or postgres_sinks(settings.database_url)
    feeds = analytics.create_feeds(app, settings)
    analytics.register(app, settings, feeds, sinks)
    reference.register(app, settings, feeds, sinks)
    deadletters_sink.register(app, sinks)
    if settings.metrics_port is not None:
        port = settings.metrics_port

        @app.task
        async def serve_metrics() -> None:
            start_http_server(port)

    return app
