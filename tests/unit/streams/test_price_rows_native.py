"""The native `PriceRows` (native/market) gives the rows of a Python model of them: a history row
per applied event (its prices as JSON), and per quote the row of its newest price in the batch,
split by whether the quote was new."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from market.clock import micros
from streams.odds import PriceRows
from streams.odds_decode import OddsIn, PriceIn
from streams.race_market import Applied, RaceMarket

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
KEEP_US = 3600 * 1_000_000


class Model:
    """The rows, in plain Python (as `streams/odds.py` built them before they went native)."""

    def __init__(self) -> None:
        self.history: list[tuple[Any, ...]] = []
        self.newest: dict[tuple[str, str, str], tuple[OddsIn, PriceIn, Any, int]] = {}

    def add(self, snapshot: OddsIn, applied: Applied) -> None:
        ingested, prices = micros(snapshot.ingest_time), []
        for price, quote in applied:
            prices.append((price.horse_id, price.decimal, price.fractional, price.ew_places,
                           price.ew_denom))  # fmt: skip
            key = (snapshot.race_id, price.horse_id, snapshot.bookmaker_id)
            self.newest[key] = (snapshot, price, quote, ingested)
        self.history.append(
            (snapshot.race_id, snapshot.bookmaker_id, snapshot.source_us, snapshot.event_id,
             snapshot.source, ingested, orjson.dumps(prices))
        )  # fmt: skip

    def latest(self, fresh: dict[int, bool]) -> tuple[list[Any], list[Any]]:
        new: list[Any] = []
        stored: list[Any] = []
        for (race, horse, book), (snap, price, quote, ingested) in self.newest.items():
            (new if fresh[id(quote)] else stored).append(
                (race, horse, book, snap.bookmaker, price.decimal, price.fractional,
                 price.ew_places, price.ew_denom, snap.source, snap.source_us, ingested,
                 snap.event_id, quote.opening, quote.high, quote.low, quote.changes,
                 quote.last_change, orjson.dumps(quote.history).decode())
            )  # fmt: skip
        return new, stored


def odds(race: str, book: str, second: int, prices: list[PriceIn], serial: int) -> OddsIn:
    at = T0 + timedelta(seconds=second)
    ingested = (at + timedelta(milliseconds=serial)).astimezone(timezone(timedelta(hours=1)))
    return OddsIn(
        event_id=f"e{serial:04d}", source="replay", source_time=at, ingest_time=ingested,
        race_id=race, bookmaker_id=book, bookmaker=book.title(), prices=tuple(prices),
        source_us=micros(at),
    )  # fmt: skip


prices = st.lists(
    st.builds(
        PriceIn,
        st.sampled_from(["h1", "h2", 'h"3\\', "hé\n4"]),  # JSON escapes and UTF-8 too
        st.none() | st.sampled_from(["1.5", "2", "2.0", "7.25", "11"]),
        st.none() | st.sampled_from(["1/2", "10/1"]),
        st.none() | st.integers(0, 4),
        st.none() | st.integers(1, 5),
    ),
    min_size=1,
    max_size=4,
)
batches = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(["r1", "r2"]),
            st.sampled_from(["b1", "b2"]),
            st.integers(0, 7200),
            prices,
        ),
        max_size=12,
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(batches)
def test_the_rows_of_each_batch(
    batches: list[list[tuple[str, str, int, list[PriceIn]]]],
) -> None:
    races: dict[str, RaceMarket] = {}
    serial = 0
    for batch in batches:
        native, model = PriceRows(), Model()
        for race_id, book, second, event_prices in batch:
            serial += 1
            snapshot = odds(race_id, book, second, event_prices, serial)
            race = races.setdefault(race_id, RaceMarket(race_id))
            applied = race.apply_odds(snapshot, KEEP_US, KEEP_US)
            if applied:
                native.add(snapshot, applied)
                model.add(snapshot, applied)
        fresh = {id(q): q.fresh for _, _, q, _ in model.newest.values()}
        assert native.latest() == model.latest(fresh)
        assert not any(q.fresh for _, _, q, _ in model.newest.values())
        assert [row[:6] for row in native.history] == [row[:6] for row in model.history]
        assert [orjson.loads(row[6]) for row in native.history] == [
            orjson.loads(row[6]) for row in model.history
        ]
