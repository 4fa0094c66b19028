"""Racecards: a race and its runners, as declared before the off."""

from datetime import date
from decimal import Decimal

from pydantic import Field

from schemas.base import Code, Event, Id, Model, SmallInt, Text, UtcDatetime
from schemas.odds import MAX_RUNNERS


class Runner(Model):
    horse_id: Id
    horse: Text
    number: SmallInt | None = None
    draw: SmallInt | None = None
    age: SmallInt | None = None
    weight_lbs: SmallInt | None = None
    jockey_id: Id | None = None
    jockey: Text | None = None
    trainer_id: Id | None = None
    trainer: Text | None = None
    owner_id: Id | None = None
    owner: Text | None = None
    sire_id: Id | None = None
    dam_id: Id | None = None
    damsire_id: Id | None = None
    non_runner: bool = False
    # Added for the Racing API producers; defaults keep older events valid.
    sex: Code | None = None
    colour: Code | None = None
    region: Code | None = None
    sire: Text | None = None
    dam: Text | None = None
    damsire: Text | None = None
    official_rating: SmallInt | None = None
    headgear: Code | None = None
    form: Text | None = None
    # Added for full cards (issue 19); defaults keep older events valid.
    rpr: SmallInt | None = Field(default=None, description="Racing Post Rating, where given.")
    ts: SmallInt | None = Field(default=None, description="Topspeed rating, where given.")
    comment: Text | None = None
    dob: date | None = None
    trainer_location: Text | None = None
    jockey_claim_lbs: SmallInt | None = Field(
        default=None, description="A claiming rider's allowance."
    )


class Racecard(Event):
    """A race card; republished whenever the race or its runners change (e.g. a non-runner)."""

    race_id: Id
    course_id: Id
    course: Text
    region: Code = Field(description="Upper-case region code, e.g. GB, IRE.")
    race_date: date
    off_dt: UtcDatetime
    race_name: Text
    race_type: Code | None = None
    race_class: Code | None = None
    distance_f: Decimal | None = Field(default=None, ge=0, max_digits=6, decimal_places=2)
    going: Code | None = None
    surface: Code | None = None
    field_size: SmallInt | None = None
    is_abandoned: bool = False
    # Added for the Racing API producers; defaults keep older events valid.
    pattern: Code | None = None
    age_band: Code | None = None
    rating_band: Code | None = None
    prize: Text | None = None
    race_status: Code | None = None
    # Added for full cards (issue 19); defaults keep older events valid.
    field_size_upstream: SmallInt | None = Field(
        default=None,
        description="`field_size` as upstream quoted it (can be 0 with a full field), for audit; "
        "`field_size` counts the declared runners that are not non-runners.",
    )
    distance: Code | None = Field(default=None, description="As upstream quotes it, e.g. 1m2f.")
    runners: tuple[Runner, ...] = Field(max_length=MAX_RUNNERS)
