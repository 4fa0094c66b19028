"""Client requests (`op` frames), parsed strictly; every problem becomes a `ProtocolError`.

Server frames are built where they are sent; their shapes are documented in the AsyncAPI
document (api/asyncapi.py). A websocket message from the server carries one or more frames,
newline-separated (one JSON object per line), so a busy stream costs one send per batch.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from api.live.errors import ErrorCode, ProtocolError


def _iso_text(value: object) -> object:
    # JSON numbers would otherwise pass as Unix times: `"off_to": 0` is a mistake, not 1970.
    if not isinstance(value, str | datetime):
        raise ValueError("expected an ISO 8601 date-time with an offset, as a string")  # noqa: TRY004 (pydantic reports ValueError as a field error)
    return value


def _to_utc(value: datetime) -> datetime:
    # e.g. 0001-01-01T00:00:00+14:00 is before datetime.min in UTC: astimezone overflows, and
    # pydantic passes an OverflowError through instead of reporting the field.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("datetime out of range once converted to UTC") from None


Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_to_utc)]
"""An instant from a client frame: offset-aware, as UTC; out-of-range values are field errors."""


class Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = Field(default=None, max_length=64, description="Echoed in the reply.")


class OddsFormat(StrEnum):
    DECIMAL = "decimal"
    FRACTIONAL = "fractional"
    PROBABILITY = "probability"


class DataField(StrEnum):
    BEST = "best"
    PRICES = "prices"
    ANALYTICS = "analytics"
    MARKET = "market"


DEFAULT_FIELDS = (DataField.BEST, DataField.PRICES, DataField.MARKET)
Ids = Annotated[
    frozenset[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=500)
]


class Filter(Request):
    races: Ids | None = None
    courses: Ids | None = Field(default=None, description="Course ids or names.")
    regions: Ids | None = Field(default=None, description="Region codes, e.g. GB, IRE.")
    race_types: Ids | None = None
    off_from: Instant | None = None
    off_to: Instant | None = None
    bookmakers: Ids | None = None

    @property
    def needs_card(self) -> bool:
        return any(
            v is not None
            for v in (self.courses, self.regions, self.race_types, self.off_from, self.off_to)
        )


class Replay(Request):
    from_: Instant = Field(alias="from")
    to: Instant | None = None
    speed: float = Field(default=0.0, ge=0, le=1000, description="0 = as fast as possible.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.to is not None and self.to < self.from_:
            raise ValueError("`to` is before `from`")
        return self


class Auth(Request):
    op: Literal["auth"]
    api_key: str | None = Field(default=None, max_length=256)
    token: str | None = Field(default=None, max_length=1024)


class Subscribe(Request):
    op: Literal["subscribe"]
    sub_id: str = Field(min_length=1, max_length=64)
    filter: Filter = Filter()
    fields: frozenset[DataField] = frozenset(DEFAULT_FIELDS)
    format: OddsFormat = OddsFormat.DECIMAL
    conflate_ms: int = Field(default=0, ge=0)
    resume_token: str | None = Field(default=None, max_length=4096)
    replay: Replay | None = None


class Unsubscribe(Request):
    op: Literal["unsubscribe"]
    sub_id: str = Field(min_length=1, max_length=64)


class Resync(Request):
    op: Literal["resync"]
    sub_id: str = Field(min_length=1, max_length=64)
    race_id: str = Field(min_length=1, max_length=64)


class Ping(Request):
    op: Literal["ping"]


ClientFrame = Annotated[Auth | Subscribe | Unsubscribe | Resync | Ping, Field(discriminator="op")]
_adapter: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
OPS = ("auth", "subscribe", "unsubscribe", "resync", "ping")


def parse(text: str | bytes, max_bytes: int) -> ClientFrame:
    """One client frame, or a `ProtocolError` saying exactly what is wrong with it."""
    if len(text) > max_bytes:
        raise ProtocolError(
            f"frame of {len(text)} bytes exceeds the {max_bytes}-byte limit",
            code=ErrorCode.FRAME_TOO_LARGE,
        )
    try:
        raw: Any = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ProtocolError(f"not JSON: {error}", code=ErrorCode.INVALID_JSON) from error
    if not isinstance(raw, dict):
        raise ProtocolError("a frame is a JSON object", code=ErrorCode.INVALID_FRAME)
    if raw.get("op") not in OPS:
        raise ProtocolError(
            f"unknown op {raw.get('op')!r}; expected one of {', '.join(OPS)}",
            code=ErrorCode.UNKNOWN_OP,
            request_id=raw.get("id") if isinstance(raw.get("id"), str) else None,
        )
    request_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    try:
        return _adapter.validate_python(raw)
    except ValidationError as error:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)
        ]
        fields = ", ".join(p["field"] or "frame" for p in problems)
        raise ProtocolError(
            f"invalid {raw['op']} frame: {fields}",
            code=ErrorCode.INVALID_FRAME,
            problems=problems,
            request_id=request_id,
        ) from error
    except (ValueError, TypeError, ArithmeticError) as error:
        # What a validator raised that pydantic does not report as a field error: still the
        # client's bad input, answered with an error frame, never a dropped connection.
        raise ProtocolError(
            f"invalid {raw['op']} frame: {type(error).__name__}: {error}",
            code=ErrorCode.INVALID_FRAME,
            request_id=request_id,
        ) from error


def off_time_matches(off: datetime, flt: Filter) -> bool:
    return (flt.off_from is None or off >= flt.off_from) and (
        flt.off_to is None or off <= flt.off_to
    )
