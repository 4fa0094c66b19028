"""The live producer against a local HTTP stub of The Racing API and the real Kafka broker.

What "no duplicate changes" means here. For each (race, runner, bookmaker) key, read the odds
topic in order and call an entry a *transition* if its price differs from the key's previous
entry on the topic (a key's first entry is a transition). Then:

1. The transitions are exactly the stub's history: the opening price of every key, then each
   change the test made, once each, in the order made (one race = one partition = one order).
2. The only entries that are not transitions are the restart image: after a restart the producer
   republishes every current price once (it cannot know what reached Kafka before it stopped), so
   each key whose price did not change while it was down appears exactly once more, in the
   restart image, and a price never repeats anywhere else.
"""

import asyncio
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from producers.racing_api.live import PRODUCER
from producers.racing_api.run import run_live
from schemas.base import decode
from schemas.bookmakers import resolve
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard
from schemas.stats import FetchStats
from schemas.topics import FETCH_STATS, MARKET_STATE, ODDS_LIVE, RACECARDS
from tests.conftest import Infra
from tests.integration.racing_api.conftest import producer_settings, serving, wait_until
from tests.kafka_helpers import read_all
from tests.racing_api_stub import StubState

pytestmark = pytest.mark.integration

Key = tuple[str, str, str]
Entry = tuple[Key, Decimal | None]
UNSEEN = object()


def key_of(stub: StubState, race: str, runner: int, book: int) -> Key:
    card_runner = stub.cards[race]["runners"][runner]
    return (race, card_runner["horse_id"], resolve(card_runner["odds"][book]["bookmaker"]).id)


async def odds_on_topic(infra: Infra, tag: str) -> tuple[list[Entry], list[datetime]]:
    """Our races' prices on the live topic in topic order, and each snapshot's source time."""
    entries: list[Entry] = []
    times = []
    for record in await read_all(infra.kafka_bootstrap, ODDS_LIVE.name):
        snapshot = decode(OddsSnapshot, record.value)
        if snapshot.race_id.endswith(tag):
            times.append(snapshot.source_time)
            key = (snapshot.race_id, snapshot.bookmaker_id)
            entries.extend(((key[0], p.horse_id, key[1]), p.decimal) for p in snapshot.prices)
    return entries, times


async def read_events(infra: Infra, topic: str, model: Any, tag_field: str, tag: str) -> list[Any]:
    events = [decode(model, r.value) for r in await read_all(infra.kafka_bootstrap, topic)]
    return [e for e in events if str(getattr(e, tag_field)).endswith(tag)]


async def test_live_producer_publishes_only_changes_in_order_and_survives_a_restart(
    infra: Infra,
) -> None:
    tag = f"_{uuid.uuid4().hex[:6]}"
    stub = StubState.today(tag=tag)
    race, other = f"rac_11743160{tag}", f"rac_11775764{tag}"
    settings = producer_settings(infra)
    opening = {
        key_of(stub, race, runner, book): Decimal(odds["decimal"])
        for runner, card_runner in enumerate(stub.cards[race]["runners"])
        for book, odds in enumerate(card_runner["odds"])
    }
    made: list[Entry] = []
    path = f"/v1/racecards/{race}/pro"

    def set_price(runner: int, book: int, decimal: str, fractional: str) -> None:
        stub.set_price(race, runner, book, decimal, fractional)
        made.append((key_of(stub, race, runner, book), Decimal(decimal)))

    async def polled(times: int, what: str) -> None:
        seen = stub.requests[path]
        await wait_until(lambda: stub.requests[path] >= seen + times, what)

    async with serving(stub) as api:
        stop = asyncio.Event()
        task = asyncio.create_task(run_live(settings, api, stop))
        await wait_until(lambda: stub.requests[path] >= 1, "the first poll")
        for runner, book, decimal, fractional in [(0, 0, "5.5", "9/2"), (3, 7, "11", "10/1")]:
            set_price(runner, book, decimal, fractional)
            await polled(2, f"two polls after the change to {decimal}")
        stop.set()
        await task
        run1, run1_times = await odds_on_topic(infra, tag)

        set_price(5, 2, "3.5", "5/2")  # changes while the producer is down
        stop = asyncio.Event()
        task = asyncio.create_task(run_live(settings, api, stop))
        await polled(1, "the first poll after the restart")
        set_price(0, 0, "6", "5/1")
        await polled(2, "two polls after the last change")
        stop.set()
        await task

    entries, times = await odds_on_topic(infra, tag)
    assert entries[: len(run1)] == run1, "the restart only appended"

    transitions: list[Entry] = []
    repeats: list[Entry] = []
    last: dict[Key, object] = {}
    for key, price in entries:
        (repeats if last.get(key, UNSEEN) == price else transitions).append((key, price))
        last[key] = price
    assert dict(transitions[: len(opening)]) == opening
    assert len(transitions) == len(opening) + len(made)
    assert transitions[len(opening) :] == made

    before_restart = dict(run1)
    changed_while_down = made[2][0]
    expected_repeats = {k: p for k, p in before_restart.items() if k != changed_while_down}
    assert len(repeats) == len(expected_repeats) == 279
    assert dict(repeats) == expected_repeats
    restart_image = entries[len(run1) : len(run1) + len(opening)]
    assert set(repeats) <= set(restart_image)
    # Within each run, snapshots go out in source-time order (the restart image repeats older
    # source times on purpose: they are when upstream last changed those prices).
    run2_times = times[len(run1_times) :]
    assert run1_times == sorted(run1_times)
    assert run2_times == sorted(run2_times)

    cards = await read_events(infra, RACECARDS.name, Racecard, "race_id", tag)
    assert sorted(c.race_id for c in cards) == sorted([race, other] * 2)  # once per run
    states = await read_events(infra, MARKET_STATE.name, MarketState, "race_id", tag)
    assert [s.status for s in states if s.race_id == race] == [MarketStatus.OPEN] * 2
    stats = [
        decode(FetchStats, r.value) for r in await read_all(infra.kafka_bootstrap, FETCH_STATS.name)
    ]
    ours = [s for s in stats if s.producer == PRODUCER]
    assert ours
    assert sum(s.errors for s in ours) == 0
    assert max(s.prices for s in ours) == 280
