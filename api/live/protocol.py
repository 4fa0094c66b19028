"""Client requests (`op` frames), parsed strictly; every problem becomes a `ProtocolError`.

Server frames are built where they are sent; their shapes are documented in the AsyncAPI
document (api/asyncapi.py). A websocket message from the server carries one or more frames,
newline-separated (one JSON object per line), so a busy stream costs one send per batch.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from api.live.errors import ErrorCode, ProtocolError
from schemas.base import UtcDatetime


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
    off_from: UtcDatetime | None = None
    off_to: UtcDatetime | None = None
    bookmakers: Ids | None = None

    @property
    def needs_card(self) -> bool:
        return any(
            v is not None
            for v in (self.courses, self.regions, self.race_types, self.off_from, self.off_to)
        )


class Replay(Request):
    from_: UtcDatetime = Field(alias="from")
    to: UtcDatetime | None = None
    speed: float = Field(default=0.0, ge=0, le=1000, description="0 = as fast as possible.")


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
    try:
        return _adapter.validate_python(raw)
    except ValidationError as error:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"]}
            for e in error.errors()
        ]
        fields = ", ".join(p["field"] or "frame" for p in problems)
        raise ProtocolError(
            f"invalid {raw['op']} frame: {fields}",
            code=ErrorCode.INVALID_FRAME,
            problems=problems,
            request_id=raw.get("id") if isinstance(raw.get("id"), str) else None,
        ) from error


def off_time_matches(off: datetime, flt: Filter) -> bool:
    return (flt.off_from is None or off >= flt.off_from) and (
        flt.off_to is None or off <= flt.off_to
    )
