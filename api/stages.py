"""Kanban stages of a race, as the old dashboard defined them (minutes to the off), plus the
stages after it: Off and Result."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Stage(StrEnum):
    EARLY_MARKET = "Early Market"
    PRE_RACE = "Pre Race"
    GOING_TO_POST = "Going To Post"
    AT_POST = "At Post"
    OFF = "Off"
    RESULT = "Result"


# (stage, minutes to the off at which it ends), in order.
_BEFORE_OFF = (
    (Stage.EARLY_MARKET, 120),
    (Stage.PRE_RACE, 30),
    (Stage.GOING_TO_POST, 5),
    (Stage.AT_POST, 0),
)


def before_off(stage: Stage) -> bool:
    """Whether a race in `stage` has not reached its off time (a filter can then skip races that
    have: `stage_of` puts every race at or past its off in Off or Result)."""
    return stage in {s for s, _ in _BEFORE_OFF}


@dataclass(frozen=True, slots=True)
class StagePosition:
    stage: Stage
    next_change: datetime | None


def stage_of(off_dt: datetime, now: datetime, status: str | None) -> StagePosition:
    """The race's stage at `now` and when it next changes (None once off)."""
    if status == "result":
        return StagePosition(Stage.RESULT, None)
    if status in ("off", "abandoned") or off_dt <= now:
        return StagePosition(Stage.OFF, None)
    minutes_to_off = (off_dt - now).total_seconds() / 60
    for stage, ends_at in _BEFORE_OFF:
        if minutes_to_off >= ends_at:
            return StagePosition(stage, off_dt - timedelta(minutes=ends_at))
    raise AssertionError("unreachable: a race before its off is in one of the stages")
