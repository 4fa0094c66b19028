"""Every market statistic, by hand-worked example and by property."""

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market import maths as mm

prices = st.floats(min_value=1.01, max_value=1000, allow_nan=False, allow_infinity=False)
markets = st.lists(prices, min_size=2, max_size=40)


def test_implied_probability_is_the_reciprocal_of_decimal_odds() -> None:
    assert mm.implied_probability(4.0) == 0.25
    assert mm.implied_probability(1.25) == 0.8
    with pytest.raises(ValueError, match="must be > 1"):
        mm.implied_probability(1.0)


def test_book_percent_sums_implied_probabilities() -> None:
    # 2.0, 3.0 and 6.0 are a fair 100 % book; 1.8 / 2.5 / 5.0 = 55.6 + 40 + 20 = 115.6 %
    assert mm.book_percent([2.0, 3.0, 6.0]) == pytest.approx(100.0)
    assert mm.book_percent([1.8, 2.5, 5.0]) == pytest.approx(100 / 1.8 + 40 + 20)
    with pytest.raises(ValueError, match="at least one price"):
        mm.book_percent([])


def test_median_of_odd_and_even_counts() -> None:
    assert mm.median([5.0, 2.0, 9.0]) == 5.0
    assert mm.median([4.0, 2.0, 9.0, 5.0]) == 4.5
    with pytest.raises(ValueError, match="median of nothing"):
        mm.median([])


def test_best_price_is_the_longest_with_every_book_offering_it() -> None:
    quotes = {"coral": 5.0, "bet365": 5.5, "betfred": 5.5, "unibet": 4.5}
    assert mm.best_price(quotes) == (5.5, ("bet365", "betfred"))


def test_proportional_fair_probabilities_scale_by_the_book() -> None:
    fair = mm.fair_probabilities([0.6, 0.3, 0.3], mm.FairMethod.PROPORTIONAL)
    assert fair == pytest.approx([0.5, 0.25, 0.25])


def test_power_method_raises_every_probability_to_one_exponent() -> None:
    implied = [0.55, 0.35, 0.2]
    fair = mm.fair_probabilities(implied, mm.FairMethod.POWER)
    k = math.log(fair[0]) / math.log(implied[0])
    assert [q**k for q in implied] == pytest.approx(fair, abs=1e-9)
    assert k > 1  # an over-round book needs k > 1
    # The favourite keeps more of its implied chance than proportional scaling gives it.
    assert fair[0] > mm.fair_probabilities(implied, mm.FairMethod.PROPORTIONAL)[0]


def test_shin_method_matches_the_closed_form_for_its_insider_share() -> None:
    implied = [0.55, 0.35, 0.2]
    fair = mm.fair_probabilities(implied, mm.FairMethod.SHIN)
    booksum = sum(implied)
    # Shin's p solves (1 - z) p^2 + z p = q^2 / B: recover z from the favourite, then every
    # runner must satisfy the closed form with that same z.
    p, q = fair[0], implied[0]
    z = (q * q / booksum - p * p) / (p - p * p)
    expected = [
        (math.sqrt(z * z + 4 * (1 - z) * qi * qi / booksum) - z) / (2 * (1 - z)) for qi in implied
    ]
    assert fair == pytest.approx(expected, abs=1e-6)
    assert 0 < z < 0.2


def test_under_round_shin_falls_back_to_proportional() -> None:
    implied = [0.5, 0.3, 0.15]
    assert mm.fair_probabilities(implied, mm.FairMethod.SHIN) == pytest.approx(
        mm.fair_probabilities(implied, mm.FairMethod.PROPORTIONAL)
    )


def test_single_runner_and_empty_markets() -> None:
    assert mm.fair_probabilities([0.9], mm.FairMethod.SHIN) == [1.0]
    assert mm.fair_probabilities([], mm.FairMethod.POWER) == []
    with pytest.raises(ValueError, match="strictly between"):
        mm.fair_probabilities([0.5, 1.0], mm.FairMethod.PROPORTIONAL)


@given(markets)
def test_book_percent_is_positive(market: list[float]) -> None:
    assert mm.book_percent(market) > 0


