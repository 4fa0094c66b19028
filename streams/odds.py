"""The price tables: every applied price in the history, and the newest price per (race,
runner, bookmaker) with its story in `odds_latest`.

Written by the race pipeline (streams/race_pipeline.py) in the same transaction as the analytics,
the race headers and the consumed offsets. The history is stored one row per applied event, its
applied prices in one JSON array (`odds_history_events`, read one row per price through the
`odds_history` view): a quarter of the rows and index entries (sql/0009). The board applies each
event at most once, so history rows are normally new and are COPYed straight into the table; the
sink falls back to an insert-if-new when one is not.

`PriceRows` builds a batch's rows of both tables natively (native/market, Rust): in Python they
cost ~5 µs a price, a third of the worker's time per price.
"""

from dataclasses import replace

from darkhorses_market import PriceRows as PriceRows  # re-exported: one batch's price rows

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
