"""The API's error tree and its single mapping to HTTP.

    ApiError
     ├── NotFoundError (404)
     └── InvalidParameterError (422, names the field)

Every error body is `{"error": {"code": ..., "message": ..., "detail": ...}}`; validation errors
are 422 naming the bad field. No stack trace ever reaches a client, and no error closes the
client's connection: a value the database refuses (asyncpg's DataError, SQLSTATE class 22, or a
parameter it cannot encode) is a 422, the database being unreachable is a 503, and anything else
is a logged 500 answered by `CatchAll`, since Starlette's own 500 handler re-raises and uvicorn
then drops the keep-alive connection under the client's next request.
"""

import logging
from typing import Any

import asyncpg
import orjson
from asyncpg.exceptions._base import DataError as ArgumentError  # asyncpg's client-side check
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException


class ApiError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotFoundError(ApiError):
    status_code = 404
    code = "not_found"


class InvalidParameterError(ApiError):
    status_code = 422
    code = "invalid_request"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.problems = [{"field": f"query.{field}", "message": message}]


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["no race rac_123"])
    detail: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing, unknown or revoked API key."},
    404: {"model": ErrorBody, "description": "No such resource."},
    422: {"model": ErrorBody, "description": "Invalid parameter; `detail` names the field."},
    429: {"model": ErrorBody, "description": "Rate limit exceeded; see Retry-After."},
    503: {"model": ErrorBody, "description": "The database is unavailable; see Retry-After."},
}


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "detail": detail}}


log = logging.getLogger(__name__)
HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}

# The pool could not get or keep a connection: the database is down or restarting.
UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
)


def install(app: FastAPI) -> None:
    """The exception handlers and the last-resort `CatchAll` (innermost, so it sees route errors
    before any middleware; install before adding other middleware)."""

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, error: ApiError) -> JSONResponse:
        detail = getattr(error, "problems", None) or error.detail or None
        return JSONResponse(
            error_body(error.code, error.message, detail), status_code=error.status_code
        )

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, error: HTTPException) -> JSONResponse:
        # Starlette's own: no route (404), a method the path does not take (405, with Allow).
        code = HTTP_CODES.get(error.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(error.detail)),
            status_code=error.status_code,
            headers=error.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in error.errors()
        ]
        fields = ", ".join(p["field"] for p in problems)
        return JSONResponse(
            error_body("invalid_request", f"invalid value for {fields}", problems), status_code=422
        )

    async def on_data_error(request: Request, error: Exception) -> JSONResponse:
        # Parameters are validated before any query; one still refused is a gap in that
        # validation, so it is logged to be closed, and the client told which value failed.
        log.warning("database refused a value on %s: %s", request.url.path, error)
        return JSONResponse(
            error_body(
                "invalid_request",
                f"a parameter value cannot be used: {_first_line(error)}",
            ),
            status_code=422,
        )

    # The server's (SQLSTATE class 22: out of range, bad escape, bad encoding...) and asyncpg's own
    # (a value it cannot encode for the parameter's type).
    app.add_exception_handler(asyncpg.DataError, on_data_error)
    app.add_exception_handler(ArgumentError, on_data_error)

    async def on_unavailable(request: Request, error: Exception) -> JSONResponse:
        log.error("database unavailable on %s: %r", request.url.path, error)
        return JSONResponse(
            error_body("unavailable", "the database is unavailable; retry shortly"),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, on_unavailable)
    app.add_middleware(CatchAll)


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:200]


INTERNAL_ERROR = orjson.dumps(error_body("internal_error", "internal error; it has been logged"))


class CatchAll:
    """Answers any exception a route raises with a JSON 500, logged, instead of re-raising it.

    Re-raising (what Starlette's ServerErrorMiddleware does after sending its 500) makes uvicorn
    close the connection, so a client's next request on it fails as well.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:
                raise  # half a response is out: only closing the connection can end it
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(INTERNAL_ERROR)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": INTERNAL_ERROR})


class RejectNulBytes:
    """PostgreSQL text cannot hold NUL: answer 422 before such input reaches a query."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (
            b"%00" in scope.get("query_string", b"") or "\x00" in scope["path"]
        ):
            body = orjson.dumps(
                error_body("invalid_request", "NUL characters are not allowed in requests")
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 422,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
