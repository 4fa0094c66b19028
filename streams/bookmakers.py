"""Bookmaker analytics over every race, whichever worker holds it: a repartition by bookmaker.

Each worker reads out a bookmaker's coverage over the races of each partition it owns
(`BookmakerPart` on racing.analytics.bookmaker.part.v1, keyed `bookmaker|partition`). This
agent, on that topic's one partition (so on one worker at a time), keeps the latest part of every
partition in a Faust table keyed by bookmaker, changelog-backed (a restart, or another worker
taking over, recovers it), and stores and publishes their sum: the same figures whatever the
number of workers, since each part is computed in its own partition's event time.
"""

import asyncio
import logging
from datetime import datetime
from typing import Any

import faust
import orjson

from market import maths as mm
from schemas.analytics import BookmakerPart
from schemas.topics import ANALYTICS_BOOKMAKER_PARTS, ANALYTICS_BOOKMAKERS
from streams.analytics_rows import BOOKMAKER_ANALYTICS
from streams.settings import StreamsSettings
from streams.sink import BatchSink, SinkFactory
from streams.validation import InvalidEvent, validate

log = logging.getLogger(__name__)

CONSUMER = "bookmaker-analytics"


def add_up(parts: list[dict[str, Any]], rate_window_min: int, revision: int) -> dict[str, Any]:
    """One bookmaker's `BookmakerAnalytics` from its parts (one per partition, as published)."""
    newest = max(parts, key=lambda part: datetime.fromisoformat(part["as_of"]))
    ages = sorted(age for part in parts for age in part["ages_s"])
    updated = [part for part in parts if part["last_update"] is not None]
    last = (
        max(updated, key=lambda part: datetime.fromisoformat(part["last_update"]))
        if updated
        else None
    )
    as_of = newest["as_of"]
    return {
        "event_id": f"{newest['bookmaker_id']}:{revision}",
        "source": last["source"] if last else newest["source"],
        "source_time": as_of,
        "ingest_time": as_of,
        "bookmaker_id": newest["bookmaker_id"],
        "bookmaker": newest["bookmaker"],
        "revision": revision,
        "as_of": as_of,
        "races": sum(part["races"] for part in parts),
        "runners": sum(part["runners"] for part in parts),
        "prices": sum(part["prices"] for part in parts),
        "update_rate_per_min": sum(part["updates_in_window"] for part in parts) / rate_window_min,
        "median_staleness_s": mm.median(ages) if ages else None,
        "last_update": last["last_update"] if last else None,
    }


def analytics_row(analytics: dict[str, Any]) -> tuple[Any, ...]:
    def time(text: str | None) -> datetime | None:
        return None if text is None else datetime.fromisoformat(text)

    a = analytics
    return (
        a["bookmaker_id"], a["bookmaker"], time(a["as_of"]), a["prices"], a["races"],
        a["runners"], a["update_rate_per_min"], a["median_staleness_s"], time(a["last_update"]),
        a["revision"],
    )  # fmt: skip


def register(app: faust.App, settings: StreamsSettings, sinks: SinkFactory) -> None:
    source = app.topic(ANALYTICS_BOOKMAKER_PARTS.name, key_serializer="raw", value_serializer="raw")
    published = app.topic(ANALYTICS_BOOKMAKERS.name, key_serializer="raw", value_serializer="raw")
    # bookmaker -> partition (as text) -> its latest part. Faust writes a key's changelog from
    # within the stream's iteration only, so parts are taken one event at a time (a few hundred
    # a second at most) and their sums stored per flush interval.
    parts = app.Table("bookmaker-parts", default=dict, partitions=1)
    changed: dict[str, int] = {}  # bookmaker -> offset of its newest part, not stored yet

    @app.agent(source, name=CONSUMER)
    async def take_parts(stream: Any) -> None:
        async for event in stream.events():
            try:
                part = validate(BookmakerPart, event.value)
            except InvalidEvent:  # our own records: a bug, never a reason to stop
                log.exception("bookmaker part skipped")
                continue
            held = dict(parts[part.bookmaker_id])
            previous = held.get(str(part.partition))
            if previous is not None and datetime.fromisoformat(
                previous["as_of"]
            ) > datetime.fromisoformat(part.as_of.isoformat()):
                continue  # a late part of a partition's former owner
            held[str(part.partition)] = orjson.loads(event.value)
            parts[part.bookmaker_id] = held
            changed[part.bookmaker_id] = event.message.offset

    @parts.on_recover
    async def stored_again() -> None:
        """A restart recovers the table, not whether its sums were stored: store them all."""
        for bookmaker in list(parts.keys()):
            changed.setdefault(bookmaker, 0)

    @app.task
    async def store_totals() -> None:
        """Every flush interval, the sums of the bookmakers changed since the last one."""
        async with sinks() as sink:
            while True:
                await asyncio.sleep(settings.flush_interval_s)
                if changed:
                    await store(sink, dict(changed))

    async def store(sink: BatchSink, todo: dict[str, int]) -> None:
        totals = [
            add_up(list(parts[b].values()), settings.rate_window_min, offset)
            for b, offset in sorted(todo.items())
            if parts[b]
        ]
        await sink.write([(BOOKMAKER_ANALYTICS, [analytics_row(t) for t in totals])])
        for total in totals:
            await published.send(key=total["bookmaker_id"].encode(), value=orjson.dumps(total))
        for bookmaker, offset in todo.items():
            if changed.get(bookmaker) == offset:
                del changed[bookmaker]
