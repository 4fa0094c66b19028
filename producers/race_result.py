"""Running a simulated race: the finishing order drawn from the latent win probabilities at the
off (Plackett-Luce: the winner in proportion to its chance, then second among the rest...), a
few fallers and pulled-up horses over jumps, beaten distances, and the starting prices."""

import random
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from producers.bookmaking import SimBook, price_book
from producers.card import JOCKEYS, TRAINERS, SimRace, SimRunner
from producers.ladder import FRACTIONAL
from schemas.base import EventSource
from schemas.bookmakers import Bookmaker, BookmakerType
from schemas.results import Result, RunnerResult

# Starting prices are a market consensus: a typical on-course book, margin and bias included.
SP_BOOK = SimBook(
    bookmaker=Bookmaker("sp", "Starting Price", BookmakerType.FIXED),
    margin=0.18,
    shade=0.92,
    interval_s=0,
    lag_s=0,
    extra_place=False,
)
_MARGINS = (
    "0.05", "0.1", "0.25", "0.5", "0.75", "1", "1.25", "1.5", "2", "2.5", "3", "4", "5", "6", "8",
)  # fmt: skip
_NON_FINISHES = ("PU", "F", "UR")


def finishing_order(rng: random.Random, probabilities: Mapping[str, float]) -> list[str]:
    """Horse ids first to last, each place drawn in proportion to the remaining chances."""
    remaining = dict(probabilities)
    order = []
    while remaining:
        horses = list(remaining)
        chosen = rng.choices(horses, weights=[remaining[h] for h in horses])[0]
        order.append(chosen)
        del remaining[chosen]
    return order


def starting_prices(probabilities: Mapping[str, float]) -> dict[str, tuple[Decimal, str]]:
    """SP per horse id: (decimal, quoted text with the favourite marker, e.g. '13/8F')."""
    horses = list(probabilities)
    rungs = price_book(SP_BOOK, [probabilities[h] for h in horses])
    shortest = min(rungs)
    favourites = rungs.count(shortest)
    marker = "F" if favourites == 1 else "JF" if favourites == 2 else "CF"
    prices = {}
    for horse, rung in zip(horses, rungs, strict=True):
        price = FRACTIONAL.rungs[rung]
        prices[horse] = (price.decimal, price.fractional + (marker if rung == shortest else ""))
    return prices


def run_race(rng: random.Random, race: SimRace, *, event_id: str, at: datetime) -> Result:
    """The official result of `race`, drawn from its latent probabilities at the off."""
    probabilities = race.off_probabilities
    order = finishing_order(rng, probabilities)
    jumps = race.race_type in ("Hurdle", "Chase")
    fallers = {h for h in order[1:] if jumps and rng.random() < 0.04}
    finishers = [h for h in order if h not in fallers]
    sp = starting_prices(probabilities)
    runners = {r.horse_id: r for r in race.live}
    results = []
    behind = Decimal(0)
    for place, horse_id in enumerate(finishers, start=1):
        if place > 1:
            behind += Decimal(rng.choice(_MARGINS))
        results.append(_runner_result(runners[horse_id], str(place), place, behind, sp))
    for horse_id in order:
        if horse_id in fallers:
            code = rng.choice(_NON_FINISHES)
            results.append(_runner_result(runners[horse_id], code, None, None, sp))
    return Result(
        event_id=event_id,
        source=EventSource.SIMULATOR,
        source_time=at,
        race_id=race.race_id,
        off_dt=race.off_dt,
        course_id=race.course_id,
        region=race.region,
        runners=tuple(results),
    )


def _runner_result(
    runner: SimRunner,
    position: str,
    finished: int | None,
    behind: Decimal | None,
    sp: Mapping[str, tuple[Decimal, str]],
) -> RunnerResult:
    sp_decimal, sp_text = sp[runner.horse_id]
    return RunnerResult(
        horse_id=runner.horse_id,
        horse=runner.horse,
        position=position,
        finished=finished,
        sp_decimal=sp_decimal,
        sp=sp_text,
        sp_favourite=sp_text.endswith("F"),
        beaten_lengths=behind,
        weight_lbs=runner.weight_lbs,
        jockey_id=runner.jockey_id,
        jockey=JOCKEYS[runner.jockey_id],
        trainer_id=runner.trainer_id,
        trainer=TRAINERS[runner.trainer_id],
        owner_id=runner.owner_id,
    )
