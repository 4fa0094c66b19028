"""Price ladders: the UK fractional ladder bookmakers quote, the exchange tick ladder, and
conversion from probabilities to the nearest rung.

Pricing works on rung indexes (ints) so the simulator's hot paths compare and step prices
without building `Decimal`s; `Rung` carries the pre-rendered texts once per ladder.
"""

import bisect
from dataclasses import dataclass
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


# Quoted as bookmakers write them ("4/6", "6/4"), not reduced ("2/3", "3/2").
LADDER: tuple[tuple[Decimal, str], ...] = tuple(
    (
        (1 + Decimal(f.numerator) / Decimal(f.denominator)).quantize(Decimal("0.01")),
        "evs" if f == 1 else text,
    )
    for text, f in zip(_FRACTIONS, map(Fraction, _FRACTIONS), strict=True)
)
_DECIMALS = [decimal for decimal, _ in LADDER]


def nearest_price(probability: float) -> tuple[Decimal, str]:
    """The ladder price (decimal, fractional) closest in implied probability to `probability`."""
    target = 1 / max(min(probability, 0.95), 0.002)
    index = bisect.bisect_left(_DECIMALS, Decimal(str(round(target, 4))))
    candidates = LADDER[max(index - 1, 0) : index + 1]
    return min(candidates, key=lambda price: abs(1 / float(price[0]) - probability))


@dataclass(frozen=True, slots=True)
class Rung:
    """One price on a ladder: exact decimal, its text forms and implied probability."""

    decimal: Decimal
    text: str  # the decimal as quoted, e.g. "3.50"
    fractional: str
    implied: float  # 1 / decimal


class Ladder:
    """An ascending ladder of prices; `nearest` snaps an implied probability to a rung index."""

    def __init__(self, prices: tuple[tuple[Decimal, str], ...]) -> None:
        self.rungs = tuple(Rung(d, str(d), f, 1 / float(d)) for d, f in prices)
        self._decimals = [float(d) for d, _ in prices]

    def __len__(self) -> int:
        return len(self.rungs)

    def nearest(self, probability: float) -> int:
        """Index of the rung closest in implied probability (clamped to the ladder's ends)."""
        target = 1 / max(min(probability, 0.999), 1e-6)
        index = bisect.bisect_left(self._decimals, target)
        if index <= 0:
            return 0
        if index >= len(self._decimals):
            return len(self._decimals) - 1
        below, above = self.rungs[index - 1].implied, self.rungs[index].implied
        return index - 1 if abs(below - probability) <= abs(above - probability) else index


def _exchange_ticks() -> tuple[tuple[Decimal, str], ...]:
    """Betfair's tick ladder: 0.01 steps to 2, widening to 10 steps from 100 to 1000."""
    bands = (
        ("1.01", "2", "0.01"), ("2", "3", "0.02"), ("3", "4", "0.05"), ("4", "6", "0.1"),
        ("6", "10", "0.2"), ("10", "20", "0.5"), ("20", "30", "1"), ("30", "50", "2"),
        ("50", "100", "5"), ("100", "1000", "10"),
    )  # fmt: skip
    prices: list[tuple[Decimal, str]] = []
    for low, high, step in bands:
        price = Decimal(low) if not prices else Decimal(low) + Decimal(step)
        while price <= Decimal(high):
            decimal = price.quantize(Decimal("0.01"))
            odds = Fraction(decimal - 1).limit_denominator(100)
            prices.append((decimal, _fractional_text(odds)))
            price += Decimal(step)
    return tuple(prices)


FRACTIONAL = Ladder(LADDER)
EXCHANGE = Ladder(_exchange_ticks())
