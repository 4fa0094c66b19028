"""What a parse or a fetch cycle found and what it had to skip: nothing is lost silently."""

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
V = TypeVar("V")

log = logging.getLogger(__name__)


@dataclass
class ParseReport:
    """Counts of one parse (or of a whole cycle, by `merge`)."""

    races: int = 0
    runners: int = 0
    prices: int = 0
    unpriced: int = 0
    bookmakers: set[str] = field(default_factory=set)
    unknown_bookmakers: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    quirks: Counter[str] = field(default_factory=Counter)

    @property
    def errors(self) -> int:
        return sum(self.rejected.values())

    def reject(self, what: str, where: str, reason: object) -> None:
        """Count and log a part of a payload that could not be used (it is skipped)."""
        self.rejected[what] += 1
        log.warning("skipped bad %s at %s: %s", what, where, str(reason)[:300])

    def quirk(self, what: str, where: str, detail: object) -> None:
        """Count and log a known upstream quirk that was handled (the data is used, repaired or
        declined on purpose); unlike `reject`, nothing here is junk."""
        self.quirks[what] += 1
        log.warning("upstream quirk %s at %s: %s", what, where, str(detail)[:300])

    def lenient(self, parse: Callable[[V], T | None], value: V, where: str) -> T | None:
        """`parse(value)`, or None if it is junk: a bad optional field costs only itself."""
        try:
            return parse(value)
        except (ValueError, TypeError, ArithmeticError) as error:
            self.reject("field", where, error)
            return None

    def merge(self, other: "ParseReport") -> None:
        self.races += other.races
        self.runners += other.runners
        self.prices += other.prices
        self.unpriced += other.unpriced
        self.bookmakers |= other.bookmakers
        self.unknown_bookmakers.update(other.unknown_bookmakers)
        self.rejected.update(other.rejected)
        self.quirks.update(other.quirks)
