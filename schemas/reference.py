"""Reference data: courses, regions and the people and horses on racecards and results.

Published onto compacted topics keyed by id, so a new consumer reads the latest record of every
entity. Ids are upstream's opaque prefixed strings (`crs_`, `hrs_`, `jky_`...), never numbers.
"""

from enum import StrEnum

from pydantic import Field

from schemas.base import Event


class Course(Event):
    id: str = Field(min_length=1, description="Course id, e.g. crs_52.")
    name: str
    region_code: str | None = Field(default=None, description="Lower-case code, e.g. gb.")
    region: str | None = Field(default=None, description="Region name, e.g. Great Britain.")
    # Added in issue 19, where upstream gives them; defaults keep older events valid.
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class Region(Event):
    id: str = Field(min_length=1, description="Lower-case region code, e.g. gb, ire.")
    name: str


class Horse(Event):
    id: str = Field(min_length=1, description="Horse id, e.g. hrs_30455194.")
    name: str
    dob: str | None = None
    sex: str | None = None
    sex_code: str | None = None
    colour: str | None = None
    region: str | None = None
    breeder: str | None = None
    sire_id: str | None = None
    sire: str | None = None
    dam_id: str | None = None
    dam: str | None = None
    damsire_id: str | None = None
    damsire: str | None = None
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

    id: str = Field(min_length=1)
    kind: ParticipantKind
    name: str
    region: str | None = None
    location: str | None = None
