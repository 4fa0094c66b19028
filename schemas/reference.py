"""Reference data: courses, regions and the people and horses on racecards and results.

Published onto compacted topics keyed by id, so a new consumer reads the latest record of every
entity. Ids are upstream's opaque prefixed strings (`crs_`, `hrs_`, `jky_`...), never numbers.
"""

from enum import StrEnum

from pydantic import Field

from schemas.base import Code, Event, Id, Text


class Course(Event):
    id: Id = Field(description="Course id, e.g. crs_52.")
    name: Text
    region_code: Code | None = Field(default=None, description="Lower-case code, e.g. gb.")
    region: Text | None = Field(default=None, description="Region name, e.g. Great Britain.")
    # Added in issue 19, where upstream gives them; defaults keep older events valid.
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class Region(Event):
    id: Id = Field(description="Lower-case region code, e.g. gb, ire.")
    name: Text


class Horse(Event):
    id: Id = Field(description="Horse id, e.g. hrs_30455194.")
    name: Text
    dob: Code | None = None
    sex: Code | None = None
    sex_code: Code | None = None
    colour: Code | None = None
    region: Text | None = None
    breeder: Text | None = None
    sire_id: Id | None = None
    sire: Text | None = None
    dam_id: Id | None = None
    dam: Text | None = None
    damsire_id: Id | None = None
    damsire: Text | None = None
    pedigree_checked: bool = Field(
        default=False, description="True once enriched from /horses/{id}/pro."
    )


class ParticipantKind(StrEnum):
    JOCKEY = "jockey"
    TRAINER = "trainer"
    OWNER = "owner"
    SIRE = "sire"
    DAM = "dam"
    DAMSIRE = "damsire"


class Participant(Event):
    """A jockey, trainer, owner, sire, dam or damsire (one topic per kind)."""

    id: Id
    kind: ParticipantKind
    name: Text
    region: Text | None = None
    location: Text | None = None
