"""The Racing API's response documents, field for field (openapi.yml), as lenient pydantic models.

Upstream types every number as a string, so these models keep strings and `normalise` types them.
Only identities (`race_id`, `horse_id`, `bookmaker`...) are required: a document missing one can
not be placed and is rejected (counted and skipped by the caller); every other field may be
absent or null. Each level (race, runner, price) is validated on its own, so one bad runner or
price never costs the rest of the card.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Upstream(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class OddsTick(Upstream):
    """One entry of a price's `history[]`."""

    changed_at: str | None = None
    fractional: str | None = None
    decimal: str | None = None


class Odds(Upstream):
    """`OddsHistory`: one bookmaker's price for one runner."""

    bookmaker: str = Field(min_length=1)
    fractional: str | None = None
    decimal: str | None = None
    ew_places: str | None = None
    ew_denom: str | None = None
    updated: str | None = None
    history: list[dict[str, Any]] | None = None


class Trainer14Days(Upstream):
    runs: str | None = None
    wins: str | None = None
    percent: str | None = None


class PrevTrainer(Upstream):
    trainer: str | None = None
    trainer_id: str | None = None
    change_date: str | None = None


class PrevOwner(Upstream):
    owner: str | None = None
    owner_id: str | None = None
    change_date: str | None = None


class Quote(Upstream):
    date: str | None = None
    horse: str | None = None
    horse_id: str | None = None
    race: str | None = None
    race_id: str | None = None
    course: str | None = None
    course_id: str | None = None
    distance_f: str | None = None
    distance_y: str | None = None
    quote: str | None = None


class Medical(Upstream):
    date: str | None = None
    type: str | None = None


class StableTour(Upstream):
    quote: str | None = None


class CardRunner(Upstream):
    """`RunnerOddsPro`; `odds` stays raw so each price is validated (and rejected) on its own."""

    horse_id: str = Field(min_length=1)
    horse: str = ""
    dob: str | None = None
    age: str | None = None
    sex: str | None = None
    sex_code: str | None = None
    colour: str | None = None
    region: str | None = None
    breeder: str | None = None
    dam: str | None = None
    dam_id: str | None = None
    dam_region: str | None = None
    sire: str | None = None
    sire_id: str | None = None
    sire_region: str | None = None
    damsire: str | None = None
    damsire_id: str | None = None
    damsire_region: str | None = None
    trainer: str | None = None
    trainer_id: str | None = None
    trainer_location: str | None = None
    trainer_14_days: Trainer14Days | None = None
    owner: str | None = None
    owner_id: str | None = None
    prev_trainers: list[PrevTrainer] | None = None
    prev_owners: list[PrevOwner] | None = None
    comment: str | None = None
    spotlight: str | None = None
    quotes: list[Quote] | None = None
    stable_tour: list[StableTour] | None = None
    medical: list[Medical] | None = None
    number: str | None = None
    draw: str | None = None
    headgear: str | None = None
    headgear_run: str | None = None
    wind_surgery: str | None = None
    wind_surgery_run: str | None = None
    past_results_flags: list[str] | None = None
    lbs: str | None = None
    ofr: str | None = None
    rpr: str | None = None
    ts: str | None = None
    jockey: str | None = None
    jockey_id: str | None = None
    silk_url: str | None = None
    last_run: str | None = None
    form: str | None = None
    trainer_rtf: str | None = None
    odds: list[Any] | None = None


class CardRace(Upstream):
    """`RacecardOddsPro`; `runners` stays raw so each runner is validated on its own."""

    race_id: str = Field(min_length=1)
    course: str = ""
    course_id: str = Field(min_length=1)
    date: str | None = None
    off_time: str | None = None
    off_dt: str | None = None
    race_name: str = ""
    distance_round: str | None = None
    distance: str | None = None
    distance_f: str | None = None
    region: str | None = None
    pattern: str | None = None
    sex_restriction: str | None = None
    race_class: str | None = None
    type: str | None = None
    age_band: str | None = None
    rating_band: str | None = None
    prize: str | None = None
    field_size: str | None = None
    going_detailed: str | None = None
    rail_movements: str | None = None
    stalls: str | None = None
    weather: str | None = None
    going: str | None = None
    surface: str | None = None
    jumps: str | None = None
    big_race: bool | None = None
    is_abandoned: bool | None = None
    tip: str | None = None
    verdict: str | None = None
    betting_forecast: str | None = None
    race_status: str | None = None
    runners: list[Any] = Field(default_factory=list)


class ResultRunner(Upstream):
    """`RunnerStandard` of a result."""

    horse_id: str = Field(min_length=1)
    horse: str = ""
    sp: str | None = None
    sp_dec: str | None = None
    bsp: str | None = None
    number: str | None = None
    position: str | None = None
    draw: str | None = None
    btn: str | None = None
    ovr_btn: str | None = None
    age: str | None = None
    sex: str | None = None
    weight: str | None = None
    weight_lbs: str | None = None
    headgear: str | None = None
    time: str | None = None
    or_: str | None = Field(default=None, alias="or")
    rpr: str | None = None
    tsr: str | None = None
    prize: str | None = None
    jockey: str | None = None
    jockey_claim_lbs: str | None = None
    jockey_id: str | None = None
    trainer: str | None = None
    trainer_id: str | None = None
    owner: str | None = None
    owner_id: str | None = None
    sire: str | None = None
    sire_id: str | None = None
    dam: str | None = None
    dam_id: str | None = None
    damsire: str | None = None
    damsire_id: str | None = None
    comment: str | None = None
    silk_url: str | None = None


class ResultRace(Upstream):
    """`ResultStandard`."""

    race_id: str = Field(min_length=1)
    date: str | None = None
    region: str | None = None
    course: str | None = None
    course_id: str | None = None
    off: str | None = None
    off_dt: str | None = None
    race_name: str | None = None
    type: str | None = None
    class_: str | None = Field(default=None, alias="class")
    pattern: str | None = None
    rating_band: str | None = None
    age_band: str | None = None
    sex_rest: str | None = None
    dist: str | None = None
    dist_y: str | None = None
    dist_m: str | None = None
    dist_f: str | None = None
    going: str | None = None
    surface: str | None = None
    jumps: str | None = None
    winning_time_detail: str | None = None
    comments: str | None = None
    non_runners: str | None = None
    tote_win: str | None = None
    tote_pl: str | None = None
    tote_ex: str | None = None
    tote_csf: str | None = None
    tote_tricast: str | None = None
    tote_trifecta: str | None = None
    runners: list[Any] = Field(default_factory=list)


class Course(Upstream):
    id: str = Field(min_length=1)
    course: str = ""
    region_code: str | None = None
    region: str | None = None


class Region(Upstream):
    region: str = ""
    region_code: str = Field(min_length=1)


class HorsePro(Upstream):
    id: str = Field(min_length=1)
    name: str | None = None
    breeder: str | None = None
    colour: str | None = None
    colour_code: str | None = None
    dam: str | None = None
    dam_id: str | None = None
    damsire: str | None = None
    damsire_id: str | None = None
    dob: str | None = None
    sex: str | None = None
    sex_code: str | None = None
    sire: str | None = None
    sire_id: str | None = None
