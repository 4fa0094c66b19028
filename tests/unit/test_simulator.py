from datetime import UTC, datetime, timedelta
from decimal import Decimal

from producers.ladder import LADDER, nearest_price
from producers.simulator import MarketSimulator
from schemas import encode
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def run(seed: int, ticks: int = 30) -> list[bytes]:
    simulator = MarketSimulator(seed=seed, start=START, races=4, bookmakers=8)
    events = [*simulator.racecards(), *simulator.open_markets()]
    for _ in range(ticks):
        events.extend(simulator.advance(timedelta(seconds=30)))
    # event ids and ingest times are per run; everything else must be identical
    return [encode(e.model_copy(update={"event_id": "x", "ingest_time": START})) for e in events]


def test_same_seed_same_market() -> None:
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_books_are_overround_and_every_runner_priced() -> None:
    simulator = MarketSimulator(seed=1, start=START, races=3, bookmakers=10)
    images = list(simulator.open_markets())
    assert len(images) == 3 * 10
    for image in images:
        race = next(r for r in simulator.races if r.race_id == image.race_id)
        assert len(image.prices) == len(race.runners)
        book = sum(1 / p.decimal for p in image.prices if p.decimal is not None)
        if image.bookmaker_id == "betfair_exchange":  # near 100 %, either side after rounding
            assert Decimal("0.95") < book < Decimal("1.10")
        else:
            assert Decimal("1.05") < book < Decimal("1.45")


def test_races_go_off_and_the_card_rolls_on() -> None:
    simulator = MarketSimulator(seed=2, start=START, races=2, bookmakers=3)
    events: list[object] = []
    for _ in range(40):
        events.extend(simulator.advance(timedelta(minutes=1)))
    offs = [e for e in events if isinstance(e, MarketState)]
    assert [e.status for e in offs] == [MarketStatus.OFF, MarketStatus.OFF]
    assert offs[0].race_id == "rac_sim0000"
    assert any(isinstance(e, OddsSnapshot) and e.race_id == "rac_sim0002" for e in events)


def test_ladder_prices_are_consistent() -> None:
    assert nearest_price(0.5) == (Decimal("2.00"), "evs")
    assert nearest_price(1 / 3.5) == (Decimal("3.50"), "5/2")
    decimals = [d for d, _ in LADDER]
    assert decimals == sorted(decimals)
