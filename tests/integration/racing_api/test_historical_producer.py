"""The historical producer on the real broker: joined cards, prices and results; resumable."""

import uuid
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from producers.racing_api.historical import PRODUCER as HISTORICAL
from producers.racing_api.run import run_historical
from schemas.base import decode
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard
from schemas.results import Result
from schemas.stats import FetchStats
from schemas.topics import FETCH_STATS, ODDS_HISTORICAL, RACECARDS, RESULTS
from tests.conftest import Infra
from tests.integration.racing_api.conftest import producer_settings, serving
from tests.kafka_helpers import read_all
from tests.racing_api_stub import StubState, past_day

pytestmark = pytest.mark.integration
DAYS = ("2025-10-12", "2025-10-13", "2025-10-14")


async def published(infra: Infra, tag: str) -> dict[str, list[bytes]]:
    """Our events per topic (raw values), in topic order."""
    found: dict[str, list[bytes]] = {}
    models: dict[str, type[Racecard | OddsSnapshot | Result]] = {
        RACECARDS.name: Racecard, ODDS_HISTORICAL.name: OddsSnapshot, RESULTS.name: Result,
    }  # fmt: skip
    for topic, model in models.items():
        values = [r.value for r in await read_all(infra.kafka_bootstrap, topic)]
        found[topic] = [v for v in values if decode(model, v).race_id.endswith(tag)]
    return found


async def test_historical_backfill_is_resumable_and_publishes_nothing_twice(
    infra: Infra, tmp_path: Path
) -> None:
    tag = f"_{uuid.uuid4().hex[:6]}"
    stub = StubState(cards={})
    for day in DAYS:
        day_cards, day_results = past_day(day, tag)
        stub.cards.update({card["race_id"]: card for card in day_cards})
        stub.result_pages.extend(day_results)
    settings = producer_settings(infra, checkpoint_path=tmp_path / "checkpoint.json")

    async with serving(stub) as api:
        # A first, interrupted backfill did only the newest date...
        first = await run_historical(
            settings, api, date(2025, 10, 14), date(2025, 10, 14), show_progress=False
        )
        # ...the full range then does the other two, and a re-run does nothing.
        second = await run_historical(
            settings, api, date(2025, 10, 12), date(2025, 10, 14), show_progress=False
        )
        third = await run_historical(
            settings, api, date(2025, 10, 12), date(2025, 10, 14), show_progress=False
        )
    assert [o.day.isoformat() for o in first] == ["2025-10-14"]
    assert [o.day.isoformat() for o in second] == ["2025-10-13", "2025-10-12"]  # newest first
    assert third == []
    assert stub.requests["/v1/racecards/pro"] == 3  # one list per date, ever

    events = await published(infra, tag)
    cards = [decode(Racecard, v) for v in events[RACECARDS.name]]
    snapshots = [decode(OddsSnapshot, v) for v in events[ODDS_HISTORICAL.name]]
    results = [decode(Result, v) for v in events[RESULTS.name]]
    # Nothing twice: every event id, and every (race, bookmaker, instant), exactly once.
    ids = [e.event_id for e in (*cards, *snapshots, *results)]
    assert len(ids) == len(set(ids))
    instants = Counter((s.race_id, s.bookmaker_id, s.source_time) for s in snapshots)
    assert max(instants.values()) == 1
    assert len(cards) == 2 * len(DAYS)
    assert len(results) == len(DAYS)
    # Per date: 280 final prices plus 280 history ticks, each with each-way terms.
    assert sum(len(s.prices) for s in snapshots) == 2 * 280 * len(DAYS)
    terms = Counter((p.ew_places, p.ew_denom) for s in snapshots for p in s.prices)
    assert terms == {(3, 5): 2 * 270 * len(DAYS), (None, None): 2 * 10 * len(DAYS)}
    assert {p.decimal for s in snapshots for p in s.prices if s.source_time.hour == 8} == {
        Decimal(21)
    }
    # Results carry what streams need for returns: SP, favourite, position, field size.
    result = results[0]
    assert result.field_size == 10
    assert result.runners[0].sp_favourite
    assert result.runners[0].finished == 1
    assert result.runners[-1].position == "PU"
    assert all(r.sp_decimal is not None for r in result.runners)
    stats = [
        decode(FetchStats, r.value) for r in await read_all(infra.kafka_bootstrap, FETCH_STATS.name)
    ]
    per_day = [s for s in stats if s.producer == HISTORICAL]
    assert len(per_day) == len(DAYS)
    assert all((s.races, s.prices, s.errors) == (2, 280, 0) for s in per_day)
    carded = {r.horse_id for c in cards if c.race_id == result.race_id for r in c.runners}
    assert {r.horse_id for r in result.runners} == carded  # joins on race_id then horse_id
