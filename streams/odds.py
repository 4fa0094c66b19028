"""Latest prices: the newest price per (race, runner, bookmaker), as rows of `odds_latest`.

Written by the `market-analytics` agent (streams/analytics.py) in the same transaction as the
price history and analytics; the upsert's version guard keeps the newest price whatever the
order in which duplicates and replays arrive.
"""

from typing import Any

from schemas.odds import OddsSnapshot
from streams.sink import UpsertTable

ODDS_LATEST = UpsertTable(
    name="odds_latest",
    columns=(
        "race_id", "horse_id", "bookmaker_id", "bookmaker", "price_decimal", "price_fractional",
        "ew_places", "ew_denom", "source", "source_time", "ingest_time", "event_id",
    ),
    key=("race_id", "horse_id", "bookmaker_id"),
    version=("source_time", "event_id"),
)  # fmt: skip


def price_rows(snapshot: OddsSnapshot) -> list[tuple[Any, ...]]:
    race, book, name, source = (
        snapshot.race_id, snapshot.bookmaker_id, snapshot.bookmaker, snapshot.source.value
    )  # fmt: skip
    at, ingested, event_id = snapshot.source_time, snapshot.ingest_time, snapshot.event_id
    return [
        (race, p.horse_id, book, name, p.decimal, p.fractional, p.ew_places, p.ew_denom, source,
         at, ingested, event_id)
        for p in snapshot.prices
    ]  # fmt: skip
