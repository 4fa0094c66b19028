"""Parsing the recorded pro racecards: every price exactly once, exact decimals, UTC times."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from producers.racing_api.cards import parse_racecards
from producers.racing_api.report import ParseReport
from producers.racing_api.snapshots import history_snapshots, snapshots_of
from schemas.bookmakers import resolve

FETCHED = datetime(2025, 10, 14, 12, 44, tzinfo=UTC)


def expected_prices(page: dict[str, Any]) -> dict[tuple[str, str, str], tuple[Decimal, datetime]]:
    """Oracle straight from the raw sample: (race, horse, bookmaker id) -> (decimal, UTC time)."""
    expected = {}
    for race in page["racecards"]:
        for runner in race["runners"]:
            for odds in runner.get("odds") or []:
                if odds["decimal"] in ("SP", "-", ""):
                    continue
                key = (race["race_id"], runner["horse_id"], resolve(odds["bookmaker"]).id)
                assert key not in expected
                # 2025-10-14 is British Summer Time: UK local = UTC+1.
                local = datetime.strptime(odds["updated"] + " +0100", "%Y-%m-%d %H:%M:%S %z")
                expected[key] = (Decimal(odds["decimal"]), local.astimezone(UTC))
    return expected


def test_every_priced_runner_and_bookmaker_becomes_exactly_one_price(
    pro_cards: dict[str, Any],
) -> None:
    report = ParseReport()
    races = parse_racecards(pro_cards, FETCHED, report)
    snapshots = snapshots_of(q for race in races for q in race.quotes)

    published: dict[tuple[str, str, str], tuple[Decimal | None, datetime]] = {}
    for snapshot in snapshots:
        assert snapshot.source_time.tzinfo is UTC
        for price in snapshot.prices:
            key = (snapshot.race_id, price.horse_id, snapshot.bookmaker_id)
            assert key not in published, f"{key} published twice"
            published[key] = (price.decimal, snapshot.source_time)

    expected = expected_prices(pro_cards)
    assert len(expected) == 280
    assert published == expected
    assert report.prices == 280
    assert report.unpriced == 0
    assert report.errors == 0
    assert len(report.bookmakers) == 28
    assert not report.unknown_bookmakers


def test_known_price_has_exact_decimal_fraction_terms_and_utc_time(
    pro_cards: dict[str, Any],
) -> None:
    races = parse_racecards(pro_cards, FETCHED, ParseReport())
    quote = next(q for q in races[1].quotes if q.bookmaker.id == "bet365")
    assert quote.decimal == Decimal("3.75")
    assert quote.fractional == "11/4"
    assert (quote.ew_places, quote.ew_denom) == (3, 5)
    assert quote.updated == datetime(2025, 10, 14, 12, 43, 8, tzinfo=UTC)  # 13:43:08 BST


def test_race_without_odds_still_gives_its_card(pro_cards: dict[str, Any]) -> None:
    report = ParseReport()
    races = parse_racecards(pro_cards, FETCHED, report)
    french = next(r for r in races if r.race_id == "rac_11775764")
    assert french.quotes == ()
    assert french.card is not None
    assert french.card.region == "FR"
    assert french.card.off_dt == datetime(2025, 10, 14, 12, 30, tzinfo=UTC)
    assert len(french.card.runners) == 8
    assert french.card.runners[0].weight_lbs == 126


def test_unpriced_entries_are_counted_and_kept_without_a_price(pro_cards: dict[str, Any]) -> None:
    runner = pro_cards["racecards"][1]["runners"][0]
    runner["odds"][0].update(decimal="SP", fractional="SP")
    runner["odds"][1].update(decimal="-", fractional="-")
    runner["odds"][2].update(decimal="", fractional="")
    runner["odds"][3].update(decimal="", fractional="evs")
    report = ParseReport()
    races = parse_racecards(pro_cards, FETCHED, report)
    quotes = {q.bookmaker.id: q for q in races[1].quotes if q.horse_id == runner["horse_id"]}
    assert report.unpriced == 3
    assert report.prices == 277
    assert len(races[1].quotes) == 280  # nothing dropped
    assert quotes[resolve(runner["odds"][0]["bookmaker"]).id].decimal is None
    assert quotes[resolve(runner["odds"][3]["bookmaker"]).id].decimal == Decimal(2)


def test_unknown_bookmaker_keeps_its_prices_under_a_derived_id(pro_cards: dict[str, Any]) -> None:
    for runner in pro_cards["racecards"][1]["runners"]:
        runner["odds"][0]["bookmaker"] = "Brand New Bet"
    report = ParseReport()
    races = parse_racecards(pro_cards, FETCHED, report)
    new = [q for q in races[1].quotes if q.bookmaker.id == "x_brand_new_bet"]
    assert len(new) == 10
    assert report.unknown_bookmakers == {"Brand New Bet": 10}
    assert report.prices == 280


def test_history_ticks_become_snapshots_at_their_own_times(pro_cards: dict[str, Any]) -> None:
    odds = pro_cards["racecards"][1]["runners"][0]["odds"][0]
    odds["history"] = [
        {"changed_at": "2025-10-14T10:00:00+01:00", "fractional": "3/1", "decimal": "4"},
        {"changed_at": "2025-10-14T09:00:00+01:00", "fractional": "7/2", "decimal": "4.5"},
        {"changed_at": "garbage", "fractional": "1/1", "decimal": "2"},
    ]
    report = ParseReport()
    races = parse_racecards(pro_cards, FETCHED, report)
    ticks = history_snapshots(races[1].quotes)
    assert [(s.source_time.hour, s.prices[0].decimal) for s in ticks] == [
        (8, Decimal("4.5")),
        (9, Decimal(4)),
    ]
    assert report.rejected == {"history tick": 1}


def test_a_junk_optional_field_is_counted_and_the_runner_kept(pro_cards: dict[str, Any]) -> None:
    runner = pro_cards["racecards"][1]["runners"][2]
    runner.update(draw="x1", lbs="heavy")
    report = ParseReport()
    races = parse_racecards(pro_cards, FETCHED, report)
    assert races[1].card is not None
    kept = next(r for r in races[1].card.runners if r.horse_id == runner["horse_id"])
    assert (kept.draw, kept.weight_lbs, kept.horse) == (None, None, runner["horse"])
    assert report.rejected == {"field": 2}
    assert report.prices == 280
