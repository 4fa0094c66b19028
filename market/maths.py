"""Market maths as pure functions: implied and fair probabilities, book %, consensus, movement.

Vocabulary from docs/domain.md section 5. Prices are decimal odds (> 1); probabilities are floats
in (0, 1). Nothing here knows about Kafka, Faust or PostgreSQL, so every statistic is testable
on its own. The definitions every surface shares (conventions 12): the worker computes with them,
the API relays the worker's results and calls them only where it has no result to relay.
"""

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

Version = tuple[int, str]  # (source_time in microseconds, event_id): totally ordered


def is_newer(version: Version, current: Version | None) -> bool:
    """The staleness rule of every copy of a book: a price replaces the one held for its runner
    at its bookmaker only when its (source_time, event_id) is newer, so duplicates and
    out-of-order events change nothing, in whatever order they arrive."""
    return current is None or version > current


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


P = TypeVar("P", bound=_Ordered)

_SOLVER_STEPS = 200
_SOLVER_TOLERANCE = 1e-12


class FairMethod(StrEnum):
    PROPORTIONAL = "proportional"
    POWER = "power"
    SHIN = "shin"


# The margin removal behind the single `fair_probability` REST and the websocket show (the
# analytics carry all three methods).
PRIMARY_FAIR = FairMethod.SHIN


def implied_probability(decimal: float) -> float:
    """The chance a price implies: 1 / decimal odds."""
    if decimal <= 1:
        raise ValueError(f"decimal odds must be > 1, got {decimal}")
    return 1.0 / decimal


def book_percent(prices: Sequence[float]) -> float:
    """Overround of one market in percent: 100 x the sum of implied probabilities."""
    if not prices:
        raise ValueError("book % needs at least one price")
    return 100.0 * sum(implied_probability(p) for p in prices)


def median(values: Sequence[float]) -> float:
    """The middle value (mean of the middle two for an even count)."""
    if not values:
        raise ValueError("median of nothing")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def price_text(value: float) -> str:
    """A computed price (a consensus) as published: 4 decimals at most, no trailing zeros."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def best_price(quotes: Mapping[str, P]) -> tuple[P, tuple[str, ...]]:
    """The highest price for a runner and every book offering it (sorted), from book -> price
    (floats in the worker, `Decimal`s in the live hub: the same order either way)."""
    if not quotes:
        raise ValueError("best price of no quotes")
    top = max(quotes.values())
    return top, tuple(sorted(book for book, price in quotes.items() if price == top))


def fair_probabilities(implied: Sequence[float], method: FairMethod) -> list[float]:
    """Implied probabilities of one market with the margin removed; they sum to 1."""
    if not implied:
        return []
    if any(not 0 < q < 1 for q in implied):
        raise ValueError("implied probabilities must lie strictly between 0 and 1")
    if len(implied) == 1:
        return [1.0]
    match method:
        case FairMethod.PROPORTIONAL:
            return _proportional(implied)
        case FairMethod.POWER:
            return _power(implied)
        case FairMethod.SHIN:
            return _shin(implied)


def fair_by_runner(consensus: Mapping[str, float]) -> dict[FairMethod, dict[str, float]]:
    """Every runner's fair probability by each method, from its consensus price (the runners
    still running, in the order given: the solvers' sums run in that order)."""
    if not consensus:
        return {method: {} for method in FairMethod}
    horses = list(consensus)
    implied = [1 / consensus[h] for h in horses]
    return {
        method: dict(zip(horses, fair_probabilities(implied, method), strict=True))
        for method in FairMethod
    }


def _proportional(implied: Sequence[float]) -> list[float]:
    total = sum(implied)
    return [q / total for q in implied]


def _power(implied: Sequence[float]) -> list[float]:
    """p_i = q_i ** k with k chosen so the p_i sum to 1 (k > 1 removes a positive margin).

    sum(q ** k) falls monotonically in k because every q < 1, so bisection converges.
    """
    low, high = 1e-6, 1.0
    while sum(q**high for q in implied) > 1:
        high *= 2
    for _ in range(_SOLVER_STEPS):
        k = (low + high) / 2
        if sum(q**k for q in implied) > 1:
            low = k
        else:
            high = k
        if high - low < _SOLVER_TOLERANCE:
            break
    return _proportional([q ** ((low + high) / 2) for q in implied])


