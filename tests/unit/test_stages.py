from datetime import UTC, datetime, timedelta

import pytest

from api.stages import Stage, stage_of

OFF = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes_before", "stage", "changes_at_minutes_before"),
    [
        (600, Stage.EARLY_MARKET, 120),
        (120, Stage.EARLY_MARKET, 120),  # domain.md: < 120 minutes is Pre Race
        (119.5, Stage.PRE_RACE, 30),
        (30, Stage.PRE_RACE, 30),
        (29, Stage.GOING_TO_POST, 5),
        (5, Stage.GOING_TO_POST, 5),
        (4.9, Stage.AT_POST, 0),
        (0.5, Stage.AT_POST, 0),
    ],
)
def test_stages_before_the_off(
    minutes_before: float, stage: Stage, changes_at_minutes_before: int
) -> None:
    position = stage_of(OFF, OFF - timedelta(minutes=minutes_before), "open")
    assert position.stage is stage
    assert position.next_change == OFF - timedelta(minutes=changes_at_minutes_before)


def test_after_the_off_and_results() -> None:
    assert stage_of(OFF, OFF, "open").stage is Stage.OFF
    assert stage_of(OFF, OFF - timedelta(hours=1), "off").stage is Stage.OFF
    assert stage_of(OFF, OFF + timedelta(minutes=3), "result").stage is Stage.RESULT
    assert stage_of(OFF, OFF + timedelta(minutes=3), "result").next_change is None
