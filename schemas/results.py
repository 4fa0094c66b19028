"""Results: finishing order, starting prices and distances once a race is run."""

from decimal import Decimal

from pydantic import Field

from schemas.base import Code, Event, Id, Model, SmallInt, Text, UtcDatetime
from schemas.odds import MAX_RUNNERS


class RunnerResult(Model):
    horse_id: Id
    horse: Text
    position: Code = Field(description="'1', '2', ... or a code such as PU, F, UR, BD, DSQ.")
    finished: SmallInt | None = Field(
        default=None, ge=1, description="Numeric place, if it finished."
    )
    sp_decimal: Decimal | None = Field(default=None, gt=1, max_digits=12, decimal_places=4)
    sp: Code | None = Field(default=None, description="Industry SP as quoted, e.g. '13/8F'.")
    sp_favourite: bool = False
    beaten_lengths: Decimal | None = Field(default=None, max_digits=8, decimal_places=2)
    weight_lbs: SmallInt | None = None
    jockey_id: Id | None = None
    trainer_id: Id | None = None
    # Added for the Racing API producers; defaults keep older events valid.
    number: SmallInt | None = None
    draw: SmallInt | None = None
    beaten_total: Decimal | None = Field(
        default=None, max_digits=8, decimal_places=2, description="Lengths behind the winner."
    )
    bsp: Decimal | None = Field(
        default=None,
        gt=1,
        max_digits=12,
        decimal_places=4,
        description="Betfair starting price, if quoted.",
    )
    sp_joint_favourite: bool = False
    owner_id: Id | None = None
    prize: Decimal | None = Field(default=None, max_digits=14, decimal_places=2)
    # Added for full results (issue 19); defaults keep older events valid.
    time: Code | None = Field(default=None, description="Finishing time as quoted, e.g. 1:43.25.")
    official_rating: SmallInt | None = None
    rpr: SmallInt | None = None
    tsr: SmallInt | None = None
    jockey_claim_lbs: SmallInt | None = None
    headgear: Code | None = None
    age: SmallInt | None = None
    jockey: Text | None = None
    trainer: Text | None = None
    comment: Text | None = None


class Result(Event):
    race_id: Id
    off_dt: UtcDatetime
    course_id: Id | None = None
    region: Code | None = None
    # Added for the Racing API producers; defaults keep older events valid.
    race_name: Text | None = None
    course: Text | None = None
    race_type: Code | None = None
    race_class: Code | None = None
    field_size: SmallInt | None = Field(default=None, description="Runners that ran.")
    non_runners: Text | None = None
    # Added for full results (issue 19); defaults keep older events valid.
    pattern: Code | None = None
    distance: Code | None = None
    distance_f: Decimal | None = Field(default=None, ge=0, max_digits=6, decimal_places=2)
    going: Code | None = None
    surface: Code | None = None
    age_band: Code | None = None
    rating_band: Code | None = None
    winning_time: Code | None = None
    runners: tuple[RunnerResult, ...] = Field(max_length=MAX_RUNNERS)
