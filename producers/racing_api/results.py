"""Parsing `/results` documents into `Result` events (SP, positions, distances, field size)."""

from datetime import datetime

from pydantic import ValidationError

from producers.racing_api import normalise as n
from producers.racing_api.models import ResultRace, ResultRunner
from producers.racing_api.report import ParseReport
from schemas.base import EventSource
from schemas.results import Result, RunnerResult


def runner_result(runner: ResultRunner, race_id: str, report: ParseReport) -> RunnerResult:
    """One finisher (or non-finisher); the SP decimal comes from `sp_dec`, else from `sp`.

    A junk optional field (an SP, a distance, a weight) is counted and left empty; the runner
    still goes out."""
    where = f"{race_id}/{runner.horse_id}"
    sp_from_text, favourite, joint = report.lenient(n.starting_price, runner.sp, f"{where}.sp") or (
        None,
        False,
        False,
    )
    if (runner.sp or "").strip().upper().endswith("J"):
        report.quirk("sp_joint_marker", where, f"SP {runner.sp!r}: joint favourite (bare J)")
    sp_decimal = report.lenient(n.decimal_price, runner.sp_dec, f"{where}.sp_dec")
    quoted, finished = n.position(runner.position)
    bsp = report.lenient(n.number, runner.bsp, f"{where}.bsp")
    return RunnerResult(
        horse_id=runner.horse_id,
        horse=runner.horse,
        position=quoted or "?",
        finished=finished,
        sp_decimal=sp_decimal or sp_from_text,
        sp=runner.sp or None,
        sp_favourite=favourite,
        sp_joint_favourite=joint,
        beaten_lengths=report.lenient(n.number, runner.btn, f"{where}.btn"),
        weight_lbs=report.lenient(
            lambda w: n.weight_lbs(w, runner.weight_lbs), runner.weight, f"{where}.weight"
        ),
        jockey_id=runner.jockey_id or None,
        trainer_id=runner.trainer_id or None,
        number=report.lenient(n.integer, runner.number, f"{where}.number"),
        draw=report.lenient(n.integer, runner.draw, f"{where}.draw"),
        beaten_total=report.lenient(n.number, runner.ovr_btn, f"{where}.ovr_btn"),
        bsp=bsp if bsp is not None and bsp > 1 else None,
        owner_id=runner.owner_id or None,
        prize=report.lenient(n.number, runner.prize, f"{where}.prize"),
        time=runner.time or None,
        official_rating=report.lenient(n.integer, runner.or_, f"{where}.or"),
        rpr=report.lenient(n.integer, runner.rpr, f"{where}.rpr"),
        tsr=report.lenient(n.integer, runner.tsr, f"{where}.tsr"),
        jockey_claim_lbs=report.lenient(n.integer, runner.jockey_claim_lbs, f"{where}.claim"),
        headgear=runner.headgear or None,
        age=report.lenient(n.integer, runner.age, f"{where}.age"),
        jockey=runner.jockey or None,
        trainer=runner.trainer or None,
        comment=runner.comment or None,
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
            runners.append(runner_result(ResultRunner.model_validate(item), race.race_id, report))
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
            pattern=race.pattern or None,
            distance=race.dist or None,
            distance_f=report.lenient(n.number, race.dist_f, f"{race.race_id}.dist_f"),
            going=race.going or None,
            surface=race.surface or None,
            age_band=race.age_band or None,
            rating_band=race.rating_band or None,
            winning_time=race.winning_time_detail or None,
        )
    except ValidationError as error:
        report.reject("result", race.race_id, error)
        return None


def parse_results(items: list[object], fetched_at: datetime, report: ParseReport) -> list[Result]:
    parsed = (parse_result(item, fetched_at, report) for item in items)
    return [result for result in parsed if result is not None]
