"""Settings of the Racing API producers (`darkhorses produce live|historical|reference`)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from darkhorses.settings import ConnectionSettings


class RacingApiProducerSettings(ConnectionSettings):
    """Producer behaviour; credentials and base URL come from `RacingApiSettings` (RACING_API_*)."""

    model_config = SettingsConfigDict(
        env_prefix="DARKHORSES_RA_", env_file=".env", extra="ignore", frozen=True
    )

    regions: str = Field(default="gb,ire", description="Comma-separated region codes.")
    list_rate_per_s: float = Field(default=2.0, gt=0, description="Racecard/result list calls.")
    race_rate_per_s: float = Field(default=5.0, gt=0, description="Single-race/entity calls.")
    timeout_s: float = Field(default=20.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    backoff_s: float = Field(default=1.0, ge=0, description="First retry delay; doubles.")
    max_backoff_s: float = Field(default=60.0, ge=0)
    # Live polling cadence by minutes to the off (domain.md section 3).
    poll_at_post_s: float = Field(default=10.0, gt=0, description="<= 5 min to the off.")
    poll_going_to_post_s: float = Field(default=60.0, gt=0, description="<= 30 min.")
    poll_pre_race_s: float = Field(default=300.0, gt=0, description="<= 2 h.")
    poll_early_s: float = Field(default=900.0, gt=0, description="Further out.")
    refresh_cards_s: float = Field(default=900.0, gt=0, description="Re-list today+tomorrow.")
    result_poll_s: float = Field(default=120.0, gt=0, description="Ask for a result once off.")
    result_give_up_h: float = Field(default=6.0, gt=0, description="Stop waiting for a result.")
    max_cycles: int | None = Field(default=None, ge=1, description="Stop after N cycles.")
    checkpoint_path: Path = Field(
        default=Path(".cache/historical-checkpoint.json"),
        description="Completed dates of the historical producer.",
    )

    @property
    def region_codes(self) -> list[str]:
        return [code.strip().lower() for code in self.regions.split(",") if code.strip()]
