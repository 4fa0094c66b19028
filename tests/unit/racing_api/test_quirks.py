"""Each upstream quirk (tests/racing_api_quirks.py) is handled, counted and logged by parsers."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from producers.racing_api.cards import parse_racecards
from producers.racing_api.report import ParseReport
from producers.racing_api.results import parse_results
from tests.racing_api_quirks import (
    CARD_RACE,
    JF_HORSE,
    JUNK_EXPECTED,
    JUNK_HORSE,
    NR_HORSE,
    quirky_cards,
    quirky_result,
)

FETCHED = datetime(2025, 10, 14, 11, 0, tzinfo=UTC)


def test_nr_runner_is_a_non_runner_without_prices(caplog: pytest.LogCaptureFixture) -> None:
    report = ParseReport()
    race = parse_racecards(quirky_cards(), FETCHED, report)[0]
    assert race.card is not None
    runner = next(r for r in race.card.runners if r.horse_id == NR_HORSE)
    assert (runner.non_runner, runner.number, runner.jockey) == (True, None, None)
    assert sum(r.non_runner for r in race.card.runners) == 1
    assert NR_HORSE not in {q.horse_id for q in race.quotes}
    assert report.quirks["non_runner_marker"] == 2  # once on each of the two cards
    assert "skipped bad" not in caplog.text
    assert report.errors == 0
    assert f"non_runner_marker at {CARD_RACE}/{NR_HORSE}" in caplog.text


def test_sp_with_bare_j_is_a_joint_favourite(caplog: pytest.LogCaptureFixture) -> None:
    report = ParseReport()
    result = parse_results([quirky_result()], FETCHED, report)[0]
    runner = next(r for r in result.runners if r.horse_id == JF_HORSE)
    assert (runner.sp, runner.sp_decimal) == ("7/2J", Decimal("4.5"))
    assert (runner.sp_favourite, runner.sp_joint_favourite) == (True, True)
    assert sum(r.sp_favourite for r in result.runners) == 2
    assert report.errors == 0
    assert report.quirks["sp_joint_marker"] == 2
    assert "sp_joint_marker" in caplog.text


def test_junk_decimal_beside_a_fractional_is_replaced_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    report = ParseReport()
    race = parse_racecards(quirky_cards()[:1], FETCHED, report)[0]
    prices = {q.bookmaker.id: q.decimal for q in race.quotes if q.horse_id == JUNK_HORSE}
    assert {book: prices[book] for book in JUNK_EXPECTED} == JUNK_EXPECTED
    assert report.quirks["decimal_from_fractional"] == 4
    assert report.errors == 0
    assert caplog.text.count("decimal_from_fractional") == 4


def test_race_without_off_dt_is_not_carded_from_off_time(caplog: pytest.LogCaptureFixture) -> None:
    report = ParseReport()
    with_off, without = parse_racecards(quirky_cards(), FETCHED, report)
    assert with_off.card is not None
    assert (without.card, without.off_dt) == (None, None)
    assert len(without.quotes) == len(with_off.quotes) > 0  # its prices still go out
    assert report.quirks["off_dt_missing"] == 1
    assert "off_dt_missing" in caplog.text


def test_field_size_zero_is_derived_from_the_runners(caplog: pytest.LogCaptureFixture) -> None:
    report = ParseReport()
    race = parse_racecards(quirky_cards()[:1], FETCHED, report)[0]
    assert race.card is not None
    assert (race.card.field_size, race.card.field_size_upstream) == (9, 0)
    assert len(race.card.runners) == 10
    assert report.quirks["field_size_derived"] == 1
    assert f"field_size_derived at {CARD_RACE}" in caplog.text


def test_jockey_claim_is_read_from_the_card() -> None:
    race = parse_racecards(quirky_cards()[:1], FETCHED, ParseReport())[0]
    assert race.card is not None
    claims = {r.horse_id: r.jockey_claim_lbs for r in race.card.runners}
    assert claims["hrs_55764415"] == 5  # "Tommie Jakes(5)"
    assert claims[JUNK_HORSE] is None  # "David Egan"
