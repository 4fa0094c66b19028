"""Malformed payloads never crash a producer: the bad part is counted and skipped, the rest is
published.

Hypothesis mutates the recorded pro card (missing fields, wrong types, junk odds strings) and
feeds producers HTML error pages, truncated JSON and arbitrary JSON.
"""

import asyncio
import contextlib
import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darkhorses.settings import RacingApiSettings
from producers.racing_api.cards import parse_racecards
from producers.racing_api.client import RacingApiClient
from producers.racing_api.live import LiveProducer
from producers.racing_api.report import ParseReport
from producers.racing_api.results import parse_results
from producers.racing_api.settings import RacingApiProducerSettings
from schemas.bookmakers import resolve
from schemas.topics import FETCH_STATS, ODDS_LIVE
from tests.racing_api_stub import StubState, sample
from tests.unit.racing_api.conftest import MemorySink

PRO = sample("racecards_pro_2025-10-14.json")
RESULTS = sample("results_2025-10-07.json")
FETCHED = datetime(2025, 10, 14, 12, 44, tzinfo=UTC)
ODDS_FIELDS = ("bookmaker", "fractional", "decimal", "ew_places", "ew_denom", "updated", "history")
RUNNER_FIELDS = ("horse_id", "horse", "number", "draw", "age", "lbs", "odds", "ofr", "jockey_id",
                 "trainer_14_days", "prev_owners", "quotes")  # fmt: skip
RACE_FIELDS = ("race_id", "course_id", "off_dt", "date", "off_time", "runners", "field_size",
               "distance_f", "is_abandoned", "region")  # fmt: skip

junk_text = st.sampled_from(
    ["", "-", "SP", "sp", "evs", "junk", "1/0", "0/5", "-3", "NaN", "1e999", "13/8F", "<b>", " "]
) | st.text(max_size=8)
junk = (
    st.none()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.booleans()
    | junk_text
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


def mutation(fields: tuple[str, ...]) -> st.SearchStrategy[tuple[str, str, Any]]:
    """(field, "delete" | "set", value)."""
    return st.tuples(st.sampled_from(fields), st.sampled_from(["delete", "set"]), junk)


def apply(target: dict[str, Any], change: tuple[str, str, Any]) -> None:
    name, action, value = change
    if action == "delete":
        target.pop(name, None)
    else:
        target[name] = value


def oracle(page: dict[str, Any]) -> dict[tuple[str, str, str], Decimal]:
    return {
        (race["race_id"], runner["horse_id"], resolve(odds["bookmaker"]).id):
            Decimal(odds["decimal"])
        for race in page["racecards"] for runner in race["runners"] for odds in runner["odds"]
    }  # fmt: skip


def parsed_prices(page: object, report: ParseReport) -> dict[tuple[str, str, str], Decimal | None]:
    races = parse_racecards(page, FETCHED, report)
    return {q.key: q.decimal for race in races for q in race.quotes}


@settings(max_examples=150, deadline=None)
@given(
    targets=st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 27), mutation(ODDS_FIELDS)),
        min_size=1, max_size=12,
    )
)  # fmt: skip
def test_bad_prices_are_skipped_and_counted_and_every_other_price_goes_out(
    targets: list[tuple[int, int, tuple[str, str, Any]]],
) -> None:
    page = copy.deepcopy(PRO)
    runners = page["racecards"][1]["runners"]
    touched = set()
    for runner, book, change in targets:
        odds = runners[runner]["odds"][book]
        touched.add(
            (
                runners[runner]["horse_id"],
                resolve(PRO["racecards"][1]["runners"][runner]["odds"][book]["bookmaker"]).id,
            )
        )
        apply(odds, change)
        name, action, value = change
        if name == "bookmaker" and action == "set" and isinstance(value, str):
            # Renamed to another book of the runner: that book's expected price is moot too.
            with contextlib.suppress(ValueError):  # a name that is no bookmaker at all
                touched.add((runners[runner]["horse_id"], resolve(value).id))
    report = ParseReport()
    got = parsed_prices(page, report)
    expected = oracle(PRO)
    for (race_id, horse_id, book_id), price in expected.items():
        if (horse_id, book_id) not in touched:
            assert got[(race_id, horse_id, book_id)] == price
    # Every entry is accounted for: a price, an unpriced entry, or a counted rejection.
    assert report.prices + report.unpriced + report.rejected["price"] == 280
    assert report.races == 2


