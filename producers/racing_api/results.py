"""Parsing `/results` documents into `Result` events (SP, positions, distances, field size)."""

from datetime import datetime
from decimal import Decimal

from pydantic import ValidationError

from producers.racing_api import normalise as n
from producers.racing_api.models import ResultRace, ResultRunner
from producers.racing_api.report import ParseReport
from schemas.base import EventSource
from schemas.results import Result, RunnerResult


def _number(value: str | None) -> Decimal | None:
    try:
        return n.number(value)
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return n.integer(value)
    except ValueError:
        return None


def runner_result(runner: ResultRunner) -> RunnerResult:
    """One finisher (or non-finisher); the SP decimal comes from `sp_dec`, else from `sp`."""
    sp_from_text, favourite, joint = n.starting_price(runner.sp)
    try:
        sp_decimal = n.decimal_price(runner.sp_dec)
    except ValueError:
        sp_decimal = None
    quoted, finished = n.position(runner.position)
    bsp = _number(runner.bsp)
    return RunnerResult(
        horse_id=runner.horse_id,
        horse=runner.horse,
        position=quoted or "?",
        finished=finished,
        sp_decimal=sp_decimal or sp_from_text,
        sp=runner.sp or None,
        sp_favourite=favourite,
        sp_joint_favourite=joint,
        beaten_lengths=_number(runner.btn),
        weight_lbs=n.weight_lbs(runner.weight, runner.weight_lbs),
        jockey_id=runner.jockey_id or None,
        trainer_id=runner.trainer_id or None,
        number=_int(runner.number),
        draw=_int(runner.draw),
        beaten_total=_number(runner.ovr_btn),
        bsp=bsp if bsp is not None and bsp > 1 else None,
        owner_id=runner.owner_id or None,
        prize=_number(runner.prize),
    )


def parse_result(raw: object, fetched_at: datetime, report: ParseReport) -> Result | None:
    """A result document -> `Result`; bad runners are counted and skipped, the rest kept."""
    try:
        race = ResultRace.model_validate(raw)
        off_dt = n.instant(race.off_dt)
        if off_dt is None:
            report.reject("result", race.race_id, "no off_dt")
            return None
    except (ValidationError, ValueError) as error:
        where = str(raw.get("race_id", "?")) if isinstance(raw, dict) else type(raw).__name__
        report.reject("result", where, error)
        return None
    runners = []
    for item in race.runners:
        try:
            runners.append(runner_result(ResultRunner.model_validate(item)))
        except (ValidationError, ValueError, TypeError, ArithmeticError) as error:
            where = item.get("horse_id", "?") if isinstance(item, dict) else "?"
            report.reject("result runner", f"{race.race_id}/{where}", error)
    report.races += 1
    report.runners += len(runners)
    try:
        return Result(
            source=EventSource.RACING_API,
            source_time=fetched_at,
            race_id=race.race_id,
            off_dt=off_dt,
            course_id=race.course_id or None,
            region=(race.region or "").upper() or None,
            runners=tuple(runners),
            race_name=race.race_name or None,
            course=race.course or None,
            race_type=race.type or None,
            race_class=race.class_ or None,
            field_size=len(race.runners),
            non_runners=race.non_runners or None,
        )
    except ValidationError as error:
        report.reject("result", race.race_id, error)
        return None


def parse_results(items: list[object], fetched_at: datetime, report: ParseReport) -> list[Result]:
    parsed = (parse_result(item, fetched_at, report) for item in items)
    return [result for result in parsed if result is not None]
