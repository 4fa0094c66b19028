"""Results: finishing order, starting prices and distances once a race is run."""

from decimal import Decimal

from pydantic import Field

from schemas.base import Event, Model, UtcDatetime


class RunnerResult(Model):
    horse_id: str = Field(min_length=1)
    horse: str
    position: str = Field(description="'1', '2', ... or a code such as PU, F, UR, BD, DSQ.")
    finished: int | None = Field(default=None, ge=1, description="Numeric place, if it finished.")
    sp_decimal: Decimal | None = Field(default=None, gt=1)
    sp: str | None = Field(default=None, description="Industry SP as quoted, e.g. '13/8F'.")
    sp_favourite: bool = False
    beaten_lengths: Decimal | None = None
    weight_lbs: int | None = None
    jockey_id: str | None = None
    trainer_id: str | None = None
    # Added for the Racing API producers; defaults keep older events valid.
    number: int | None = None
    draw: int | None = None
    beaten_total: Decimal | None = Field(default=None, description="Lengths behind the winner.")
    bsp: Decimal | None = Field(default=None, description="Betfair starting price, if quoted.")
    sp_joint_favourite: bool = False
    owner_id: str | None = None
    prize: Decimal | None = None
    # Added for full results (issue 19); defaults keep older events valid.
    time: str | None = Field(default=None, description="Finishing time as quoted, e.g. 1:43.25.")
    official_rating: int | None = None
    rpr: int | None = None
    tsr: int | None = None
    jockey_claim_lbs: int | None = None
    headgear: str | None = None
    age: int | None = None
    jockey: str | None = None
    trainer: str | None = None
    comment: str | None = None


class Result(Event):
    race_id: str = Field(min_length=1)
    off_dt: UtcDatetime
    course_id: str | None = None
    region: str | None = None
    # Added for the Racing API producers; defaults keep older events valid.
    race_name: str | None = None
    course: str | None = None
    race_type: str | None = None
    race_class: str | None = None
    field_size: int | None = Field(default=None, ge=0, description="Runners that ran.")
    non_runners: str | None = None
    # Added for full results (issue 19); defaults keep older events valid.
    pattern: str | None = None
    distance: str | None = None
    distance_f: Decimal | None = None
    going: str | None = None
    surface: str | None = None
    age_band: str | None = None
    rating_band: str | None = None
    winning_time: str | None = None
    runners: tuple[RunnerResult, ...]
