"""The PostgreSQL tables the analytics agent writes, and the rows of one batch for each."""

from datetime import datetime
from typing import Any

from streams.market_board import Readout
from streams.sink import UpsertTable

RACE_ANALYTICS = UpsertTable(
    name="race_analytics",
    columns=(
        "race_id", "revision", "as_of", "status", "off_dt", "books_priced", "runners_priced",
        "best_book_percent", "update_rate_per_min", "stalest_bookmaker_id", "stalest_age_s",
    ),
    key=("race_id",),
    version=("revision",),
)  # fmt: skip
RACE_BOOK_ANALYTICS = UpsertTable(
    name="race_book_analytics",
    columns=(
        "race_id", "bookmaker_id", "revision", "book_percent", "runners_priced", "complete",
        "last_update",
    ),
    key=("race_id", "bookmaker_id"),
    version=("revision",),
)  # fmt: skip
RUNNER_ANALYTICS = UpsertTable(
    name="runner_analytics",
    columns=(
        "race_id", "horse_id", "revision", "as_of", "non_runner", "books_priced", "best_price",
        "best_books", "consensus_price", "implied_probability", "fair_proportional",
        "fair_power", "fair_shin", "opening_consensus_price", "move_since_open", "move_5m",
        "move_15m", "move_60m", "steamer", "drifter",
    ),
    key=("race_id", "horse_id"),
    version=("revision",),
    decimals=("best_price", "consensus_price", "opening_consensus_price"),
)  # fmt: skip
BOOKMAKER_ANALYTICS = UpsertTable(
    name="bookmaker_analytics",
    columns=(
        "bookmaker_id", "bookmaker", "as_of", "prices", "races", "runners",
        "update_rate_per_min", "median_staleness_s", "last_update", "revision",
    ),
    key=("bookmaker_id",),
    # `revision` is the offset of the part that changed it: a retirement can leave `as_of` and
    # shrink `prices`, and the newer figure must still win.
    version=("as_of", "revision"),
)  # fmt: skip


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def readout_rows(readout: Readout) -> list[tuple[UpsertTable, list[tuple[Any, ...]]]]:
    """Rows for the race analytics tables from one batch's read-out (bookmaker analytics are
    added up across partitions by streams/bookmakers.py)."""
    races, books, runners = [], [], []
    for race in readout.races:
        race_id, revision, as_of = race["race_id"], race["revision"], _time(race["as_of"])
        races.append(
            (
                race_id, revision, as_of, race["status"], _time(race["off_dt"]),
                race["books_priced"], race["runners_priced"], race["best_book_percent"],
                race["update_rate_per_min"], race["stalest_bookmaker_id"], race["stalest_age_s"],
            )
        )  # fmt: skip
        for book in race["books"]:
            books.append(
                (
                    race_id, book["bookmaker_id"], revision, book["book_percent"],
                    book["runners_priced"], book["complete"], _time(book["last_update"]),
                )
            )  # fmt: skip
        for runner in race["runners"]:
            moves = {m["window_min"]: m["change"] for m in runner["moves"]}
            runners.append(
                (
                    race_id, runner["horse_id"], revision, as_of, runner["non_runner"],
                    runner["books_priced"], runner["best_price"], runner["best_books"],
                    runner["consensus_price"], runner["implied_probability"],
                    runner["fair_proportional"], runner["fair_power"], runner["fair_shin"],
                    runner["opening_consensus_price"], runner["move_since_open"],
                    moves.get(5), moves.get(15), moves.get(60), runner["steamer"],
                    runner["drifter"],
                )
            )  # fmt: skip
    return [
        (RACE_ANALYTICS, races),
        (RACE_BOOK_ANALYTICS, books),
        (RUNNER_ANALYTICS, runners),
    ]
