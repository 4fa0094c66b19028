from datetime import UTC, datetime
from decimal import Decimal

import pytest

from producers.racing_api import normalise as n


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3.75", Decimal("3.75")), ("4", Decimal(4)), (" 1.01 ", Decimal("1.01")),
     ("SP", None), ("-", None), ("", None), (None, None)],
)  # fmt: skip
def test_decimal_prices_and_no_price(text: str | None, expected: Decimal | None) -> None:
    assert n.decimal_price(text) == expected


@pytest.mark.parametrize("junk", ["abc", "1", "0.5", "NaN", "Infinity", "3,5", "1e9"])
def test_junk_decimal_prices_are_errors(junk: str) -> None:
    with pytest.raises(ValueError, match="decimal price"):
        n.decimal_price(junk)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("11/4", Decimal("3.75")), ("evs", Decimal(2)), ("Evs", Decimal(2)),
     ("1/3", Decimal("1.3333")), ("100/30", Decimal("4.3333")), ("SP", None)],
)  # fmt: skip
def test_fractional_prices(text: str, expected: Decimal | None) -> None:
    assert n.fractional_price(text) == expected


@pytest.mark.parametrize(
    ("sp", "expected"),
    [("13/8F", (Decimal("2.625"), True, False)), ("2/1JF", (Decimal(3), True, True)),
     ("9/4", (Decimal("3.25"), False, False)), ("Evs", (Decimal(2), False, False)),
     ("evsF", (Decimal(2), True, False)), ("", (None, False, False))],
)  # fmt: skip
def test_starting_prices_with_favourite_markers(
    sp: str, expected: tuple[Decimal | None, bool, bool]
) -> None:
    assert n.starting_price(sp) == expected


def test_uk_local_times_become_utc_in_summer_and_winter() -> None:
    assert n.uk_local_to_utc("2025-10-14 13:43:08") == datetime(2025, 10, 14, 12, 43, 8, tzinfo=UTC)
    assert n.uk_local_to_utc("2025-12-01 13:00:00") == datetime(2025, 12, 1, 13, 0, tzinfo=UTC)
    assert n.instant("2025-10-14T13:30:00+01:00") == datetime(2025, 10, 14, 12, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="UK local time"):
        n.uk_local_to_utc("yesterday")


@pytest.mark.parametrize(
    ("weight", "lbs", "expected"),
    [("9-7", None, 133), ("8-10", None, 122), ("8-10", "122", 122), (None, "126", 126),
     ("", "", None)],
)  # fmt: skip
def test_weights_in_pounds(weight: str | None, lbs: str | None, expected: int | None) -> None:
    assert n.weight_lbs(weight, lbs) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", ("1", 1)), ("12", ("12", 12)), ("PU", ("PU", None)), ("ur", ("UR", None)),
     ("F", ("F", None)), ("DSQ", ("DSQ", None)), ("Died as a 5", ("Died as a 5", None)),
     ("0", ("0", None))],
)  # fmt: skip
def test_positions_keep_codes(text: str, expected: tuple[str, int | None]) -> None:
    assert n.position(text) == expected
