"""A simulated racing day for the streams' golden and fault tests.

`python -m tests.streams_day` regenerates tests/resources/sim_day.jsonl (the events: topic, key,
value) and tests/resources/sim_day_golden.json (the statistics replaying them must produce).
Event ids are fixed (the simulator's are random) and race ids carry the `rac_gold` prefix so the
day never collides with other tests' races in the shared test database.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from market.analytics import AnalyticsParams
from producers.simulate import topic_for
from producers.simulator import MarketSimulator, SimEvent
from schemas.base import Event
from schemas.market import MarketState
from schemas.racecards import Racecard
from schemas.topics import MARKET_STATE, ODDS_LIVE, RACECARDS
from streams.bookmakers import add_up
from streams.market_board import MarketBoard
from streams.odds_decode import decode_odds

RESOURCES = Path(__file__).parent / "resources"
DAY = RESOURCES / "sim_day.jsonl"
GOLDEN = RESOURCES / "sim_day_golden.json"
START = datetime(2026, 3, 14, 11, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: bytes
    value: bytes


def simulate(
    prefix: str = "rac_gold", seed: int = 2026, races: int = 5, bookmakers: int = 6,
    ticks: int = 180, step: timedelta = timedelta(minutes=1), start: datetime = START,
) -> list[Record]:  # fmt: skip
    """The simulator's events with fixed ids, as Kafka records in publication order."""
    simulator = MarketSimulator(seed=seed, start=start, races=races, bookmakers=bookmakers)
    events: list[SimEvent] = list(simulator.initial_events())
    for _ in range(ticks):
        events.extend(simulator.advance(step))
    return [_record(event, index, prefix) for index, event in enumerate(events)]


def _record(event: Event, index: int, prefix: str) -> Record:
    topic = topic_for(event)  # type: ignore[arg-type]
    data = event.model_dump(mode="json")
    data["event_id"] = f"{prefix}-{index:07d}"
    data["ingest_time"] = data["source_time"]
    data["race_id"] = data["race_id"].replace("rac_sim", prefix)
    value = orjson.dumps(type(event).model_validate(data).model_dump(mode="json"))
    return Record(topic.name, data[topic.key].encode(), value)


def write_day(records: Iterable[Record], path: Path = DAY) -> None:
    with path.open("wb") as out:
        for r in records:
            out.write(
                orjson.dumps(
                    {"topic": r.topic, "key": r.key.decode(), "value": orjson.loads(r.value)}
                )
            )
            out.write(b"\n")


def read_day(path: Path = DAY) -> list[Record]:
    records = []
    for line in path.read_bytes().splitlines():
        row = orjson.loads(line)
        records.append(Record(row["topic"], row["key"].encode(), orjson.dumps(row["value"])))
    return records


def replay(records: Iterable[Record], board: MarketBoard | None = None) -> MarketBoard:
    """Feed records to a board exactly as the agents do (odds, cards and states by topic)."""
    board = board or MarketBoard(AnalyticsParams())
    for record in records:
        apply_record(board, record)
    return board


def apply_record(board: MarketBoard, record: Record) -> None:
    """One record onto the board, by its topic (other topics do not touch it)."""
    if record.topic == ODDS_LIVE.name:
        board.apply_odds(decode_odds(record.value))
    elif record.topic == RACECARDS.name:
        board.apply_card(Racecard.model_validate_json(record.value))
    elif record.topic == MARKET_STATE.name:
        board.apply_status(MarketState.model_validate_json(record.value))


def late_events(records: Iterable[Record], at: datetime) -> dict[str, list[Record]]:
    """For every race of `records`, a late price change (its last odds event's first price now
    1.5) and, if it had one, a late status (abandoned): from `at`, a minute apart."""
    last_odds: dict[str, dict[str, Any]] = {}
    last_state: dict[str, dict[str, Any]] = {}
    for record in records:
        value = orjson.loads(record.value)
        if record.topic == ODDS_LIVE.name:
            last_odds[value["race_id"]] = value
        elif record.topic == MARKET_STATE.name:
            last_state[value["race_id"]] = value
    late: dict[str, list[Record]] = {}
    for index, (race_id, odds) in enumerate(sorted(last_odds.items())):
        when = (at + timedelta(minutes=index)).isoformat()
        price = odds["prices"][0]
        price["decimal"], price["fractional"] = "1.5", None
        odds.update(event_id=f"late-{when}-odds", source_time=when, ingest_time=when)
        late[race_id] = [Record(ODDS_LIVE.name, race_id.encode(), orjson.dumps(odds))]
        if (state := last_state.get(race_id)) is not None:
            state.update(event_id=f"late-{when}-state", source_time=when, ingest_time=when)
            state["status"] = "abandoned"
            late[race_id].append(Record(MARKET_STATE.name, race_id.encode(), orjson.dumps(state)))
    return late


def statistics(board: MarketBoard) -> dict[str, Any]:
    """The final analytics of every race and bookmaker on the board."""
    board.dirty_races.update(dict.fromkeys(board.races))
    board.dirty_books.update(board.bookmaker_names)
    readout = board.readout()
    parts: dict[str, list[dict[str, Any]]] = {}
    for part in readout.bookmakers:  # one per bookmaker and partition, added up as the streams do
        parts.setdefault(part["bookmaker_id"], []).append(part)
    window = board.params.rate_window_min
    return {
        "races": {race["race_id"]: race for race in readout.races},
        "bookmakers": {b: add_up(p, window, revision=0) for b, p in parts.items()},
    }


def main() -> None:
    records = simulate()
    write_day(records)
    golden = statistics(replay(records))
    GOLDEN.write_bytes(orjson.dumps(golden, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    prices = sum(len(orjson.loads(r.value)["prices"]) for r in records if r.topic == ODDS_LIVE.name)
    print(f"{len(records)} events, {prices} prices, {len(golden['races'])} races")  # noqa: T201


if __name__ == "__main__":
    main()