@given(markets, st.sampled_from(list(mm.FairMethod)))
def test_fair_probabilities_sum_to_one_and_keep_the_order(
    market: list[float], method: mm.FairMethod
) -> None:
    implied = [1 / p for p in market]
    fair = mm.fair_probabilities(implied, method)
    assert math.fsum(fair) == pytest.approx(1.0, abs=1e-9)
    # A 1000/1 shot beside three odds-on runners can underflow to 0 under the power method.
    assert all(0 <= f < 1 for f in fair)
    ranked = sorted(zip(implied, fair, strict=True))
    for (_, lower), (_, higher) in itertools.pairwise(ranked):
        assert lower <= higher + 1e-12


def test_price_as_of_finds_the_price_in_force() -> None:
    history = [(0.0, 5.0), (100.0, 4.5), (200.0, 4.0)]
    assert mm.price_as_of(history, -1) is None
    assert mm.price_as_of(history, 0) == 5.0
    assert mm.price_as_of(history, 150) == 4.5
    assert mm.price_as_of(history, 1e9) == 4.0


def test_movement_compares_consensus_now_with_the_window_start() -> None:
    histories = {
        "a": [(0.0, 5.0), (500.0, 4.0)],  # shortened
        "b": [(0.0, 5.0), (550.0, 4.0)],  # shortened
        "c": [(0.0, 5.0), (560.0, 6.0)],  # drifted
        "d": [(590.0, 3.0)],  # opened inside the window: measured from its opening price
        "e": [(700.0, 2.0)],  # opens after "now": takes no part
    }
    move = mm.movement(histories, now=600.0, window=300.0)
    # now: median(4, 4, 6, 3) = 4 -> 0.25; then: median(5, 5, 5, 3) = 5 -> 0.2
    assert move.change == pytest.approx(0.05)
    assert (move.books_shortened, move.books_drifted) == (2, 1)
    assert mm.movement(histories, now=600.0, window=1000.0).change == pytest.approx(0.05)
    assert mm.movement({"e": [(700.0, 2.0)]}, now=600.0, window=60.0).change is None


def _movements_by_definition(
    histories: list[list[tuple[float, float]]], now: float, windows: list[float]
) -> dict[float, mm.Movement]:
    """`movements` spelled out with `price_as_of`: what its inlined loop must equal."""
    out = {}
    for window in windows:
        now_prices, then_prices, shortened, drifted = [], [], 0, 0
        for history in histories:
            current = mm.price_as_of(history, now)
            if current is None:
                continue
            earlier = mm.price_as_of(history, now - window)
            earlier = history[0][1] if earlier is None else earlier
            now_prices.append(current)
            then_prices.append(earlier)
            shortened += current < earlier
            drifted += current > earlier
        change = 1 / mm.median(now_prices) - 1 / mm.median(then_prices) if now_prices else None
        out[window] = mm.Movement(change, shortened, drifted)
    return out


histories = st.lists(
    st.lists(st.tuples(st.integers(0, 100), prices), max_size=8).map(
        lambda changes: sorted(dict(changes).items())
    ),
    max_size=12,
)


@given(histories, st.integers(-10, 120), st.lists(st.integers(1, 90), min_size=1, max_size=3))
def test_movements_equal_their_definition(
    books: list[list[tuple[float, float]]], now: int, windows: list[int]
) -> None:
    expected = _movements_by_definition(books, now, sorted(set(windows)))
    assert mm.movements(books, now, sorted(set(windows))) == expected


def test_steamer_and_drifter_need_size_and_breadth() -> None:
    thresholds = mm.MoveThresholds(points=0.05, min_books=2)
    assert mm.is_steamer(mm.Movement(0.06, 2, 0), thresholds)
    assert not mm.is_steamer(mm.Movement(0.06, 1, 0), thresholds)  # one book is not a market
    assert not mm.is_steamer(mm.Movement(0.04, 5, 0), thresholds)  # too small
    assert mm.is_drifter(mm.Movement(-0.05, 0, 3), thresholds)
    assert not mm.is_drifter(mm.Movement(None, 0, 3), thresholds)
    assert not mm.is_steamer(mm.Movement(-0.2, 4, 0), thresholds)
