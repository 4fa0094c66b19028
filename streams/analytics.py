"""Live market analytics: the `market-analytics` agent and the `race-markets` table.

Per batch of odds events (`take_events`): every valid snapshot is applied to its race's market
(idempotent per runner x bookmaker), then in ONE PostgreSQL transaction the batch writes latest
prices, price history and the analytics of every race and bookmaker it touched; then each touched
race is written once to the changelog table and its analytics published. Faust acks the batch's
events only after that, and flushes the producer (changelog, analytics) before committing
offsets; so after a crash the worst case is a replayed batch, and every write is idempotent.

Racecards and market states feed the same board (non-runners, the off, status) through
`MarketFeeds`, which the reference agents call.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import faust
import orjson
from aiokafka.partitioner import murmur2
from pydantic import ValidationError

from schemas.odds import OddsSnapshot
from schemas.topics import ANALYTICS_BOOKMAKERS, ANALYTICS_RACES, DEAD_LETTERS, ODDS_LIVE
from streams.analytics_rows import ODDS_HISTORY, history_rows, readout_rows
from streams.deadletter import dead_letter_for, send_dead_letter
from streams.market_board import MarketBoard, Readout
from streams.metrics import EVENTS_CONSUMED, STALE_EVENTS
from streams.odds import ODDS_LATEST, price_rows
from streams.race_market import RaceMarket
from streams.settings import StreamsSettings
from streams.sink import Rows, SinkFactory, UpsertTable

log = logging.getLogger(__name__)

CONSUMER = "market-analytics"


def race_partition(race_id: str) -> int:
    """The odds topic partition of a race under Kafka's default (murmur2) partitioner."""
    hashed: int = murmur2(race_id.encode())
    return (hashed & 0x7FFFFFFF) % ODDS_LIVE.partitions


@dataclass
class MarketFeeds:
    """The board, its changelog table and the analytics topics, shared by the agents."""

    board: MarketBoard
    table: Any
    race_topic: Any
    bookmaker_topic: Any

    def load_table(self) -> None:
        """Adopt every race the changelog recovered (Faust calls this after each recovery)."""
        for value in self.table.data.values():
            if value is not None:
                self.board.adopt(RaceMarket.load(value))
        log.info("market board recovered %d races", len(self.board.races))

    def load_race(self, race_id: str) -> RaceMarket | None:
        value = self.table.data.get(race_id.encode())
        return None if value is None else RaceMarket.load(value)

    def publish(self, readout: Readout, partitions: dict[str, int]) -> None:
        """Persist the touched races to the changelog and publish their analytics.

        Both are buffered (`send_soon`); Faust flushes the producer before it commits offsets,
        so they are on Kafka before the batch's events count as done."""
        for race in readout.races:
            race_id = race["race_id"]
            key = race_id.encode()
            value = self.board.races[race_id].dump()
            self.table.data[key] = value
            self.table.send_changelog(partitions.get(race_id, race_partition(race_id)), key, value)
            self.race_topic.send_soon(key=key, value=orjson.dumps(race), force=True)
        for bookmaker in readout.bookmakers:
            self.bookmaker_topic.send_soon(
                key=bookmaker["bookmaker_id"].encode(), value=orjson.dumps(bookmaker), force=True
            )


def create_feeds(app: faust.App, settings: StreamsSettings) -> MarketFeeds:
    table: Any = app.Table(
        "race-markets",
        default=None,
        partitions=ODDS_LIVE.partitions,
        key_type=bytes,
        value_type=bytes,
    )
    feeds = MarketFeeds(
        board=MarketBoard(settings.analytics_params),
        table=table,
        race_topic=app.topic(ANALYTICS_RACES.name, key_serializer="raw", value_serializer="raw"),
        bookmaker_topic=app.topic(
            ANALYTICS_BOOKMAKERS.name, key_serializer="raw", value_serializer="raw"
        ),
    )
    feeds.board.loader = feeds.load_race

    @table.on_recover
    async def adopt_recovered_races() -> None:
        feeds.load_table()

    return feeds


@dataclass
class BatchOutcome:
    writes: list[tuple[UpsertTable, Rows]]
    readout: Readout
    rejects: list[tuple[int, str]]  # (index in the batch, reason)


def apply_batch(board: MarketBoard, values: list[bytes]) -> BatchOutcome:
    """Apply a batch of raw odds payloads: the rows to write, the analytics and the rejects.
    Pure apart from the board, so tests drive it without Faust."""
    latest: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    rejects: list[tuple[int, str]] = []
    for index, value in enumerate(values):
        try:
            snapshot = OddsSnapshot.model_validate_json(value)
        except ValidationError as error:
            rejects.append((index, f"invalid OddsSnapshot: {error}"))
            continue
        if not board.apply_odds(snapshot):
            STALE_EVENTS.labels(ODDS_LIVE.name).inc()
        latest.extend(price_rows(snapshot))
        history.extend(history_rows(snapshot))
    readout = board.readout()
    writes: list[tuple[UpsertTable, Rows]] = [
        (ODDS_LATEST, latest),
        (ODDS_HISTORY, history),
        *readout_rows(readout),
    ]
    return BatchOutcome(writes, readout, rejects)


def register(
    app: faust.App, settings: StreamsSettings, feeds: MarketFeeds, sinks: SinkFactory
) -> Callable[..., Any]:
    odds_topic = app.topic(ODDS_LIVE.name, key_serializer="raw", value_serializer="raw")
    dead_letter_topic = app.topic(DEAD_LETTERS.name, key_serializer="raw", value_serializer="raw")

    @app.agent(odds_topic, name=CONSUMER)
    async def market_analytics(stream: Any) -> None:
        async with sinks() as sink:
            async for events in stream.take_events(
                settings.batch_events, settings.flush_interval_s
            ):
                EVENTS_CONSUMED.labels(ODDS_LIVE.name).inc(len(events))
                partitions = {}
                for event in events:
                    key = event.message.key
                    if isinstance(key, bytes):
                        partitions[key.decode("utf-8", "replace")] = event.message.partition
                outcome = apply_batch(feeds.board, [e.value for e in events])
                await sink.write(outcome.writes)
                feeds.publish(outcome.readout, partitions)
                for index, reason in outcome.rejects:
                    letter = dead_letter_for(events[index], reason, CONSUMER)
                    await send_dead_letter(dead_letter_topic, letter)

    return market_analytics
