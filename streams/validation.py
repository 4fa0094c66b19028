"""Validation of the records the streams consume: no content can raise anything but
`InvalidEvent`, whose reason the dead letter carries."""

from typing import Any

from schemas.base import RECORD_MAX, Model


class InvalidEvent(ValueError):
    """A record its topic's model rejects (the reason names the fields), or too large to read."""


def validate(model: type[Model], value: bytes | None) -> Any:
    """`value` as `model`, or `InvalidEvent`."""
    if value is None:
        raise InvalidEvent(f"invalid {model.__name__}: empty record (a tombstone)")
    if len(value) > RECORD_MAX:
        raise InvalidEvent(f"record of {len(value)} bytes exceeds the {RECORD_MAX}-byte limit")
    try:
        return model.model_validate_json(value)
    except (ValueError, OverflowError, RecursionError) as error:  # ValidationError included
        raise InvalidEvent(f"invalid {model.__name__}: {error}") from None
