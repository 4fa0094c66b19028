"""Simulated bookmakers: how each one turns latent win probabilities into a priced book.

A fixed-odds book loads its margin (book 110-130 %) mostly onto outsiders, the
favourite-longshot bias: implied chances follow `p ** shade` with `shade < 1`, which shortens
longshots relative to their true chance. Exchanges price close to fair (book 100-103 %) on the
finer Betfair tick ladder. Snapping to a ladder moves the book %, so `price_book` re-scales and,
if need be, steps single rungs until the whole book is back inside its band: every quote set a
book publishes is within its band, which tests check from the ladder prices alone.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass

from producers.ladder import EXCHANGE, FRACTIONAL, Ladder
from schemas.bookmakers import REGISTRY, Bookmaker, BookmakerType

FIXED_BAND = (1.10, 1.30)
EXCHANGE_BAND = (1.00, 1.03)
MAX_BOOKS = sum(b.type is not BookmakerType.TOTE for b in REGISTRY)


@dataclass(frozen=True, slots=True)
class SimBook:
    bookmaker: Bookmaker
    margin: float  # target book % - 1, e.g. 0.18 for a 118 % book
    shade: float  # favourite-longshot exponent on true chances (1 = none)
    interval_s: float  # mean simulated seconds between reprices
    lag_s: float  # how stale the book's view of the market is when it reprices
    extra_place: bool  # pays one place more than standard each-way terms (a concession)

    @property
    def exchange(self) -> bool:
        return self.bookmaker.type is BookmakerType.EXCHANGE

    @property
    def ladder(self) -> Ladder:
        return EXCHANGE if self.exchange else FRACTIONAL

    @property
    def band(self) -> tuple[float, float]:
        return EXCHANGE_BAND if self.exchange else FIXED_BAND


def each_way_terms(field_size: int) -> tuple[int, int] | None:
    """Standard UK each-way terms (places, fraction denominator); None means win only."""
    if field_size >= 16:
        return 4, 4
    if field_size >= 12:
        return 3, 4
    if field_size >= 8:
        return 3, 5
    if field_size >= 5:
        return 2, 4
    return None


def book_terms(book: SimBook, field_size: int) -> tuple[int, int] | None:
    """The each-way terms `book` offers for a field of `field_size` (None on exchanges)."""
    terms = each_way_terms(field_size)
    if book.exchange or terms is None:
        return None
    places, denom = terms
    return (places + 1, denom) if book.extra_place and field_size >= 8 else (places, denom)


def choose_books(rng: random.Random, count: int) -> list[SimBook]:
    """`count` books (at most `MAX_BOOKS`): fixed-odds books from the registry and exchanges."""
    if not 1 <= count <= MAX_BOOKS:
        raise ValueError(f"bookmakers must be 1..{MAX_BOOKS}, got {count}")
    priced = [b for b in REGISTRY if b.type is not BookmakerType.TOTE]
    exchanges = [b for b in priced if b.type is BookmakerType.EXCHANGE]
    others = [b for b in priced if b.type is not BookmakerType.EXCHANGE]
    wanted_exchanges = min(len(exchanges), 2 if count >= 10 else 1 if count >= 2 else 0)
    wanted_exchanges = max(wanted_exchanges, count - len(others))
    chosen = others[: count - wanted_exchanges] + exchanges[:wanted_exchanges]
    return [make_book(rng, bookmaker) for bookmaker in chosen]


def make_book(rng: random.Random, bookmaker: Bookmaker) -> SimBook:
    if bookmaker.type is BookmakerType.EXCHANGE:
        return SimBook(bookmaker, rng.uniform(0.005, 0.02), 1.0, rng.uniform(3, 8), 0.0, False)
    lagging = rng.random() < 0.3  # about a third of the books are slow to follow the market
    return SimBook(
        bookmaker=bookmaker,
        margin=rng.uniform(0.13, 0.27),
        shade=rng.uniform(0.86, 0.97),
        interval_s=rng.uniform(90, 240) if lagging else rng.uniform(15, 45),
        lag_s=rng.uniform(60, 180) if lagging else rng.uniform(0, 10),
        extra_place=rng.random() < 0.25,
    )


def price_book(book: SimBook, probabilities: Sequence[float]) -> list[int]:
    """Ladder rung index per runner for `book`, its book % inside `book.band` whenever possible.

    `probabilities` are true win chances of the runners still in the race (summing to 1).
    """
    ladder, (low, high) = book.ladder, book.band
    weights = [p**book.shade for p in probabilities]
    total = sum(weights)
    targets = [w / total * (1 + book.margin) for w in weights]
    aim = 1 + book.margin
    scale = 1.0
    rungs = [ladder.nearest(t) for t in targets]
    for _ in range(6):
        overround = sum(ladder.rungs[i].implied for i in rungs)
        if low <= overround <= high:
            return rungs
        scale *= aim / overround
        rungs = [ladder.nearest(t * scale) for t in targets]
    return _step_into_band(ladder, rungs, [t * scale for t in targets], low, high)


def _step_into_band(
    ladder: Ladder, rungs: list[int], targets: list[float], low: float, high: float
) -> list[int]:
    """Move single runners one rung at a time, the most mis-rounded first, until in band."""
    last = len(ladder) - 1
    for _ in range(len(rungs) * 8):
        overround = sum(ladder.rungs[i].implied for i in rungs)
        if overround > high:  # too short somewhere: lengthen the most over-rounded runner
            movable = [n for n, i in enumerate(rungs) if i < last]
            if not movable:
                break
            worst = max(movable, key=lambda n: ladder.rungs[rungs[n]].implied / targets[n])
            rungs[worst] += 1
        elif overround < low:  # too long somewhere: shorten the most under-rounded runner
            movable = [n for n, i in enumerate(rungs) if i > 0]
            if not movable:
                break
            worst = min(movable, key=lambda n: ladder.rungs[rungs[n]].implied / targets[n])
            rungs[worst] -= 1
        else:
            break
    return rungs
