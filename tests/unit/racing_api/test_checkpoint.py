from datetime import date
from pathlib import Path

import pytest

from producers.racing_api.checkpoint import Checkpoint
from producers.racing_api.errors import CheckpointError, RacingApiError
from producers.racing_api.historical import dates_between


def test_completed_dates_survive_a_restart_per_region_set(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "checkpoint.json"
    Checkpoint(path, "gb,ire").mark(date(2025, 10, 7))
    Checkpoint(path, "gb,ire").mark(date(2025, 10, 8))
    assert Checkpoint(path, "gb,ire").done() == {date(2025, 10, 7), date(2025, 10, 8)}
    assert Checkpoint(path, "fr").done() == set()
    assert not path.with_suffix(".tmp").exists()


def test_a_corrupt_checkpoint_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.json"
    path.write_text('{"gb": ["2025-10-07"')
    with pytest.raises(CheckpointError, match=str(path)) as caught:
        Checkpoint(path, "gb")
    assert isinstance(caught.value, RacingApiError)


def test_dates_are_backfilled_newest_first() -> None:
    assert dates_between(date(2025, 10, 6), date(2025, 10, 8)) == [
        date(2025, 10, 8), date(2025, 10, 7), date(2025, 10, 6)
    ]  # fmt: skip
