"""Each-way terms, SP favourite ranks and returns, checked by hand against real results."""

from decimal import Decimal
from fractions import Fraction

import pytest

from streams.reference import RESULT_RUNNERS, RESULTS_TABLE, result_rows
from streams.returns import EachWayTerms, each_way_terms, runner_returns, sp_ranks
from tests.unit.streams.results_sample import sample_results


@pytest.mark.parametrize(
    ("field_size", "terms"),
    [
        (20, EachWayTerms(4, Fraction(1, 4))),
        (16, EachWayTerms(4, Fraction(1, 4))),
        (15, EachWayTerms(3, Fraction(1, 4))),
        (12, EachWayTerms(3, Fraction(1, 4))),
        (11, EachWayTerms(3, Fraction(1, 5))),
        (8, EachWayTerms(3, Fraction(1, 5))),
        (7, EachWayTerms(2, Fraction(1, 4))),
        (5, EachWayTerms(2, Fraction(1, 4))),
        (4, None),
        (1, None),
    ],
)
def test_each_way_terms_by_field_size(field_size: int, terms: EachWayTerms | None) -> None:
    assert each_way_terms(field_size) == terms


def test_returns_of_winner_placed_unplaced_and_win_only() -> None:
    terms = EachWayTerms(3, Fraction(1, 5))
    won = runner_returns(Decimal("6.0"), 1, terms)
    assert (won.win, won.place, won.each_way) == (Decimal("6.0"), Decimal("2.0"), Decimal("8.0"))
    third = runner_returns(Decimal("11.0"), 3, terms)
    assert (third.win, third.place, third.each_way) == (Decimal(0), Decimal("3.0"), Decimal("3.0"))
    fourth = runner_returns(Decimal("11.0"), 4, terms)
    assert (fourth.win, fourth.place, fourth.each_way) == (Decimal(0), Decimal(0), Decimal(0))
    pulled_up = runner_returns(Decimal("11.0"), None, terms)
    assert pulled_up.each_way == 0
    win_only = runner_returns(Decimal("3.0"), 1, None)
    assert (win_only.win, win_only.place, win_only.each_way) == (Decimal("3.0"), None, None)
    assert runner_returns(None, 1, terms).win is None


def test_sp_rank_is_dense_and_shares_joint_favourites() -> None:
    ranks = sp_ranks({"a": Decimal("3"), "b": Decimal("2.5"), "c": Decimal("2.5"), "d": None})
    assert ranks == {"a": 2, "b": 1, "c": 1, "d": None}


def _rows() -> dict[str, dict[str, tuple[object, ...]]]:
    out: dict[str, dict[str, tuple[object, ...]]] = {}
    for result in sample_results():
        for table, rows in result_rows(result):
            for row in rows:
                out.setdefault(table.name, {})[f"{row[0]}/{row[1]}"] = row
    return out


def _runner(horse_key: str) -> dict[str, object]:
    row = _rows()[RESULT_RUNNERS.name][horse_key]
    return dict(zip(RESULT_RUNNERS.columns, row, strict=True))


def test_sample_results_hand_computed() -> None:
    # rac_11745682, Southwell 20:30, 6 ran -> 1/4 odds, 2 places.
    (race_row,) = (r for k, r in _rows()["results"].items() if k.startswith("rac_11745682/"))
    race = dict(zip(RESULTS_TABLE.columns, race_row, strict=True))
    assert (race["field_size"], race["ew_places"], race["ew_fraction"]) == (6, 2, "1/4")
    assert race["region_code"] == "GB"
    create = _runner("rac_11745682/hrs_30455194")  # won at 9/4 (3.25)
    assert (create["win_return"], create["place_return"], create["ew_return"]) == (
        Decimal("3.25"), Decimal("1.5625"), Decimal("4.8125"),
    )  # fmt: skip
    assert create["sp_rank"] == 2
    fire_eyes = _runner("rac_11745682/hrs_24833459")  # 2nd, 13/8F (2.62): 1 + 1.62 / 4
    assert (fire_eyes["win_return"], fire_eyes["place_return"]) == (0, Decimal("1.405"))
    assert fire_eyes["sp_rank"] == 1
    assert fire_eyes["sp_favourite"] is True
    king = _runner("rac_11745682/hrs_29227121")  # 3rd of 6: outside 2 places
    assert (king["place_return"], king["ew_return"], king["sp_rank"]) == (0, 0, 3)
    assert _runner("rac_11745682/hrs_54432518")["sp_rank"] == 3  # also 11/2: joint rank
    # rac_11745669, 12 ran -> 1/4 odds, 3 places. Winner at 16/1 (17.0): 17 + (1 + 16/4).
    winner = _runner("rac_11745669/hrs_37220106")
    assert (winner["win_return"], winner["place_return"], winner["ew_return"]) == (
        Decimal("17.00"), Decimal("5.0000"), Decimal("22.0000"),
    )  # fmt: skip
    third = _runner("rac_11745669/hrs_52418086")  # 3rd at 10/1: 1 + 10/4
    assert third["place_return"] == Decimal("3.5")
    assert _runner("rac_11745669/hrs_32443593")["ew_return"] == 0  # 4th
    # rac_11745604, 5 ran (2 non-runners) -> 2 places: the 5/6 favourite 2nd pays 1 + 0.83/4.
    favourite = _runner("rac_11745604/hrs_46295585")
    assert favourite["place_return"] == Decimal("1.2075")
    assert favourite["win_return"] == 0
