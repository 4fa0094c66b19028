"""Sinks of the reference.*.v1 topics: regions, courses, horses with pedigree, jockeys, trainers,
owners, sires, dams and damsires (what `darkhorses produce reference` publishes).

Racecards write some of the same tables (horses, people, courses) under their own version
columns; reference records write theirs under `ref_source_time`/`ref_event_id` (sql/0011), so
neither side's newer record discards the other's columns. Replaying a topic changes nothing.
"""

from collections.abc import Callable
from typing import Any

import faust

from schemas.reference import Course, Horse, Participant, ParticipantKind, Region
from schemas.topics import (
    REF_COURSES,
    REF_DAMS,
    REF_DAMSIRES,
    REF_HORSES,
    REF_JOCKEYS,
    REF_OWNERS,
    REF_REGIONS,
    REF_SIRES,
    REF_TRAINERS,
)
from streams.reference import Writes, register_sink
from streams.settings import StreamsSettings
from streams.sink import SinkFactory, UpsertTable

REF_VERSION = ("ref_source_time", "ref_event_id")
VERSION = ("source_time", "event_id")


def _table(name: str, columns: str, key: str, version: tuple[str, ...]) -> UpsertTable:
    return UpsertTable(name, tuple(columns.split()), tuple(key.split()), version)


REGIONS = _table("regions", "region_code name source_time event_id", "region_code", VERSION)
COURSES = _table(
    "courses",
    "course_id course region_code region latitude longitude ref_source_time ref_event_id",
    "course_id",
    REF_VERSION,
)
HORSES = _table(
    "horses",
    "horse_id horse dob sex sex_code colour region breeder sire_id sire dam_id dam damsire_id "
    "damsire pedigree_checked ref_source_time ref_event_id",
    "horse_id",
    REF_VERSION,
)
PEOPLE = {
    ParticipantKind.JOCKEY: _table(
        "jockeys", "jockey_id jockey ref_source_time ref_event_id", "jockey_id", REF_VERSION
    ),
    ParticipantKind.TRAINER: _table(
        "trainers",
        "trainer_id trainer location ref_source_time ref_event_id",
        "trainer_id",
        REF_VERSION,
    ),
    ParticipantKind.OWNER: _table(
        "owners", "owner_id owner ref_source_time ref_event_id", "owner_id", REF_VERSION
    ),
    ParticipantKind.SIRE: _table(
        "sires", "sire_id sire region source_time event_id", "sire_id", VERSION
    ),
    ParticipantKind.DAM: _table(
        "dams", "dam_id dam region source_time event_id", "dam_id", VERSION
    ),
    ParticipantKind.DAMSIRE: _table(
        "damsires", "damsire_id damsire region source_time event_id", "damsire_id", VERSION
    ),
}


def region_rows(region: Region) -> Writes:
    row = (region.id.upper(), region.name, region.source_time, region.event_id)
    return [(REGIONS, [row])]


def course_rows(course: Course) -> Writes:
    """Region codes are stored upper-case, as racecards write them (GB, IRE)."""
    row = (
        course.id, course.name, (course.region_code or "").upper(), course.region,
        course.latitude, course.longitude, course.source_time, course.event_id,
    )  # fmt: skip
    return [(COURSES, [row])]


def horse_rows(horse: Horse) -> Writes:
    row = (
        horse.id, horse.name, horse.dob, horse.sex, horse.sex_code, horse.colour, horse.region,
        horse.breeder, horse.sire_id, horse.sire, horse.dam_id, horse.dam, horse.damsire_id,
        horse.damsire, horse.pedigree_checked, horse.source_time, horse.event_id,
    )  # fmt: skip
    return [(HORSES, [row])]


def participant_rows(person: Participant) -> Writes:
    """A person or a parent, in its kind's table (a topic holds one kind; the event says which)."""
    v = (person.source_time, person.event_id)
    if person.kind is ParticipantKind.TRAINER:
        row: tuple[Any, ...] = (person.id, person.name, person.location, *v)
    elif person.kind in (ParticipantKind.JOCKEY, ParticipantKind.OWNER):
        row = (person.id, person.name, *v)
    else:
        row = (person.id, person.name, person.region, *v)
    return [(PEOPLE[person.kind], [row])]


SINKS: tuple[tuple[Any, str, Callable[[Any], Writes]], ...] = (
    (REF_REGIONS, "ref-regions-sink", region_rows),
    (REF_COURSES, "ref-courses-sink", course_rows),
    (REF_HORSES, "ref-horses-sink", horse_rows),
    (REF_JOCKEYS, "ref-jockeys-sink", participant_rows),
    (REF_TRAINERS, "ref-trainers-sink", participant_rows),
    (REF_OWNERS, "ref-owners-sink", participant_rows),
    (REF_SIRES, "ref-sires-sink", participant_rows),
    (REF_DAMS, "ref-dams-sink", participant_rows),
    (REF_DAMSIRES, "ref-damsires-sink", participant_rows),
)


def register(app: faust.App, settings: StreamsSettings, sinks: SinkFactory) -> None:
    for topic, consumer, rows in SINKS:
        register_sink(app, settings, topic, consumer, rows, sinks)
