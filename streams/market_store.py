"""The race pipeline's state in PostgreSQL: consumed offsets and race headers, written with every
batch, and the market board restored from them (with the quotes in `odds_latest`) after a
restart or a rebalance.

One transaction holds a batch's rows, the headers of the races it changed and the offsets that
follow its events, so the restored board is exactly the state after those offsets: the worker
resumes there, and no event is applied twice or skipped (sql/0007_odds_pipeline_state.sql).
"""

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from streams.market_board import MarketBoard
from streams.race_market import Quote, RaceMarket
from streams.sink import UpsertTable

MARKET_RACES = UpsertTable(
    name="market_races",
    columns=("race_id", "revision", "header"),
    key=("race_id",),
    version=("revision",),
)
STREAM_OFFSETS = UpsertTable(
    name="stream_offsets",
    columns=("consumer", "topic", "partition", "next_offset"),
    key=("consumer", "topic", "partition"),
    version=("next_offset",),
)

OFFSETS_SQL = "SELECT partition, next_offset FROM stream_offsets WHERE consumer = $1 AND topic = $2"
HEADERS_SQL = "SELECT race_id, header::text FROM market_races"
RACE_HEADERS_SQL = f"{HEADERS_SQL} WHERE race_id = ANY($1::text[])"
ANALYSED_SQL = "SELECT race_id, revision FROM race_analytics WHERE race_id = ANY($1::text[])"


# Times as integer microseconds (the board's clock); numerics without the trailing zeros of
# their numeric(12, 4) scale ("2.75", not "2.7500"), as published.
QUOTES_SQL = """
SELECT race_id, bookmaker_id, horse_id, trim_scale(price_decimal)::text, price_fractional,
       ew_places, ew_denom, trim_scale(opening)::text, trim_scale(high)::text,
       trim_scale(low)::text, changes, (extract(epoch FROM last_change) * 1000000)::bigint,
       (extract(epoch FROM source_time) * 1000000)::bigint, event_id, window_changes
FROM odds_latest WHERE race_id = ANY($1::text[])
"""


def header_rows(board: MarketBoard, race_ids: Iterable[str]) -> list[tuple[Any, ...]]:
    rows = []
    for race_id in race_ids:
        race = board.races[race_id]
        rows.append((race_id, race.revision, orjson.dumps(race.dump_header())))
    return rows


def offset_rows(consumer: str, topic: str, offsets: Mapping[int, int]) -> list[tuple[Any, ...]]:
    """`offsets`: partition -> the offset of the next event to consume."""
    return [(consumer, topic, partition, offset) for partition, offset in offsets.items()]


def parse_headers(rows: Iterable[tuple[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    """`market_races` rows (race id, header JSON) as (race id, header)."""
    return [(race_id, orjson.loads(header)) for race_id, header in rows]


def restore_races(
    headers: Iterable[tuple[str, dict[str, Any]]], quotes: Iterable[tuple[Any, ...]]
) -> list[RaceMarket]:
    """Races from their headers (`parse_headers`) and the `QUOTES_SQL` rows."""
    books: dict[str, dict[str, dict[str, Quote]]] = {}
    for row in quotes:
        race_id, book, horse, text, fractional, places, denom, opening, high, low = row[:10]
        changes, last_change, at, event_id, window = row[10:]
        books.setdefault(race_id, {}).setdefault(book, {})[horse] = Quote(
            text, fractional, places, denom, opening, high, low, changes, last_change,
            (at, event_id), orjson.loads(window),
        )  # fmt: skip
    return [
        RaceMarket.restore(race_id, header, books.get(race_id, {})) for race_id, header in headers
    ]
