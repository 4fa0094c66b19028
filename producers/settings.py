"""Settings for the producer runtimes (`darkhorses produce ...`, `record`, `replay`)."""

from datetime import datetime

from pydantic import AwareDatetime, Field
from pydantic_settings import SettingsConfigDict

from darkhorses.settings import ConnectionSettings


class SimulatorSettings(ConnectionSettings):
    model_config = SettingsConfigDict(env_prefix="DARKHORSES_SIM_", env_file=".env", extra="ignore")

    seed: int = 1
    start: AwareDatetime | None = Field(
        default=None,
        description="Simulated start instant (default: now); fix it with the seed to replay a day.",
    )
    races: int = Field(default=12, ge=1, description="Races kept on the card ahead of the off.")
    meetings: int = Field(default=4, ge=1, le=14, description="Courses racing side by side.")
    bookmakers: int = Field(default=24, ge=1, le=37)
    tick_s: float = Field(default=1.0, gt=0, description="Real seconds between market ticks.")
    compression: float = Field(
        default=1.0, gt=0, description="Simulated seconds per real second (10 = ten times faster)."
    )
    max_ticks: int | None = Field(default=None, ge=0, description="Stop after this many ticks.")
    load_rate: float | None = Field(
        default=None, gt=0, description="Load mode: target price updates per second."
    )
    load_duration_s: float | None = Field(
        default=None, gt=0, description="Load mode: stop after this many seconds."
    )

    def start_time(self, now: datetime) -> datetime:
        return self.start if self.start is not None else now
