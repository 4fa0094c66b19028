"""Completed dates of the historical producer, in a small JSON file written atomically.

Why a file and not a compacted topic: the backfill is one process on one machine, and it must
know what is done before it opens any connection; a file replaced with `os.replace` is atomic, is
readable by people (`cat`), and is easy to reset for one date. A date is recorded only after
every event of that date has been acknowledged by Kafka, so a crash mid-date re-runs that date
(with the same deterministic event ids, so consumers can drop the repeats) and a completed date is
never published again.
"""

import json
from datetime import date
from pathlib import Path

from producers.racing_api.errors import CheckpointError


class Checkpoint:
    def __init__(self, path: Path, scope: str) -> None:
        """`scope` separates runs over different region sets (e.g. "gb,ire")."""
        self._path = path
        self._scope = scope
        self._all: dict[str, list[str]] = self._load()

    def _load(self) -> dict[str, list[str]]:
        if not self._path.exists():
            return {}
        try:
            data = json.loads(self._path.read_text())
        except ValueError as error:
            raise CheckpointError(self._path, f"not JSON ({error})") from None
        if not isinstance(data, dict):
            raise CheckpointError(self._path, "expected a JSON object of scope -> dates")
        return {str(k): [str(d) for d in v] for k, v in data.items()}

    def done(self) -> set[date]:
        return {date.fromisoformat(d) for d in self._all.get(self._scope, [])}

    def mark(self, day: date) -> None:
        dates = set(self._all.get(self._scope, []))
        dates.add(day.isoformat())
        self._all[self._scope] = sorted(dates)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._all, indent=1, sort_keys=True) + "\n")
        temporary.replace(self._path)
