"""The Faust application, built from settings (no module-level app, no import-time I/O)."""

import faust

from streams import deadletters_sink, odds
from streams.settings import StreamsSettings


def create_app(settings: StreamsSettings) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=settings.faust_broker,
        store=settings.store,
        web_enabled=False,
        topic_allow_declare=True,
        topic_partitions=3,
        consumer_auto_offset_reset="earliest",
        producer_enable_idempotence=True,
        producer_acks=-1,
        broker_commit_interval=1.0,
    )
    odds.register(app, settings)
    deadletters_sink.register(app, settings)
    return app
