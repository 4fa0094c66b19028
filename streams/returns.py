"""Each-way terms, SP favourite ranks and the returns of a 1-unit stake (docs/domain.md §3)."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class EachWayTerms:
    places: int
    fraction: Fraction  # of the win odds paid on the place part

    @property
    def text(self) -> str:
        return f"{self.fraction.numerator}/{self.fraction.denominator}"


def each_way_terms(field_size: int) -> EachWayTerms | None:
    """Standard terms by number of runners; None for a win-only race (fewer than 5)."""
    if field_size >= 16:
        return EachWayTerms(4, Fraction(1, 4))
    if field_size >= 12:
        return EachWayTerms(3, Fraction(1, 4))
    if field_size >= 8:
        return EachWayTerms(3, Fraction(1, 5))
    if field_size >= 5:
        return EachWayTerms(2, Fraction(1, 4))
    return None


@dataclass(frozen=True, slots=True)
class Returns:
    win: Decimal | None
    place: Decimal | None
    each_way: Decimal | None


def runner_returns(sp: Decimal | None, finished: int | None, terms: EachWayTerms | None) -> Returns:
    """Returns (stake included) of 1 unit win, 1 unit place and a 1+1 each-way bet at SP.

    Without an SP nothing can be settled (all None); a win-only race has no place part.
    """
    if sp is None:
        return Returns(None, None, None)
    win = sp if finished == 1 else Decimal(0)
    if terms is None:
        return Returns(win, None, None)
    placed = finished is not None and finished <= terms.places
    fraction = Decimal(terms.fraction.numerator) / Decimal(terms.fraction.denominator)
    place = 1 + (sp - 1) * fraction if placed else Decimal(0)
    return Returns(win, place, win + place)


def sp_ranks(sps: Mapping[str, Decimal | None]) -> dict[str, int | None]:
    """Dense rank of SP within the race (1 = favourite; joint favourites share a rank)."""
    distinct = sorted({sp for sp in sps.values() if sp is not None})
    rank = {sp: index + 1 for index, sp in enumerate(distinct)}
    return {horse: None if sp is None else rank[sp] for horse, sp in sps.items()}
