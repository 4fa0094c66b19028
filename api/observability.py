"""/ready and /metrics, and the request metrics middleware behind them."""

import time
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from api.access import ASGIApp, Message, Receive, Scope, Send
from api.jobs import job_metrics
from api.state import AppState

REQUESTS = Counter(
    "darkhorses_api_requests_total", "HTTP requests served.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "darkhorses_api_request_seconds",
    "HTTP request latency.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

router = APIRouter(tags=["health"])


@router.get("/ready", responses={503: {"description": "Kafka or the database is unavailable"}})
async def ready(state: AppState) -> JSONResponse:
    """Readiness: the database answers and the live stream is consuming from Kafka."""
    checks: dict[str, str] = {}
    try:
        await state.pool.fetchval("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure means not ready, reported as such
        checks["database"] = f"error: {type(error).__name__}"
    checks["kafka"] = "ok" if state.fanout.ready.is_set() else "not consuming"
    ok = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503
    )


@router.get("/metrics", response_class=Response)
async def metrics(state: AppState) -> Response:
    """Prometheus metrics of this API process, and the scheduler's jobs (from the database)."""
    try:
        jobs = await job_metrics(state.pool)
    except Exception:  # noqa: BLE001 - the process's own metrics are served whatever happens
        jobs = b""
    return Response(generate_latest() + jobs, media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # labels() hashes and locks on every call; the label sets are few, so keep the children.
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._latencies: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = str(getattr(route, "path", scope.get("route_template", "unmatched")))
            key = (str(scope["method"]), template, str(status))
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = REQUESTS.labels(*key)
            counter.inc()
            latency = self._latencies.get(template)
            if latency is None:
                latency = self._latencies[template] = LATENCY.labels(template)
            latency.observe(time.perf_counter() - started)
