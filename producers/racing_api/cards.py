"""Parsing pro racecards into contract events: a `Racecard` per race and one `Quote` per price.

Tolerant by level: a race, a runner or a price that does not validate is counted in the
`ParseReport`, logged and skipped; everything else on the card still goes out. Every bookmaker
name goes through the registry; unknown names keep their prices under a derived id and are
counted and logged (`unknown_bookmakers`).
"""

import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import TypeAdapter, ValidationError

from producers.racing_api import normalise as n
from producers.racing_api.models import CardRace, CardRunner, Odds, OddsTick
from producers.racing_api.report import ParseReport
from schemas.base import EventSource
from schemas.bookmakers import Bookmaker, resolve
from schemas.racecards import Racecard, Runner

log = logging.getLogger(__name__)


class Tick(NamedTuple):
    """A past price from `history[]`."""

    changed_at: datetime
    decimal: Decimal | None
    fractional: str | None


class Quote(NamedTuple):
    """One runner x bookmaker price as upstream quoted it; `decimal` None means no price (SP).

    A NamedTuple: a full day's card makes tens of thousands of these per poll, and tuples are the
    cheapest immutable record to build."""

    race_id: str
    horse_id: str
    bookmaker: Bookmaker
    decimal: Decimal | None
    fractional: str | None
    ew_places: int | None
    ew_denom: int | None
    updated: datetime
    history: tuple[Tick, ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.race_id, self.horse_id, self.bookmaker.id)

    @property
    def value(self) -> tuple[Decimal | None, str | None, int | None, int | None]:
        """What counts as a change of this price."""
        return (self.decimal, self.fractional, self.ew_places, self.ew_denom)


@dataclass(frozen=True, slots=True)
class ParsedRace:
    race_id: str
    card: Racecard | None
    quotes: tuple[Quote, ...]
    off_dt: datetime | None
    is_abandoned: bool
    race_status: str | None


def off_instant(race: CardRace, report: ParseReport) -> datetime | None:
    """`off_dt` as UTC, or None (counted and logged as the quirk `off_dt_missing`).

    Never the 12-hour `off_time`: it has no am/pm ("5:40" is 17:40), and reading the race time
    from it was one of the old system's bugs. A race without `off_dt` is not carded (it can not
    be scheduled or settled); its prices still go out.
    """
    if not n.blank(race.off_dt):
        return n.instant(race.off_dt)
    report.quirk(
        "off_dt_missing", race.race_id,
        f"no off_dt (off_time {race.off_time!r} has no am/pm): not carded",
    )  # fmt: skip
    return None


def _bookmaker(name: str, report: ParseReport) -> Bookmaker:
    book = resolve(name)
    if not book.known:  # the producers log each new name once (see `report_unknown_bookmakers`)
        report.unknown_bookmakers[book.name] += 1
    report.bookmakers.add(book.id)
    return book


def report_unknown_bookmakers(report: ParseReport, already: Counter[str]) -> None:
    """Log bookmaker names the registry lacks, once each per process, and add to `already`."""
    for name, count in report.unknown_bookmakers.items():
        if name not in already:
            log.warning(
                "unknown bookmaker %r (%d prices): kept under derived id %s; add it to "
                "schemas/bookmakers.py", name, count, resolve(name).id,
            )  # fmt: skip
    already.update(report.unknown_bookmakers)


def price_of(
    decimal: str | None,
    fractional: str | None,
    report: ParseReport | None = None,
    where: str = "",
) -> Decimal | None:
    """The decimal price, from `decimal` or else from `fractional`; None if neither quotes one.

    A junk `decimal` ("abc", "-3.5", "NaN", "1.0") beside a valid fractional is replaced from the
    fractional, and counted and logged (`decimal_from_fractional`) when a report is given."""
    try:
        value = n.decimal_price(decimal)
    except ValueError as error:
        value = None
        if n.blank(fractional) or fractional in n.NO_PRICE:
            raise
        replaced = n.fractional_price(fractional)
        if report is not None and replaced is not None:
            report.quirk("decimal_from_fractional", where, f"{error}; using {fractional!r}")
        return replaced
    if value is None:
        value = n.fractional_price(fractional)
    return value


