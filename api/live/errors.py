"""The live stream's error tree, its error codes and its websocket close codes.

LiveError                      -> an `error` frame (`code`, `message`, `fatal`, `retry_after_ms`)
 ├── ProtocolError             bad input from the client; the connection stays open
 ├── AuthError                 missing, bad or revoked credentials; fatal, close 4001
 └── TokenError                a resume or access token that does not verify
"""

from enum import IntEnum, StrEnum
from typing import Any


class CloseCode(IntEnum):
    """Websocket close codes (4000-4999 are application codes)."""

    NORMAL = 1000
    MESSAGE_TOO_BIG = 1009
    SERVICE_RESTART = 1012  # planned shutdown; a `reconnect` frame came first
    UNAUTHORIZED = 4001
    FIRST_FRAME_TIMEOUT = 4002
    SLOW_CONSUMER = 4008  # hard queue limit passed; a `reconnect` frame carries resume tokens
    TOO_MANY_ERRORS = 4029


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    INVALID_FRAME = "invalid_frame"
    UNKNOWN_OP = "unknown_op"
    FRAME_TOO_LARGE = "frame_too_large"
    UNAUTHENTICATED = "unauthenticated"
    UNAUTHORIZED = "unauthorized"
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
    TOO_MANY_REPLAYS = "too_many_replays"
    DUPLICATE_SUB_ID = "duplicate_sub_id"
    UNKNOWN_SUB_ID = "unknown_sub_id"
    UNKNOWN_RACE = "unknown_race"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 (an error code, not a secret)
    HISTORY_UNAVAILABLE = "history_unavailable"
    INTERNAL_ERROR = "internal_error"  # a bug or an outage behind a request; the socket stays


class LiveError(Exception):
    code: ErrorCode = ErrorCode.INVALID_FRAME
    fatal = False

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        retry_after_ms: int | None = None,
        **detail: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.retry_after_ms = retry_after_ms
        self.detail = detail

    def frame(self, request_id: str | None = None) -> dict[str, Any]:
        return {
            "type": "error",
            "id": request_id,
            "code": self.code.value,
            "message": self.message,
            "fatal": self.fatal,
            "retry_after_ms": self.retry_after_ms,
            "detail": self.detail or None,
        }


class ProtocolError(LiveError):
    pass


class AuthError(LiveError):
    code = ErrorCode.UNAUTHORIZED
    fatal = True


class TokenError(LiveError):
    code = ErrorCode.INVALID_TOKEN
