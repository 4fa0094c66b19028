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


def is_handicap(race_name: str | None) -> bool | None:
    """Whether a race is a handicap, from its name ("... Handicap", "... Nursery": a nursery is a
    two-year-olds' handicap); None when the name is unknown."""
    if race_name is None:
        return None
    name = race_name.lower()
    return "handicap" in name or "nursery" in name


def each_way_terms(field_size: int, handicap: bool | None = None) -> EachWayTerms | None:
    """UK/IRE standard terms by race type and number of runners; None for win only (under 5).

    Non-handicaps: 5-7 runners 1/4 two places, 8+ 1/5 three. Handicaps: 5-7 1/4 two, 8-11 1/5
    three, 12-15 1/4 three, 16+ 1/4 four. A race of unknown type (no name on the result, as in
    the simulator's) is settled on the handicap table, as before types were known.
    """
    if field_size < 5:
        return None
    if field_size <= 7:
        return EachWayTerms(2, Fraction(1, 4))
    if handicap is False or field_size <= 11:
        return EachWayTerms(3, Fraction(1, 5))
    if field_size <= 15:
        return EachWayTerms(3, Fraction(1, 4))
    return EachWayTerms(4, Fraction(1, 4))


def bookmaker_terms(
    standard: EachWayTerms | None, ew_places: int | None, ew_denom: int | None
) -> EachWayTerms | None:
    """A bookmaker's own terms where its prices say so (`ew_places`, `ew_denom`), else the
    standard ones: a book paying an extra place quotes one place more than the standard."""
    if ew_places is None or ew_denom is None or ew_places < 1 or ew_denom < 1:
        return standard
    return EachWayTerms(ew_places, Fraction(1, ew_denom))


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
