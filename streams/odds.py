"""The price tables: every applied price in the history, and the newest price per (race,
runner, bookmaker) with its story in `odds_latest`.

Written by the odds pipeline (streams/odds_pipeline.py) in the same transaction as the analytics,
the race headers and the consumed offsets. The history is stored one row per applied event, its
applied prices in one JSON array (`odds_history_events`, read one row per price through the
`odds_history` view): a quarter of the rows and index entries (sql/0009). The board applies each
event at most once, so history rows are normally new and are COPYed straight into the table; the
sink falls back to an insert-if-new when one is not.
"""

from dataclasses import replace
from typing import Any

import orjson

from streams.clock import micros
from streams.odds_decode import OddsIn, PriceIn
from streams.race_market import Applied, Quote
from streams.sink import UpsertTable

ODDS_HISTORY = UpsertTable(
    name="odds_history_events",
    columns=(
        "race_id", "bookmaker_id", "source_time", "event_id", "source", "ingest_time", "prices",
    ),
    key=("race_id", "bookmaker_id", "source_time", "event_id"),
    version=(),
    append=True,
)  # fmt: skip
ODDS_LATEST = UpsertTable(
    name="odds_latest",
    columns=(
        "race_id", "horse_id", "bookmaker_id", "bookmaker", "price_decimal", "price_fractional",
        "ew_places", "ew_denom", "source", "source_time", "ingest_time", "event_id", "opening",
        "high", "low", "changes", "last_change", "window_changes",
    ),
    key=("race_id", "horse_id", "bookmaker_id"),
    version=("source_time", "event_id"),
    decimals=("price_decimal", "opening", "high", "low"),
)  # fmt: skip
# The board knows which quotes are stored: those it restored and those of its earlier batches.
NEW_QUOTES = replace(ODDS_LATEST, append=True)
STORED_QUOTES = replace(ODDS_LATEST, update=True)


class PriceRows:
    """One batch's price rows: a history row per applied event, a latest row per quote."""

    def __init__(self) -> None:
        self.history: list[tuple[Any, ...]] = []
        self._newest: dict[tuple[str, str, str], tuple[OddsIn, PriceIn, Quote, int]] = {}

    def add(self, snapshot: OddsIn, applied: Applied) -> None:
        race, book, source = snapshot.race_id, snapshot.bookmaker_id, snapshot.source
        # Times as microseconds: cheap to encode (streams/pg_codecs.py).
        at, ingested, event_id = snapshot.source_us, micros(snapshot.ingest_time), snapshot.event_id
        newest = self._newest
        prices = []
        for price, quote in applied:
            horse = price.horse_id
            prices.append((horse, price.decimal, price.fractional, price.ew_places, price.ew_denom))
            newest[race, horse, book] = (snapshot, price, quote, ingested)  # newer than before
        # The layout sql/0009 documents and the `odds_history` view reads.
        self.history.append((race, book, at, event_id, source, ingested, orjson.dumps(prices)))

    def latest(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The quotes' rows as they stand now (after the whole batch): those of quotes new in
        this batch, and those of quotes already stored."""
        new: list[tuple[Any, ...]] = []
        stored: list[tuple[Any, ...]] = []
        for (race, horse, book), (snap, price, quote, ingested) in self._newest.items():
            (new if quote.fresh else stored).append(
                (race, horse, book, snap.bookmaker, price.decimal, price.fractional,
                 price.ew_places, price.ew_denom, snap.source, snap.source_us, ingested,
                 snap.event_id, quote.opening, quote.high, quote.low, quote.changes,
                 quote.last_change, orjson.dumps(quote.history).decode())
            )  # fmt: skip
            quote.fresh = False  # its row goes in this batch's transaction
        return new, stored
