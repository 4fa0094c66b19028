"""Latest prices: the newest price per (race, runner, bookmaker) and its story, as rows of
`odds_latest`.

Written by the `market-analytics` agent (streams/analytics.py) in the same transaction as the
price history and analytics, one row per quote a batch touched; the upsert's version guard keeps
the newest price whatever the order in which duplicates and replays arrive.
"""

from typing import Any

from schemas.odds import OddsSnapshot, RunnerPrice
from streams.market_board import MarketBoard
from streams.race_market import instant
from streams.sink import UpsertTable, decimal_text

ODDS_LATEST = UpsertTable(
    name="odds_latest",
    columns=(
        "race_id", "horse_id", "bookmaker_id", "bookmaker", "price_decimal", "price_fractional",
        "ew_places", "ew_denom", "source", "source_time", "ingest_time", "event_id", "opening",
        "high", "low", "changes", "last_change",
    ),
    key=("race_id", "horse_id", "bookmaker_id"),
    version=("source_time", "event_id"),
    decimals=("price_decimal", "opening", "high", "low"),
)  # fmt: skip

Newest = dict[tuple[str, str, str], tuple[OddsSnapshot, RunnerPrice]]


def keep_newest(newest: Newest, snapshot: OddsSnapshot) -> None:
    """Remember the snapshot's prices that are the newest seen for their quote in this batch."""
    version = (snapshot.source_time, snapshot.event_id)
    for price in snapshot.prices:
        key = (snapshot.race_id, price.horse_id, snapshot.bookmaker_id)
        held = newest.get(key)
        if held is None or (held[0].source_time, held[0].event_id) < version:
            newest[key] = (snapshot, price)


def latest_rows(newest: Newest, board: MarketBoard) -> list[tuple[Any, ...]]:
    """One row per quote: its newest price in the batch and its story on the board, which holds
    every event applied so far (a replayed, older price is refused by the version guard)."""
    rows = []
    for (race_id, horse, book), (snap, price) in newest.items():
        quote = board.races[race_id].quotes[book][horse]
        rows.append(
            (race_id, horse, book, snap.bookmaker,
             decimal_text(price.decimal), price.fractional,
             price.ew_places, price.ew_denom, snap.source.value, snap.source_time,
             snap.ingest_time, snap.event_id, quote.opening, quote.high, quote.low,
             quote.changes, instant(quote.last_change))
        )  # fmt: skip
    return rows