def _ticks(raw: list[dict[str, Any]] | None, where: str, report: ParseReport) -> tuple[Tick, ...]:
    if not raw:
        return ()
    ticks = []
    for item in raw:
        try:
            tick = OddsTick.model_validate(item)
            changed_at = _required(n.instant(tick.changed_at), "history tick without changed_at")
            price = price_of(tick.decimal, tick.fractional, report, where)
            ticks.append(Tick(changed_at, price, tick.fractional))
        except (ValidationError, ValueError, TypeError) as error:
            report.reject("history tick", where, error)
    return tuple(sorted(ticks, key=lambda t: t.changed_at))


_ODDS_LIST = TypeAdapter(list[Odds])


def _odds_entries(raw: list[Any]) -> Iterator[Odds | ValidationError]:
    """Validate a runner's odds in one call; only if that fails, entry by entry (to find which)."""
    try:
        yield from _ODDS_LIST.validate_python(raw)
    except ValidationError:
        for item in raw:
            try:
                yield Odds.model_validate(item)
            except ValidationError as error:
                yield error


def quotes_of(
    race_id: str, runner: CardRunner, fetched_at: datetime, report: ParseReport
) -> Iterator[Quote]:
    where = f"{race_id}/{runner.horse_id}"
    for odds in _odds_entries(runner.odds or []):
        if isinstance(odds, ValidationError):
            report.reject("price", where, odds)
            continue
        try:
            decimal = price_of(odds.decimal, odds.fractional, report, where)
            quote = Quote(
                race_id=race_id,
                horse_id=runner.horse_id,
                bookmaker=_bookmaker(odds.bookmaker, report),
                decimal=decimal,
                fractional=None if n.blank(odds.fractional) else odds.fractional,
                ew_places=n.integer(odds.ew_places),
                ew_denom=n.integer(odds.ew_denom) or None,
                updated=n.uk_local_to_utc(odds.updated) or fetched_at,
                history=_ticks(odds.history, where, report),
            )
        except (ValidationError, ValueError, TypeError, ArithmeticError) as error:
            report.reject("price", where, error)
            continue
        if decimal is None:
            report.unpriced += 1
        else:
            report.prices += 1
        yield quote


_NON_RUNNER_JOCKEY = re.compile(r"^\s*NON[- ]?RUNNER", re.IGNORECASE)
_CLAIM = re.compile(r"\((\d{1,2})\)\s*$")  # a claiming rider: "Tommie Jakes(5)"


def jockey_claim(jockey: str | None) -> int | None:
    match = _CLAIM.search(jockey or "")
    return int(match[1]) if match else None


def is_non_runner(runner: CardRunner) -> bool:
    """Upstream marks a non-runner with `number: "NR"` and a jockey like "NON-RUNNER(5)"."""
    return (runner.number or "").strip().upper() == "NR" or bool(
        _NON_RUNNER_JOCKEY.match(runner.jockey or "")
    )


def runner_of(runner: CardRunner, race_id: str, report: ParseReport) -> Runner:
    where = f"{race_id}/{runner.horse_id}"

    def number(field: str, value: str | None) -> int | None:
        return report.lenient(n.integer, value, f"{where}.{field}")

    non_runner = is_non_runner(runner)
    if non_runner:
        report.quirk(
            "non_runner_marker", where,
            f"number {runner.number!r}, jockey {runner.jockey!r}: a non-runner",
        )  # fmt: skip
    return Runner(
        horse_id=runner.horse_id,
        horse=runner.horse,
        number=None if non_runner else number("number", runner.number),
        draw=number("draw", runner.draw),
        age=number("age", runner.age),
        weight_lbs=number("lbs", runner.lbs),
        jockey_id=runner.jockey_id or None,
        jockey=None if non_runner else runner.jockey or None,
        trainer_id=runner.trainer_id or None,
        trainer=runner.trainer or None,
        owner_id=runner.owner_id or None,
        owner=runner.owner or None,
        sire_id=runner.sire_id or None,
        dam_id=runner.dam_id or None,
        damsire_id=runner.damsire_id or None,
        non_runner=non_runner,
        sex=runner.sex or None,
        colour=runner.colour or None,
        region=runner.region or None,
        sire=runner.sire or None,
        dam=runner.dam or None,
        damsire=runner.damsire or None,
        official_rating=number("ofr", runner.ofr),
        headgear=runner.headgear or None,
        form=runner.form or None,
        rpr=number("rpr", runner.rpr),
        ts=number("ts", runner.ts),
        comment=runner.comment or runner.spotlight or None,
        dob=n.day(runner.dob) if not n.blank(runner.dob) else None,
        trainer_location=runner.trainer_location or None,
        jockey_claim_lbs=None if non_runner else jockey_claim(runner.jockey),
    )


