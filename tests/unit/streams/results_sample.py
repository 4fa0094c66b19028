"""The Racing API results sample (tests/resources/results_2025-10-07.json) as `Result` events."""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson

from schemas.base import EventSource
from schemas.results import Result, RunnerResult

SAMPLE = Path(__file__).parents[2] / "resources" / "results_2025-10-07.json"


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _runner(raw: dict[str, Any]) -> RunnerResult:
    position = raw["position"]
    sp_decimal = _decimal(raw["sp_dec"])
    return RunnerResult(
        horse_id=raw["horse_id"],
        horse=raw["horse"],
        position=position,
        finished=int(position) if position.isdigit() else None,
        sp_decimal=sp_decimal if sp_decimal is not None and sp_decimal > 1 else None,
        sp=raw["sp"] or None,
        sp_favourite=raw["sp"].endswith("F"),
        beaten_lengths=_decimal(raw["btn"]),
        weight_lbs=int(raw["weight_lbs"]) if raw["weight_lbs"].isdigit() else None,
        jockey_id=raw["jockey_id"] or None,
        trainer_id=raw["trainer_id"] or None,
    )


def sample_results() -> list[Result]:
    races = orjson.loads(SAMPLE.read_bytes())["results"]
    return [
        Result(
            event_id=f"result-{race['race_id']}",
            source=EventSource.RACING_API,
            source_time=datetime.fromisoformat(race["off_dt"]),
            race_id=race["race_id"],
            off_dt=datetime.fromisoformat(race["off_dt"]),
            course_id=race["course_id"],
            region=race["region"],
            runners=tuple(_runner(r) for r in race["runners"]),
        )
        for race in races
    ]
