"""The native bookkeeping of an odds event (`apply_odds`, `apply_event`: native/market) against a
Python model of it, the race's and the board's code before it went native: the same state after
every event, the same counts, and the same rows as `PriceRows.add` gives."""

import bisect
from typing import Any

from darkhorses_market import apply_prices
from hypothesis import given, settings
from hypothesis import strategies as st

from market.analytics import AnalyticsParams
from streams.market_board import MarketBoard
from streams.odds import PriceRows
from streams.odds_decode import OddsIn, PriceIn
from streams.race_market import Applied, RaceMarket
from tests.unit.streams.test_price_rows_native import odds

PARAMS = AnalyticsParams(rate_window_min=1)  # a short rate window: events leave it
SOURCES = ("replay", "simulator", "racing_api")


class ModelRace:
    """`RaceMarket.apply_odds` in Python, around the same native quotes (`apply_prices`)."""

    def __init__(self, race_id: str) -> None:
        self.race = RaceMarket(race_id)

    def apply_odds(self, snapshot: OddsIn) -> Applied:
        race = self.race
        at = snapshot.source_us
        book = race.quotes.setdefault(snapshot.bookmaker_id, {})
        applied = apply_prices(book, snapshot.prices, at, snapshot.event_id, PARAMS.keep_us)
        if applied:
            race.book_names[snapshot.bookmaker_id] = snapshot.bookmaker
            race.book_updates[snapshot.bookmaker_id] = max(
                race.book_updates.get(snapshot.bookmaker_id, 0), at
            )
            race.book_applied[snapshot.bookmaker_id] = race.book_applied.get(
                snapshot.bookmaker_id, 0
            ) + len(applied)
            race.latest = max(race.latest, at)
            race.source = snapshot.source
            bisect.insort(race.updates, at)
            stale = bisect.bisect_left(race.updates, race.latest - PARAMS.rate_window_us)
            if stale:
                del race.updates[:stale]
            race.revision += 1
        return applied


def race_state(race: RaceMarket) -> dict[str, Any]:
    return {
        "book_names": race.book_names,
        "book_updates": race.book_updates,
        "book_applied": race.book_applied,
        "updates": race.updates,
        "revision": race.revision,
        "latest": race.latest,
        "source": race.source,
        "quotes": {b: {h: q.version for h, q in book.items()} for b, book in race.quotes.items()},
    }


prices = st.lists(
    st.builds(PriceIn, st.sampled_from(["h1", "h2", "h3"]), st.sampled_from(["2.5", "3", None])),
    min_size=1,
    max_size=3,
    unique_by=lambda p: p.horse_id,
)
events = st.lists(
    st.tuples(
        st.sampled_from(["rac_1", "rac_2"]),
        st.sampled_from(["bet365", "coral", "sky"]),
        st.integers(0, 240),  # seconds: the one-minute rate window drops events
        prices,
        st.sampled_from(SOURCES),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(events)
def test_the_race_bookkeeping_is_the_models(
    events: list[tuple[str, str, int, list[PriceIn], str]],
) -> None:
    native, model = RaceMarket("rac_1"), ModelRace("rac_1")
    for serial, (_, book, second, event_prices, source) in enumerate(events):
        snapshot = odds("rac_1", book, second, event_prices, serial % 7)  # event ids repeat
        snapshot = OddsIn(**{**_fields(snapshot), "source": source})
        got = native.apply_odds(snapshot, PARAMS.keep_us, PARAMS.rate_window_us)
        expected = model.apply_odds(snapshot)
        assert [p for p, _ in got] == [p for p, _ in expected]
        assert race_state(native) == race_state(model.race)


@settings(max_examples=200, deadline=None)
@given(events)
def test_the_board_bookkeeping_and_rows_are_the_models(
    events: list[tuple[str, str, int, list[PriceIn], str]],
) -> None:
    board = MarketBoard(PARAMS)
    model: dict[str, ModelRace] = {}
    changed: set[str] = set()
    dirty: dict[str, None] = {}
    books: set[str] = set()
    names: dict[str, str] = {}
    now = 0
    native_rows, model_rows = PriceRows(), PriceRows()
    for serial, (race_id, book, second, event_prices, _) in enumerate(events):
        snapshot = odds(race_id, book, second, event_prices, serial)
        count = board.apply_odds(snapshot, native_rows)
        race = model.setdefault(race_id, ModelRace(race_id))
        applied = race.apply_odds(snapshot)
        if applied:
            changed.add(race_id)
            dirty[race_id] = None
            books.add(book)
            names.setdefault(book, snapshot.bookmaker)
            now = max(now, race.race.latest)
            model_rows.add(snapshot, applied)
        assert count == len(applied)
        assert race_state(board.races[race_id]) == race_state(race.race)
        assert (board.changed, list(board.dirty_races), board.dirty_books) == (
            changed,
            list(dirty),
            books,
        )
        assert (board.bookmaker_names, board.now) == (names, now)
    assert native_rows.history == model_rows.history
    assert native_rows.latest() == model_rows.latest()


def _fields(snapshot: OddsIn) -> dict[str, Any]:
    return {f: getattr(snapshot, f) for f in snapshot.__struct_fields__}
