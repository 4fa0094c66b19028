"""The API's error tree and its single mapping to HTTP.

    ApiError
     ├── NotFoundError (404)
     └── InvalidParameterError (422, names the field)

Every error body is `{"error": {"code": ..., "message": ..., "detail": ...}}`; validation errors
are 422 naming the bad field. No stack trace ever reaches a client.
"""

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


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
}


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "detail": detail}}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, error: ApiError) -> JSONResponse:
        detail = getattr(error, "problems", None) or error.detail or None
        return JSONResponse(
            error_body(error.code, error.message, detail), status_code=error.status_code
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
