"""The live producer's logic over a mock transport: changes only, cards, market states, stats."""

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from darkhorses.settings import RacingApiSettings
from producers.racing_api.client import RacingApiClient
from producers.racing_api.live import LiveProducer
from producers.racing_api.schedule import next_poll_at, poll_interval_s
from producers.racing_api.settings import RacingApiProducerSettings
from schemas.market import MarketStatus
from schemas.odds import OddsSnapshot
from schemas.topics import FETCH_STATS, MARKET_STATE, ODDS_LIVE, RACECARDS, RESULTS
from tests.racing_api_stub import StubState, sample
from tests.unit.racing_api.conftest import MemorySink, Sleeps

LEICESTER = "rac_11743160"
CHANTILLY = "rac_11775764"


@pytest.fixture
def stub() -> StubState:
    return StubState.today()


@pytest.fixture
async def live(
    stub: StubState,
    sink: MemorySink,
    make_settings: Callable[..., RacingApiProducerSettings],
    api_settings: RacingApiSettings,
    sleeps: Sleeps,
) -> AsyncIterator[LiveProducer]:
    settings = make_settings(list_rate_per_s=1000, race_rate_per_s=1000)
    transport = httpx.MockTransport(stub.handle)
    async with RacingApiClient(api_settings, settings, transport=transport, sleep=sleeps) as client:
        yield LiveProducer(client, sink, settings)


def make_due(live: LiveProducer, *race_ids: str) -> None:
    for race_id in race_ids:
        live.races[race_id].next_poll = datetime.now(UTC) - timedelta(seconds=1)


def prices(snapshots: list[OddsSnapshot]) -> list[tuple[str, str, str, Decimal | None]]:
    return [(s.race_id, p.horse_id, s.bookmaker_id, p.decimal) for s in snapshots for p in s.prices]


async def test_first_cycle_publishes_cards_states_a_full_image_and_stats(
    live: LiveProducer, sink: MemorySink
) -> None:
    stats = await live.cycle()
    assert len(prices(sink.on(ODDS_LIVE))) == 280
    assert {c.race_id for c in sink.on(RACECARDS)} == {LEICESTER, CHANTILLY}
    assert [s.status for s in sink.on(MARKET_STATE)] == [MarketStatus.OPEN, MarketStatus.OPEN]
    assert sink.on(FETCH_STATS) == [stats]
    assert (stats.races, stats.runners, stats.prices, stats.bookmakers) == (2, 18, 280, 28)
    assert stats.errors == 0


async def test_only_changed_prices_are_published(
    live: LiveProducer, sink: MemorySink, stub: StubState
) -> None:
    await live.cycle()
    sink.events.clear()
    stub.set_price(LEICESTER, 0, 0, "5.5", "9/2")
    make_due(live, LEICESTER)
    stats = await live.cycle()
    horse = stub.cards[LEICESTER]["runners"][0]["horse_id"]
    assert prices(sink.on(ODDS_LIVE)) == [(LEICESTER, horse, "bet365", Decimal("5.5"))]
    assert sink.on(RACECARDS) == []
    assert stats.races == 1
    assert stats.prices == 280  # the whole card was read again; only the change went out


async def test_a_runner_leaving_the_card_is_kept_as_a_non_runner(
    live: LiveProducer, sink: MemorySink, stub: StubState
) -> None:
    await live.cycle()
    sink.events.clear()
    gone = stub.cards[LEICESTER]["runners"].pop(3)
    make_due(live, LEICESTER)
    await live.cycle()
    (card,) = sink.on(RACECARDS)
    flagged = {r.horse_id: r.non_runner for r in card.runners}
    assert flagged[gone["horse_id"]] is True
    assert sum(flagged.values()) == 1
    assert len(card.runners) == 10


async def test_abandonment_off_and_result_are_market_states(
    live: LiveProducer, sink: MemorySink, stub: StubState
) -> None:
    await live.cycle()
    sink.events.clear()
    stub.cards[CHANTILLY]["is_abandoned"] = True
    make_due(live, CHANTILLY)
    await live.cycle()
    assert [(s.race_id, s.status) for s in sink.on(MARKET_STATE)] == [
        (CHANTILLY, MarketStatus.ABANDONED)
    ]
    assert CHANTILLY not in live.races

    sink.events.clear()
    result = sample("results_2025-10-07.json")["results"][0] | {"race_id": LEICESTER}
    stub.results[LEICESTER] = result
    live.races[LEICESTER].off_dt = datetime.now(UTC) - timedelta(minutes=3)
    make_due(live, LEICESTER)
    await live.cycle()
    assert [s.status for s in sink.on(MARKET_STATE)] == [MarketStatus.OFF, MarketStatus.RESULT]
    assert [r.race_id for r in sink.on(RESULTS)] == [LEICESTER]
    assert LEICESTER not in live.races


async def test_a_failing_race_is_counted_and_the_others_still_go_out(
    live: LiveProducer, sink: MemorySink, stub: StubState
) -> None:
    await live.cycle()
    sink.events.clear()
    stub.broken[f"/v1/racecards/{LEICESTER}/pro"] = (200, b"<html>Cloudflare</html>")
    stub.cards[CHANTILLY]["runners"][0]["horse"] = "Renamed"
    make_due(live, LEICESTER, CHANTILLY)
    stats = await live.cycle()
    assert stats.errors == 1
    assert [c.race_id for c in sink.on(RACECARDS)] == [CHANTILLY]


@pytest.mark.parametrize(
    ("minutes", "expected"), [(3, 10.0), (5, 10.0), (20, 60.0), (100, 300.0), (500, 900.0)]
)
def test_poll_interval_by_minutes_to_the_off(minutes: int, expected: float) -> None:
    now = datetime(2025, 10, 14, 12, tzinfo=UTC)
    settings = RacingApiProducerSettings()
    assert poll_interval_s(now + timedelta(minutes=minutes), now, settings) == expected


def test_next_poll_never_skips_into_a_faster_band() -> None:
    now = datetime(2025, 10, 14, 12, tzinfo=UTC)
    off = now + timedelta(minutes=125)  # 15 min cadence, but the 5 min band starts in 5 min
    assert next_poll_at(off, now, RacingApiProducerSettings()) == off - timedelta(hours=2)


async def test_a_suspended_market_keeps_being_polled_and_reopens(
    live: LiveProducer, sink: MemorySink, stub: StubState
) -> None:
    await live.cycle()
    sink.events.clear()
    stub.cards[LEICESTER]["race_status"] = "Suspended"
    make_due(live, LEICESTER)
    await live.cycle()
    stub.cards[LEICESTER]["race_status"] = None
    stub.set_price(LEICESTER, 1, 1, "9", "8/1")
    make_due(live, LEICESTER)
    await live.cycle()
    assert [s.status for s in sink.on(MARKET_STATE)] == [MarketStatus.SUSPENDED, MarketStatus.OPEN]
    assert len(prices(sink.on(ODDS_LIVE))) == 1
