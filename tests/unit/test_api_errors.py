"""The API's error handling (api/errors.py) on a real uvicorn server: whatever a route raises,
the client gets a JSON error and keeps its keep-alive connection for the next request."""

import asyncio
import http.client
import logging
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest
import uvicorn
from asyncpg.exceptions._base import DataError as ArgumentError
from fastapi import FastAPI

from api import errors


def _app() -> FastAPI:
    app = FastAPI()
    errors.install(app)
    app.add_middleware(errors.RejectNulBytes)

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("a bug")

    @app.get("/overflow")
    async def overflow() -> None:
        raise OverflowError("date value out of range")

    @app.get("/refused")
    async def refused() -> None:
        raise asyncpg.InvalidEscapeSequenceError("LIKE pattern must not end with escape character")

    @app.get("/unencodable")
    async def unencodable() -> None:
        raise ArgumentError("invalid input for query argument $1: 1e400 (value out of range)")

    @app.get("/down")
    async def down() -> None:
        raise ConnectionRefusedError("connection refused")

    @app.get("/shutdown")
    async def shutdown() -> None:
        raise asyncpg.AdminShutdownError("terminating connection due to administrator command")

    return app


@pytest.fixture
async def port() -> AsyncIterator[int]:
    config = uvicorn.Config(_app(), host="127.0.0.1", port=0, lifespan="off", log_level="critical")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), serving
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await serving


def _exchange(port: int, targets: list[str]) -> list[tuple[int, dict[str, object]]]:
    """Each target in turn on one connection; fails if the server closes it in between."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.connect()
    socket = connection.sock
    answers = []
    try:
        for target in targets:
            connection.request("GET", target)
            response = connection.getresponse()
            body = orjson.loads(response.read())
            assert connection.sock is socket, f"closed after {target}"
            assert response.getheader("content-type") == "application/json"
            answers.append((response.status, body))
    finally:
        connection.close()
    return answers


async def test_every_error_is_json_and_the_connection_survives(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    targets = ["/bug", "/ok", "/overflow", "/refused", "/unencodable", "/down", "/shutdown"]
    targets += ["/ok?x=%00", "/nothing", "/ok"]
    with caplog.at_level(logging.WARNING, logger="api.errors"):
        answers = await asyncio.to_thread(_exchange, port, targets)
    statuses = [status for status, _ in answers]
    assert statuses == [500, 200, 500, 422, 422, 503, 503, 422, 404, 200]
    codes = [body["error"]["code"] for _, body in answers if "error" in body]  # type: ignore[index]
    assert codes == [
        "internal_error", "internal_error", "invalid_request", "invalid_request", "unavailable",
        "unavailable", "invalid_request", "not_found",
    ]  # fmt: skip
    bug = answers[0][1]["error"]
    assert "a bug" not in orjson.dumps(bug).decode()  # nothing of the failure reaches the client
    refused = answers[3][1]["error"]
    assert "LIKE pattern must not end with escape character" in refused["message"]  # type: ignore[index]
    logged = [record.getMessage() for record in caplog.records]
    assert any("unhandled error on GET /bug" in line for line in logged)
    assert any("database refused a value on /refused" in line for line in logged)
