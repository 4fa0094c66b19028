"""Racing API parsing speed: prices per second from raw pro racecard JSON to typed quotes/events.

The recorded 2025-10-14 pro card is scaled to a full day (60 races x 10 runners x 28 books =
16,800 prices, distinct race ids and update times) and parsed repeatedly for a few seconds.
`parse_prices_per_s` covers bytes -> validated races, runners and quotes (Decimal prices, UTC
times, registry bookmakers); `parse_to_events_prices_per_s` adds building the OddsSnapshot events.
"""

import copy
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.harness import record
from producers.racing_api.cards import parse_racecards
from producers.racing_api.report import ParseReport
from producers.racing_api.snapshots import snapshots_of

SAMPLE = (
    Path(__file__).resolve().parents[1] / "tests/resources/racing_api/racecards_pro_2025-10-14.json"
)
RACES = 60
SECONDS = 4.0


def full_day() -> bytes:
    recorded = json.loads(SAMPLE.read_text())
    priced = next(card for card in recorded["racecards"] if card["runners"][0]["odds"])
    start = datetime(2025, 10, 14, 10, 0, tzinfo=UTC)  # written out as naive UK time below
    cards: list[dict[str, Any]] = []
    for index in range(RACES):
        card = copy.deepcopy(priced)
        card["race_id"] = f"rac_bench{index:04d}"
        stamp = (start + timedelta(minutes=index)).strftime("%Y-%m-%d %H:%M:%S")
        for runner in card["runners"]:
            for odds in runner["odds"]:
                odds["updated"] = stamp
        cards.append(card)
    return orjson.dumps({"racecards": cards, "total": RACES, "limit": 500, "skip": 0, "query": []})


def _rate(payload: bytes, with_events: bool) -> tuple[float, int]:
    fetched = datetime.now(UTC)
    prices = rounds = 0
    started = time.perf_counter()
    while time.perf_counter() - started < SECONDS:
        report = ParseReport()
        races = parse_racecards(orjson.loads(payload), fetched, report)
        if with_events:
            snapshots_of(q for race in races for q in race.quotes)
        prices += report.prices
        rounds += 1
    return prices / (time.perf_counter() - started), prices // rounds


def main() -> None:
    payload = full_day()
    parse_rate, per_round = _rate(payload, with_events=False)
    events_rate, _ = _rate(payload, with_events=True)
    if per_round != RACES * 280:
        raise RuntimeError(f"parsed {per_round} prices per round, expected {RACES * 280}")
    record({"parse_prices_per_s": parse_rate, "parse_to_events_prices_per_s": events_rate})


if __name__ == "__main__":
    main()
