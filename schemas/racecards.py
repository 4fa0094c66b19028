"""Racecards: a race and its runners, as declared before the off."""

from datetime import date
from decimal import Decimal

from pydantic import Field

from schemas.base import Event, Model, UtcDatetime


class Runner(Model):
    horse_id: str = Field(min_length=1)
    horse: str
    number: int | None = None
    draw: int | None = None
    age: int | None = None
    weight_lbs: int | None = None
    jockey_id: str | None = None
    jockey: str | None = None
    trainer_id: str | None = None
    trainer: str | None = None
    owner_id: str | None = None
    owner: str | None = None
    sire_id: str | None = None
    dam_id: str | None = None
    damsire_id: str | None = None
    non_runner: bool = False
    # Added for the Racing API producers; defaults keep older events valid.
    sex: str | None = None
    colour: str | None = None
    region: str | None = None
    sire: str | None = None
    dam: str | None = None
    damsire: str | None = None
    official_rating: int | None = None
    headgear: str | None = None
    form: str | None = None
    # Added for full cards (issue 19); defaults keep older events valid.
    rpr: int | None = Field(default=None, description="Racing Post Rating, where given.")
    ts: int | None = Field(default=None, description="Topspeed rating, where given.")
    comment: str | None = None
    dob: date | None = None
    trainer_location: str | None = None
    jockey_claim_lbs: int | None = Field(default=None, description="A claiming rider's allowance.")


class Racecard(Event):
    """A race card; republished whenever the race or its runners change (e.g. a non-runner)."""

    race_id: str = Field(min_length=1)
    course_id: str = Field(min_length=1)
    course: str
    region: str = Field(description="Upper-case region code, e.g. GB, IRE.")
    race_date: date
    off_dt: UtcDatetime
    race_name: str
    race_type: str | None = None
    race_class: str | None = None
    distance_f: Decimal | None = None
    going: str | None = None
    surface: str | None = None
    field_size: int | None = None
    is_abandoned: bool = False
    # Added for the Racing API producers; defaults keep older events valid.
    pattern: str | None = None
    age_band: str | None = None
    rating_band: str | None = None
    prize: str | None = None
    race_status: str | None = None
    # Added for full cards (issue 19); defaults keep older events valid.
    field_size_upstream: int | None = Field(
        default=None,
        description="`field_size` as upstream quoted it (can be 0 with a full field), for audit; "
        "`field_size` counts the declared runners that are not non-runners.",
    )
    distance: str | None = Field(default=None, description="As upstream quotes it, e.g. 1m2f.")
    runners: tuple[Runner, ...]
