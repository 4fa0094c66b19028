"""Parsing the recorded results page: SP, favourites, positions, weights, field size."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from producers.racing_api.report import ParseReport
from producers.racing_api.results import parse_results

FETCHED = datetime(2025, 10, 8, 9, 0, tzinfo=UTC)


def test_results_sample_parses_completely(results_page: dict[str, Any]) -> None:
    report = ParseReport()
    results = parse_results(results_page["results"], FETCHED, report)
    assert report.errors == 0
    assert len(results) == 5
    assert sum(len(r.runners) for r in results) == 36
    first = results[0]
    assert first.race_id == "rac_11745682"
    assert first.off_dt == datetime(2025, 10, 7, 19, 30, tzinfo=UTC)
    assert first.region == "GB"
    assert first.field_size == len(first.runners)
    assert first.non_runners is not None
    assert "Just King High" in first.non_runners
    winner = first.runners[0]
    assert (winner.position, winner.finished, winner.sp, winner.sp_decimal) == (
        "1", 1, "9/4", Decimal("3.25")
    )  # fmt: skip
    assert winner.weight_lbs == 122
    assert winner.beaten_lengths == Decimal(0)


def test_favourite_markers_are_read_from_sp(results_page: dict[str, Any]) -> None:
    results = parse_results(results_page["results"], FETCHED, ParseReport())
    favourites = [r for result in results for r in result.runners if r.sp_favourite]
    raw = [r for race in results_page["results"] for r in race["runners"] if r["sp"].endswith("F")]
    assert len(favourites) == len(raw) == 5
    assert {f.sp for f in favourites} == {r["sp"] for r in raw}


def test_non_finishers_and_bad_runners(results_page: dict[str, Any]) -> None:
    race = results_page["results"][0]
    race["runners"][1].update(position="PU", weight="9-7", weight_lbs="", sp="2/1JF", sp_dec="")
    race["runners"][2].update(sp="junk", btn="a bit")
    race["runners"].append({"horse": "no id"})
    report = ParseReport()
    results = parse_results(results_page["results"], FETCHED, report)
    pulled_up = results[0].runners[1]
    assert (pulled_up.position, pulled_up.finished) == ("PU", None)
    assert pulled_up.weight_lbs == 133
    assert (pulled_up.sp_decimal, pulled_up.sp_favourite, pulled_up.sp_joint_favourite) == (
        Decimal(3), True, True
    )  # fmt: skip
    assert report.rejected == {"result runner": 1, "field": 2}
    junk = results[0].runners[2]
    assert (junk.sp_decimal, junk.beaten_lengths) == (Decimal("6.50"), None)  # from sp_dec
    assert len(results) == 5
