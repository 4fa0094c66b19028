"""Rows of racecards, market states, results, historical odds and fetch statistics, and the
sinks of the topics outside the race pipeline.

Each row function is pure: an event in, its rows out. The race pipeline
(streams/race_pipeline.py) writes cards, states and results with the prices of the same races;
historical odds and fetch statistics each get an agent built by `register_sink`: a batch of
events is validated (rejects go to the dead-letter topic with the reason), turned into rows,
written in one transaction, and acked after the commit.
"""

import logging
from collections.abc import Callable
from typing import Any

import faust
import orjson

from schemas.base import Model
from schemas.bookmakers import by_id
from schemas.market import MarketState
from schemas.odds import OddsSnapshot
from schemas.racecards import Racecard
from schemas.results import Result
from schemas.stats import FetchStats
from schemas.topics import (
    DEAD_LETTERS,
    FETCH_STATS,
    ODDS_HISTORICAL,
    Topic,
)
from streams.deadletter import dead_letter_for, send_dead_letter
from streams.metrics import EVENTS_CONSUMED
from streams.returns import each_way_terms, is_handicap, runner_returns, sp_ranks
from streams.settings import StreamsSettings
from streams.sink import Rows, SinkFactory, UpsertTable, write_each
from streams.validation import InvalidEvent, validate

log = logging.getLogger(__name__)

Writes = list[tuple[UpsertTable, Rows]]
VERSION = ("source_time", "event_id")


def _table(name: str, columns: str, key: str, version: tuple[str, ...] = VERSION) -> UpsertTable:
    return UpsertTable(name, tuple(columns.split()), tuple(key.split()), version)


RACES = _table(
    "races",
    "race_id course_id course region_code race_date off_dt race_name race_type race_class "
    "distance_f going surface field_size is_abandoned pattern age_band rating_band prize "
    "race_status distance field_size_upstream source_time event_id",
    "race_id",
)
RUNNERS = _table(
    "runners",
    "race_id horse_id horse number draw age weight_lbs jockey_id trainer_id owner_id non_runner "
    "sex official_rating rpr ts headgear form jockey_claim_lbs comment sire_id sire dam_id dam "
    "damsire_id damsire source_time event_id",
    "race_id horse_id",
)
COURSES = _table("courses", "course_id course region_code source_time event_id", "course_id")
HORSES = _table(
    "horses", "horse_id horse sire_id dam_id damsire_id source_time event_id", "horse_id"
)
JOCKEYS = _table("jockeys", "jockey_id jockey source_time event_id", "jockey_id")
TRAINERS = _table("trainers", "trainer_id trainer source_time event_id", "trainer_id")
OWNERS = _table("owners", "owner_id owner source_time event_id", "owner_id")
MARKET_STATUS = _table("market_status", "race_id status reason source_time event_id", "race_id")
MARKET_STATUS_HISTORY = _table(
    "market_status_history",
    "race_id source_time event_id status reason",
    "race_id source_time event_id",
    version=(),
)
RESULTS_TABLE = _table(
    "results",
    "race_id off_dt course_id region_code field_size ew_places ew_fraction race_name course "
    "race_type race_class pattern distance distance_f going surface age_band rating_band "
    "winning_time non_runners handicap source_time event_id",
    "race_id",
)
RESULT_RUNNERS = _table(
    "result_runners",
    "race_id horse_id horse position finished sp sp_decimal sp_favourite sp_rank beaten_lengths "
    "weight_lbs jockey_id trainer_id win_return place_return ew_return number draw "
    "sp_joint_favourite bsp beaten_total time prize official_rating rpr tsr jockey_claim_lbs "
    "headgear age owner_id comment source_time event_id",
    "race_id horse_id",
)
# Bookmakers first seen in historical prices (ids the registry lacks): added, never updated.
SEEN_BOOKMAKERS = _table("bookmakers", "bookmaker_id name type known", "bookmaker_id", ())
ODDS_HISTORICAL_TABLE = _table(
    "odds_historical",
    "race_id horse_id bookmaker_id source_time price_decimal price_fractional ew_places "
    "ew_denom source event_id",
    "race_id horse_id bookmaker_id source_time",
    version=(),
)
FETCH_STATS_TABLE = _table(
    "fetch_stats",
    "producer source_time event_id races runners bookmakers prices unpriced errors duration_s "
    "quirks",
    "producer source_time event_id",
    version=(),
)


def racecard_rows(card: Racecard) -> Writes:
    v = (card.source_time, card.event_id)
    runners = [
        (card.race_id, r.horse_id, r.horse, r.number, r.draw, r.age, r.weight_lbs, r.jockey_id,
         r.trainer_id, r.owner_id, r.non_runner, r.sex, r.official_rating, r.rpr, r.ts,
         r.headgear, r.form, r.jockey_claim_lbs, r.comment, r.sire_id, r.sire, r.dam_id, r.dam,
         r.damsire_id, r.damsire, *v)
        for r in card.runners
    ]  # fmt: skip
    horses = [(r.horse_id, r.horse, r.sire_id, r.dam_id, r.damsire_id, *v) for r in card.runners]
    jockeys = [(r.jockey_id, r.jockey, *v) for r in card.runners if r.jockey_id and r.jockey]
    trainers = [(r.trainer_id, r.trainer, *v) for r in card.runners if r.trainer_id and r.trainer]
    owners = [(r.owner_id, r.owner, *v) for r in card.runners if r.owner_id and r.owner]
    race = (
        card.race_id, card.course_id, card.course, card.region.upper(), card.race_date,
        card.off_dt, card.race_name, card.race_type, card.race_class, card.distance_f,
        card.going, card.surface, card.field_size, card.is_abandoned, card.pattern,
        card.age_band, card.rating_band, card.prize, card.race_status, card.distance,
        card.field_size_upstream, *v,
    )  # fmt: skip
    return [
        (RACES, [race]),
        (RUNNERS, runners),
        (COURSES, [(card.course_id, card.course, card.region.upper(), *v)]),
        (HORSES, horses),
        (JOCKEYS, jockeys),
        (TRAINERS, trainers),
        (OWNERS, owners),
    ]