def field_of(
    race: CardRace, upstream: int | None, runners: Iterable[Runner], report: ParseReport
) -> int:
    """The field: runners declared and not non-runners. Upstream's `field_size` can be "0" with a
    full list of runners; it is kept on the card (`field_size_upstream`) for audit."""
    derived = sum(1 for runner in runners if not runner.non_runner)
    if upstream != derived:
        report.quirk(
            "field_size_derived", race.race_id,
            f"field_size {race.field_size!r}, {derived} runners declared: field is {derived}",
        )  # fmt: skip
    return derived


def racecard_of(
    race: CardRace,
    runners: tuple[Runner, ...],
    off_dt: datetime,
    fetched_at: datetime,
    report: ParseReport,
) -> Racecard:
    race_day = n.day(race.date) or off_dt.astimezone(n.UK).date()
    upstream = report.lenient(n.integer, race.field_size, f"{race.race_id}.field_size")
    return Racecard(
        source=EventSource.RACING_API,
        source_time=fetched_at,
        race_id=race.race_id,
        course_id=race.course_id,
        course=race.course,
        region=(race.region or "").upper(),
        race_date=race_day,
        off_dt=off_dt,
        race_name=race.race_name,
        race_type=race.type or None,
        race_class=race.race_class or None,
        distance_f=report.lenient(n.number, race.distance_f, f"{race.race_id}.distance_f"),
        going=race.going or None,
        surface=race.surface or None,
        field_size=field_of(race, upstream, runners, report),
        field_size_upstream=upstream,
        is_abandoned=bool(race.is_abandoned),
        runners=runners,
        distance=race.distance or None,
        pattern=race.pattern or None,
        age_band=race.age_band or None,
        rating_band=race.rating_band or None,
        prize=race.prize or None,
        race_status=race.race_status or None,
    )


def parse_race(raw: object, fetched_at: datetime, report: ParseReport) -> ParsedRace | None:
    """One racecard document -> its card and quotes; None (counted) if it has no usable identity."""
    try:
        race = CardRace.model_validate(raw)
    except ValidationError as error:
        report.reject("race", _identity(raw, "race_id"), error)
        return None
    report.races += 1
    runners: list[Runner] = []
    quotes: list[Quote] = []
    for raw_runner in race.runners:
        try:
            runner = CardRunner.model_validate(raw_runner)
            parsed = runner_of(runner, race.race_id, report)
        except (ValidationError, ValueError, TypeError) as error:
            report.reject("runner", f"{race.race_id}/{_identity(raw_runner, 'horse_id')}", error)
            continue
        runners.append(parsed)
        report.runners += 1
        if not parsed.non_runner:  # a non-runner's prices can not be taken
            quotes.extend(quotes_of(race.race_id, runner, fetched_at, report))
    card: Racecard | None = None
    off_dt: datetime | None = None
    try:
        off_dt = off_instant(race, report)
        if off_dt is not None:
            card = racecard_of(race, tuple(runners), off_dt, fetched_at, report)
    except (ValidationError, ValueError, TypeError) as error:
        report.reject("racecard", race.race_id, error)
    return ParsedRace(
        race.race_id, card, tuple(quotes), off_dt, bool(race.is_abandoned), race.race_status
    )


def parse_racecards(payload: object, fetched_at: datetime, report: ParseReport) -> list[ParsedRace]:
    """A `/racecards/pro` page (or a list of racecards) -> parsed races."""
    items: object = payload.get("racecards") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        report.reject("page", "racecards", f"expected a list of racecards, got {type(items)}")
        return []
    parsed = (parse_race(item, fetched_at, report) for item in items)
    return [race for race in parsed if race is not None]


def _required(value: datetime | None, message: str) -> datetime:
    if value is None:
        raise ValueError(message)
    return value


def _identity(raw: object, key: str) -> str:
    if isinstance(raw, dict):
        return str(raw.get(key, "?"))[:40]
    return f"<{type(raw).__name__}>"
