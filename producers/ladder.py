"""The UK fractional odds ladder bookmakers quote, and conversion from probabilities."""

import bisect
from decimal import Decimal
from fractions import Fraction

_FRACTIONS = (
    "1/10",
    "1/8",
    "1/6",
    "1/5",
    "2/9",
    "1/4",
    "2/7",
    "3/10",
    "1/3",
    "4/11",
    "2/5",
    "4/9",
    "1/2",
    "8/15",
    "4/7",
    "8/13",
    "4/6",
    "8/11",
    "4/5",
    "5/6",
    "10/11",
    "1/1",
    "11/10",
    "6/5",
    "5/4",
    "11/8",
    "6/4",
    "13/8",
    "7/4",
    "15/8",
    "2/1",
    "9/4",
    "5/2",
    "11/4",
    "3/1",
    "10/3",
    "7/2",
    "4/1",
    "9/2",
    "5/1",
    "11/2",
    "6/1",
    "13/2",
    "7/1",
    "15/2",
    "8/1",
    "17/2",
    "9/1",
    "10/1",
    "11/1",
    "12/1",
    "14/1",
    "16/1",
    "18/1",
    "20/1",
    "22/1",
    "25/1",
    "28/1",
    "33/1",
    "40/1",
    "50/1",
    "66/1",
    "80/1",
    "100/1",
    "125/1",
    "150/1",
    "200/1",
    "250/1",
    "500/1",
)


def _fractional_text(fraction: Fraction) -> str:
    return "evs" if fraction == 1 else f"{fraction.numerator}/{fraction.denominator}"


LADDER: tuple[tuple[Decimal, str], ...] = tuple(
    (
        (1 + Decimal(f.numerator) / Decimal(f.denominator)).quantize(Decimal("0.01")),
        _fractional_text(f),
    )
    for f in map(Fraction, _FRACTIONS)
)
_DECIMALS = [decimal for decimal, _ in LADDER]


def nearest_price(probability: float) -> tuple[Decimal, str]:
    """The ladder price (decimal, fractional) closest in implied probability to `probability`."""
    target = 1 / max(min(probability, 0.95), 0.002)
    index = bisect.bisect_left(_DECIMALS, Decimal(str(round(target, 4))))
    candidates = LADDER[max(index - 1, 0) : index + 1]
    return min(candidates, key=lambda price: abs(1 / float(price[0]) - probability))