def _shin(implied: Sequence[float]) -> list[float]:
    """Shin (1993): insider share z solves sum p_i(z) = 1 with
    p_i = (sqrt(z^2 + 4 (1 - z) q_i^2 / B) - z) / (2 (1 - z)), B = sum q_i.

    Defined for an over-round book (B > 1); an under-round one falls back to proportional.
    """
    booksum = sum(implied)
    if booksum <= 1:
        return _proportional(implied)

    def shin_total(z: float) -> float:
        return sum(
            (math.sqrt(z * z + 4 * (1 - z) * q * q / booksum) - z) / (2 * (1 - z)) for q in implied
        )

    low, high = 0.0, 0.999
    for _ in range(_SOLVER_STEPS):
        z = (low + high) / 2
        if shin_total(z) > 1:
            low = z
        else:
            high = z
        if high - low < _SOLVER_TOLERANCE:
            break
    z = (low + high) / 2
    raw = [(math.sqrt(z * z + 4 * (1 - z) * q * q / booksum) - z) / (2 * (1 - z)) for q in implied]
    return _proportional(raw)  # absorbs the solver's last 1e-12 of error


def price_as_of(history: Sequence[tuple[float, float]], at: float) -> float | None:
    """The price in force at time `at` from (time, price) changes in time order, if any."""
    index = bisect.bisect_right(history, (at, math.inf))
    return history[index - 1][1] if index else None


@dataclass(frozen=True, slots=True)
class Movement:
    """Change of a runner's consensus implied probability over a window (+ = shortened)."""

    change: float | None
    books_shortened: int
    books_drifted: int


def movement(
    histories: Mapping[str, Sequence[tuple[float, float]]], now: float, window: float
) -> Movement:
    """Consensus (median) implied probability now minus `window` ago, from per-book histories
    of (time, price) in any one time unit.

    A book counts as shortened/drifted when its own price moved over the window. A book that
    opened inside the window is measured from its opening price.
    """
    return movements(list(histories.values()), now, (window,))[window]


def movements(
    histories: Sequence[Sequence[tuple[float, float]]], now: float, windows: Sequence[float]
) -> dict[float, Movement]:
    """`movement` for several windows at once (one pass over the books)."""
    now_prices: list[float] = []
    then_prices: dict[float, list[float]] = {w: [] for w in windows}
    shortened = dict.fromkeys(windows, 0)
    drifted = dict.fromkeys(windows, 0)
    for history in histories:
        # The analytics' hottest loop: the price now is the last change unless that is after
        # `now` (never, for a race's own "now"), and the windows' searches are inlined.
        if not history:
            continue
        current = history[-1][1] if history[-1][0] <= now else price_as_of(history, now)
        if current is None:
            continue
        now_prices.append(current)
        for window in windows:
            index = bisect.bisect_right(history, (now - window, math.inf))
            earlier = history[index - 1][1] if index else history[0][1]
            then_prices[window].append(earlier)
            if current < earlier:
                shortened[window] += 1
            elif current > earlier:
                drifted[window] += 1
    if not now_prices:
        return {w: Movement(None, shortened[w], drifted[w]) for w in windows}
    current_chance = 1 / median(now_prices)
    return {
        w: Movement(current_chance - 1 / median(then_prices[w]), shortened[w], drifted[w])
        for w in windows
    }


@dataclass(frozen=True, slots=True)
class MoveThresholds:
    """A steamer: consensus chance up by >= `points` (probability, 0.05 = 5 points) over the
    window with at least `min_books` books shortening; a drifter is the reverse."""

    points: float = 0.05
    min_books: int = 3


def is_steamer(move: Movement, thresholds: MoveThresholds) -> bool:
    return (
        move.change is not None
        and move.change >= thresholds.points
        and move.books_shortened >= thresholds.min_books
    )


def is_drifter(move: Movement, thresholds: MoveThresholds) -> bool:
    return (
        move.change is not None
        and move.change <= -thresholds.points
        and move.books_drifted >= thresholds.min_books
    )
