"""Each-way terms by race type (UK/IRE standard, docs/domain.md §3) and the returns that follow,
hand-computed for every row of the table, handicap and not, and per-bookmaker extra places."""

from decimal import Decimal
from fractions import Fraction

import pytest

from streams.reference import RESULTS_TABLE, result_rows
from streams.returns import (
    EachWayTerms,
    bookmaker_terms,
    each_way_terms,
    is_handicap,
    runner_returns,
)
from tests.unit.streams.results_sample import sample_results

QUARTER_2 = EachWayTerms(2, Fraction(1, 4))
FIFTH_3 = EachWayTerms(3, Fraction(1, 5))
QUARTER_3 = EachWayTerms(3, Fraction(1, 4))
QUARTER_4 = EachWayTerms(4, Fraction(1, 4))


@pytest.mark.parametrize(
    ("runners", "non_handicap", "handicap"),
    [
        (2, None, None),
        (4, None, None),  # under 5: win only
        (5, QUARTER_2, QUARTER_2),
        (7, QUARTER_2, QUARTER_2),
        (8, FIFTH_3, FIFTH_3),
        (11, FIFTH_3, FIFTH_3),
        (12, FIFTH_3, QUARTER_3),  # non-handicaps stay 1/5 three places from 8 up
        (15, FIFTH_3, QUARTER_3),
        (16, FIFTH_3, QUARTER_4),
        (30, FIFTH_3, QUARTER_4),
    ],
)
def test_terms_by_race_type_and_field(
    runners: int, non_handicap: EachWayTerms | None, handicap: EachWayTerms | None
) -> None:
    assert each_way_terms(runners, handicap=False) == non_handicap
    assert each_way_terms(runners, handicap=True) == handicap
    assert each_way_terms(runners) == handicap  # type unknown: the handicap table


# (case, handicap, runners, SP, finished, win, place, each way): 1-unit win + 1-unit place.
CASES = [
    ("non-handicap 4 ran, winner 2/1: win only", False, 4, "3.0", 1, "3.0", None, None),
    ("non-handicap 6 ran, 2nd at 4/1: 1 + 4/4", False, 6, "5.0", 2, "0", "2.0", "2.0"),
    ("non-handicap 6 ran, 3rd: outside 2 places", False, 6, "5.0", 3, "0", "0", "0"),
    ("non-handicap 8 ran, 3rd at 10/1: 1 + 10/5", False, 8, "11.0", 3, "0", "3.0", "3.0"),
    ("non-handicap 8 ran, 4th", False, 8, "11.0", 4, "0", "0", "0"),
    ("non-handicap 13 ran, 3rd at 8/1: 1 + 8/5", False, 13, "9.0", 3, "0", "2.6", "2.6"),
    ("non-handicap 16 ran, 4th at 20/1: 3 places", False, 16, "21.0", 4, "0", "0", "0"),
    ("non-handicap 16 ran, winner 9/2: 5.5 + 1 + 4.5/5", False, 16, "5.5", 1, "5.5", "1.9", "7.4"),
    ("handicap 4 ran, winner 6/4: win only", True, 4, "2.5", 1, "2.5", None, None),
    ("handicap 7 ran, winner 3/1: 4 + 1 + 3/4", True, 7, "4.0", 1, "4.0", "1.75", "5.75"),
    ("handicap 7 ran, 3rd: outside 2 places", True, 7, "4.0", 3, "0", "0", "0"),
    ("handicap 10 ran, 3rd at 5/1: 1 + 5/5", True, 10, "6.0", 3, "0", "2.0", "2.0"),
    ("handicap 10 ran, 4th", True, 10, "6.0", 4, "0", "0", "0"),
    ("handicap 13 ran, 3rd at 8/1: 1 + 8/4", True, 13, "9.0", 3, "0", "3.0", "3.0"),
    ("handicap 13 ran, 4th", True, 13, "9.0", 4, "0", "0", "0"),
    ("handicap 16 ran, 4th at 20/1: 1 + 20/4", True, 16, "21.0", 4, "0", "6.0", "6.0"),
    ("handicap 16 ran, 5th", True, 16, "21.0", 5, "0", "0", "0"),
    ("handicap 16 ran, pulled up", True, 16, "21.0", None, "0", "0", "0"),
]


@pytest.mark.parametrize(
    ("handicap", "runners", "sp", "finished", "win", "place", "each_way"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_returns_follow_the_terms(
    handicap: bool,
    runners: int,
    sp: str,
    finished: int | None,
    win: str,
    place: str | None,
    each_way: str | None,
) -> None:
    returns = runner_returns(Decimal(sp), finished, each_way_terms(runners, handicap))
    assert returns.win == Decimal(win)
    assert returns.place == (None if place is None else Decimal(place))
    assert returns.each_way == (None if each_way is None else Decimal(each_way))


def test_bookmaker_extra_place() -> None:
    standard = each_way_terms(16, handicap=True)
    extra = bookmaker_terms(standard, 5, 4)  # the book pays five places at 1/4
    assert extra == EachWayTerms(5, Fraction(1, 4))
    fifth_at_20_1 = runner_returns(Decimal(21), 5, extra)
    assert (fifth_at_20_1.place, fifth_at_20_1.each_way) == (Decimal(6), Decimal(6))
    assert runner_returns(Decimal(21), 5, standard).place == 0
    assert bookmaker_terms(standard, None, None) == standard  # no terms quoted
    assert bookmaker_terms(None, 0, 1) is None


def test_handicap_from_the_race_name() -> None:
    assert is_handicap("Every Race Live On Racing TV Nursery Handicap") is True
    assert is_handicap("Free Bets On attheraces.com Fillies' Handicap") is True
    assert is_handicap("EBF Novice Stakes (GBB Race)") is False
    assert is_handicap(None) is None


def test_result_rows_settle_by_race_type() -> None:
    # rac_11745669: 12 ran. As the handicap it is: 1/4 three places; renamed a conditions race:
    # 1/5 three places, so its 3rd at 10/1 pays 1 + 10/5 = 3.0 instead of 1 + 10/4 = 3.5.
    result = next(r for r in sample_results() if r.race_id == "rac_11745669")
    for name, fraction, third_place in (
        (result.race_name, "1/4", Decimal("3.5")),
        ("Conditions Stakes", "1/5", Decimal("3.0")),
    ):
        writes = dict(result_rows(result.model_copy(update={"race_name": name})))
        race = dict(zip(RESULTS_TABLE.columns, writes[RESULTS_TABLE][0], strict=True))
        assert (race["ew_places"], race["ew_fraction"]) == (3, fraction)
        runners = {row[1]: row for table, rows in writes.items() if table.name ==
                   "result_runners" for row in rows}  # fmt: skip
        columns = next(t for t in writes if t.name == "result_runners").columns
        third = dict(zip(columns, runners["hrs_52418086"], strict=True))
        assert third["place_return"] == third_place
