"""How often to poll a race: the nearer its off, the more often (domain.md section 3)."""

from datetime import datetime, timedelta

from producers.racing_api.settings import RacingApiProducerSettings


def poll_interval_s(off_dt: datetime, now: datetime, settings: RacingApiProducerSettings) -> float:
    """<= 5 min to the off: 10 s; <= 30 min: 60 s; <= 2 h: 5 min; else 15 min (configurable)."""
    to_off = off_dt - now
    if to_off <= timedelta(minutes=5):
        return settings.poll_at_post_s
    if to_off <= timedelta(minutes=30):
        return settings.poll_going_to_post_s
    if to_off <= timedelta(hours=2):
        return settings.poll_pre_race_s
    return settings.poll_early_s


_BANDS = (timedelta(hours=2), timedelta(minutes=30), timedelta(minutes=5))


def next_poll_at(off_dt: datetime, now: datetime, settings: RacingApiProducerSettings) -> datetime:
    """The next poll: one interval on, but no later than the start of the next faster band."""
    due = now + timedelta(seconds=poll_interval_s(off_dt, now, settings))
    for band in _BANDS:
        starts = off_dt - band
        if now < starts < due:
            return starts
    return due