def result_rows(result: Result) -> Writes:
    """The result and its runners, settled on the each-way terms of the race's type (handicap or
    not, from its name) and the number that ran."""
    v = (result.source_time, result.event_id)
    field_size = len(result.runners)
    handicap = is_handicap(result.race_name)
    terms = each_way_terms(field_size, handicap)
    ranks = sp_ranks({r.horse_id: r.sp_decimal for r in result.runners})
    runners = []
    for r in result.runners:
        returns = runner_returns(r.sp_decimal, r.finished, terms)
        runners.append(
            (
                result.race_id, r.horse_id, r.horse, r.position, r.finished, r.sp, r.sp_decimal,
                r.sp_favourite, ranks[r.horse_id], r.beaten_lengths, r.weight_lbs, r.jockey_id,
                r.trainer_id, returns.win, returns.place, returns.each_way, r.number, r.draw,
                r.sp_joint_favourite, r.bsp, r.beaten_total, r.time, r.prize, r.official_rating,
                r.rpr, r.tsr, r.jockey_claim_lbs, r.headgear, r.age, r.owner_id, r.comment, *v,
            )
        )  # fmt: skip
    race = (
        result.race_id, result.off_dt, result.course_id,
        result.region.upper() if result.region else None, field_size,
        terms.places if terms else None, terms.text if terms else None, result.race_name,
        result.course, result.race_type, result.race_class, result.pattern, result.distance,
        result.distance_f, result.going, result.surface, result.age_band, result.rating_band,
        result.winning_time, result.non_runners, handicap, *v,
    )  # fmt: skip
    jockeys = [(r.jockey_id, r.jockey, *v) for r in result.runners if r.jockey_id and r.jockey]
    trainers = [(r.trainer_id, r.trainer, *v) for r in result.runners if r.trainer_id and r.trainer]
    return [
        (RESULTS_TABLE, [race]),
        (RESULT_RUNNERS, runners),
        (JOCKEYS, jockeys),
        (TRAINERS, trainers),
    ]


def historical_rows(snapshot: OddsSnapshot) -> Writes:
    rows = [
        (snapshot.race_id, p.horse_id, snapshot.bookmaker_id, snapshot.source_time, p.decimal,
         p.fractional, p.ew_places, p.ew_denom, snapshot.source.value, snapshot.event_id)
        for p in snapshot.prices
    ]  # fmt: skip
    writes: Writes = [(ODDS_HISTORICAL_TABLE, rows)]
    if by_id(snapshot.bookmaker_id) is None:
        writes.append(
            (SEEN_BOOKMAKERS, [(snapshot.bookmaker_id, snapshot.bookmaker, "unknown", False)])
        )
    return writes


def fetch_stats_rows(stats: FetchStats) -> Writes:
    row = (
        stats.producer, stats.source_time, stats.event_id, stats.races, stats.runners,
        stats.bookmakers, stats.prices, stats.unpriced, stats.errors, stats.duration_s,
        orjson.dumps(stats.quirks).decode(),
    )  # fmt: skip
    return [(FETCH_STATS_TABLE, [row])]


def market_status_rows(state: MarketState) -> Writes:
    row = (state.race_id, state.status.value, state.reason, state.source_time, state.event_id)
    history = (state.race_id, state.source_time, state.event_id, state.status.value, state.reason)
    return [(MARKET_STATUS, [row]), (MARKET_STATUS_HISTORY, [history])]


def register_sink(
    app: faust.App,
    settings: StreamsSettings,
    topic: Topic,
    consumer: str,
    rows: Callable[[Any], Writes],
    sinks: SinkFactory,
) -> Callable[..., Any]:
    """An agent that validates `topic`'s events and writes `rows(event)` for each batch; events
    PostgreSQL refuses are found by bisecting the batch and dead-lettered with the rest."""
    source = app.topic(topic.name, key_serializer="raw", value_serializer="raw")
    dead_letter_topic = app.topic(DEAD_LETTERS.name, key_serializer="raw", value_serializer="raw")
    model: type[Model] = topic.model

    @app.agent(source, name=consumer)
    async def sink(stream: Any) -> None:
        async with sinks() as sink:
            async for events in stream.take_events(
                settings.batch_events, settings.flush_interval_s
            ):
                EVENTS_CONSUMED.labels(topic.name).inc(len(events))
                items, rejects = [], []
                for event in events:
                    try:
                        items.append((event, validate(model, event.value)))
                    except InvalidEvent as error:
                        rejects.append(dead_letter_for(event, str(error), consumer))
                refused = await write_each(sink, [(e, rows(item)) for e, item in items])
                rejects += [
                    dead_letter_for(event, f"refused by PostgreSQL: {reason}", consumer)
                    for event, reason in refused
                ]
                for letter in rejects:  # before Faust may commit past them (the next batch)
                    await send_dead_letter(dead_letter_topic, letter)

    return sink


def register(app: faust.App, settings: StreamsSettings, sinks: SinkFactory) -> None:
    """The sinks of topics outside the race pipeline (streams/race_pipeline.py stores cards,
    market states and results with the prices, by the worker that owns the race)."""
    register_sink(app, settings, ODDS_HISTORICAL, "historical-odds-sink", historical_rows, sinks)
    register_sink(app, settings, FETCH_STATS, "fetch-stats-sink", fetch_stats_rows, sinks)