@settings(max_examples=100, deadline=None)
@given(runner=st.integers(0, 9), changes=st.lists(mutation(RUNNER_FIELDS), min_size=1, max_size=4))
def test_bad_runners_are_skipped_and_the_rest_of_the_card_goes_out(
    runner: int, changes: list[tuple[str, str, Any]]
) -> None:
    page = copy.deepcopy(PRO)
    card = page["racecards"][1]
    horse_id = card["runners"][runner]["horse_id"]
    for change in changes:
        apply(card["runners"][runner], change)
    report = ParseReport()
    got = parsed_prices(page, report)
    for key, price in oracle(PRO).items():
        if key[1] != horse_id:
            assert got[key] == price
    assert report.races == 2
    assert report.runners + report.rejected["runner"] == 18


@settings(max_examples=100, deadline=None)
@given(race=st.integers(0, 1), changes=st.lists(mutation(RACE_FIELDS), min_size=1, max_size=4))
def test_bad_race_headers_never_crash(race: int, changes: list[tuple[str, str, Any]]) -> None:
    page = copy.deepcopy(PRO)
    for change in changes:
        apply(page["racecards"][race], change)
    report = ParseReport()
    races = parse_racecards(page, FETCHED, report)
    other = 1 - race
    assert any(r.race_id == PRO["racecards"][other]["race_id"] and r.card for r in races)
    assert report.races + report.rejected["race"] == 2


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(payload=json_values)
def test_arbitrary_json_never_crashes_the_parsers(payload: Any) -> None:
    report = ParseReport()
    parse_racecards(payload, FETCHED, report)
    parse_racecards({"racecards": [payload]}, FETCHED, report)
    parse_results([payload], FETCHED, report)
    parse_results([{**RESULTS["results"][0], "runners": [payload]}], FETCHED, report)


CARD_JSON = json.dumps(PRO["racecards"][0]).encode()  # truncated anywhere below
bodies = st.sampled_from(
    [b"<!DOCTYPE html><html><body>Error 1015: You are being rate limited</body></html>",
     b"", b"null", b"[]", b'{"racecards": "nope"}', b'{"racecards": [1, "x", null]}']
) | st.integers(1, len(CARD_JSON) - 1).map(lambda cut: CARD_JSON[:cut])  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, status=st.sampled_from([200, 500, 502]))
def test_a_live_cycle_survives_any_bad_response(body: bytes, status: int) -> None:
    sink = MemorySink()
    stats, changed = asyncio.run(_cycle_with_one_bad_race(body, status, sink))
    assert sink.on(FETCH_STATS)[-1] == stats
    assert stats.errors == 1  # the bad race, counted once
    # The other race's change still went out, and nothing else.
    published = [(s.race_id, p.horse_id, p.decimal) for s in sink.on(ODDS_LIVE) for p in s.prices]
    assert published == [changed]


async def _cycle_with_one_bad_race(
    body: bytes, status: int, sink: MemorySink
) -> tuple[Any, tuple[str, str, Decimal]]:
    stub = StubState.today()
    settings_ = RacingApiProducerSettings(
        max_retries=1, backoff_s=0, list_rate_per_s=1000, race_rate_per_s=1000
    )
    api = RacingApiSettings(RACING_API_BASE_URL="https://racing.test/v1")

    async def no_sleep(_: float) -> None:
        return None

    transport = httpx.MockTransport(stub.handle)
    async with RacingApiClient(api, settings_, transport=transport, sleep=no_sleep) as client:
        live = LiveProducer(client, sink, settings_)
        await live.cycle()
        sink.events.clear()
        good, bad = "rac_11743160", "rac_11775764"
        stub.broken[f"/v1/racecards/{bad}/pro"] = (status, body)
        stub.set_price(good, 2, 5, "21", "20/1")
        for race in live.races.values():
            race.next_poll = FETCHED
        stats = await live.cycle()
        return stats, (good, stub.cards[good]["runners"][2]["horse_id"], Decimal(21))
