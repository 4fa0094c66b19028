"""The streams' clock: instants as integer microseconds since the Unix epoch (exact, cheap to
compare, store and encode)."""

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000


def micros(instant: datetime) -> int:
    """An aware datetime as microseconds since the epoch, exactly."""
    since = instant - EPOCH
    return since.days * 86_400_000_000 + since.seconds * US + since.microseconds


def instant(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)
