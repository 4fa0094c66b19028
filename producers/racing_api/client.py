"""An async client for The Racing API: Basic auth, per-endpoint-class rate limits, retries.

Lists (racecards, results) are limited to 2 requests/s upstream and single-race/entity calls to
5/s; each class has its own limiter. 429 and 5xx (and transport errors) are retried with
exponential backoff, honouring `Retry-After`. 401/403 raise `AuthError` at once: retrying cannot
fix credentials. Use as `async with RacingApiClient(api, settings) as client: ...`.
"""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import date
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import httpx
import orjson

from darkhorses.settings import RacingApiSettings
from producers.racing_api.errors import (
    AuthError,
    PayloadError,
    RacingApiError,
    RateLimitedError,
    RequestError,
)
from producers.racing_api.settings import RacingApiProducerSettings

log = logging.getLogger(__name__)

Params = list[tuple[str, str | int | float | bool | None]]
Sleep = Callable[[float], Awaitable[None]]
RESULTS_PAGE = 50  # upstream allows up to 100; 50 keeps each response small and quick


class RateLimiter:
    """At most `rate` requests per second, spaced evenly (no bursts to trip Cloudflare)."""

    def __init__(self, rate_per_s: float, sleep: Sleep = asyncio.sleep) -> None:
        self._interval = 1.0 / rate_per_s
        self._next = 0.0
        self._lock = asyncio.Lock()
        self._sleep = sleep

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            await self._sleep(delay)


def retry_after_s(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (delta-seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class RacingApiClient:
    def __init__(
        self,
        api: RacingApiSettings,
        settings: RacingApiProducerSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        auth = None
        if api.username and api.password:
            auth = httpx.BasicAuth(api.username, api.password.get_secret_value())
        else:
            log.warning(
                "RACING_API_USERNAME/RACING_API_PASSWORD are not set: requests go unauthenticated"
            )
        self._http = httpx.AsyncClient(
            base_url=api.base_url.rstrip("/"),
            auth=auth,
            timeout=httpx.Timeout(settings.timeout_s),
            transport=transport,
            headers={"accept": "application/json", "user-agent": "darkhorses/0.1"},
        )
        self._settings = settings
        self._sleep = sleep
        self.lists = RateLimiter(settings.list_rate_per_s, sleep)
        self.singles = RateLimiter(settings.race_rate_per_s, sleep)
        self.requests = 0
        self.retries = 0

    async def __aenter__(self) -> Self:
        await self._http.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.__aexit__(exc_type, exc, tb)

    # -- endpoints ----------------------------------------------------------------------------

    async def racecards_pro(self, day: date, regions: list[str]) -> list[Any]:
        """Every pro racecard of `day` in `regions` (paged by limit/skip until `total`)."""
        cards: list[Any] = []
        limit = 500
        while True:
            params: Params = [("date", day.isoformat()), ("limit", limit), ("skip", len(cards))]
            params += [("region_codes", code) for code in regions]
            page = await self._get_dict("/racecards/pro", params, self.lists)
            batch = page.get("racecards") or []
            if not isinstance(batch, list):
                raise PayloadError("/racecards/pro", "racecards is not a list", str(batch))
            cards.extend(batch)
            total = page.get("total")
            if len(batch) < limit or not isinstance(total, int) or len(cards) >= total:
                return cards

    async def racecard_pro(self, race_id: str) -> dict[str, Any] | None:
        """One race's pro card; None if upstream no longer has it (404)."""
        return await self._get_optional(f"/racecards/{race_id}/pro", self.singles)

    async def results(self, start: date, end: date, regions: list[str]) -> list[Any]:
        """Every result from `start` to `end`, paging 50 at a time."""
        results: list[Any] = []
        while True:
            params: Params = [
                ("start_date", start.isoformat()), ("end_date", end.isoformat()),
                ("limit", RESULTS_PAGE), ("skip", len(results)),
            ]  # fmt: skip
            params += [("region", code) for code in regions]
            page = await self._get_dict("/results", params, self.lists)
            batch = page.get("results") or []
            if not isinstance(batch, list):
                raise PayloadError("/results", "results is not a list", str(batch))
            results.extend(batch)
            total = page.get("total")
            if len(batch) < RESULTS_PAGE or not isinstance(total, int) or len(results) >= total:
                return results

    async def result(self, race_id: str) -> dict[str, Any] | None:
        return await self._get_optional(f"/results/{race_id}", self.singles)

    async def courses(self, regions: list[str]) -> list[Any]:
        page = await self._get_dict(
            "/courses", [("region_codes", code) for code in regions], self.lists
        )
        courses = page.get("courses") or []
        if not isinstance(courses, list):
            raise PayloadError("/courses", "courses is not a list", str(courses))
        return courses

    async def regions(self) -> list[Any]:
        body = await self.get_json("/courses/regions", [], self.lists)
        if not isinstance(body, list):
            raise PayloadError("/courses/regions", "expected a list", str(body))
        return body

    async def horse_pro(self, horse_id: str) -> dict[str, Any] | None:
        return await self._get_optional(f"/horses/{horse_id}/pro", self.singles)

    # -- transport ----------------------------------------------------------------------------

    async def _get_dict(self, path: str, params: Params, limiter: RateLimiter) -> dict[str, Any]:
        body = await self.get_json(path, params, limiter)
        if not isinstance(body, dict):
            raise PayloadError(path, "expected a JSON object", str(body))
        return body

    async def _get_optional(self, path: str, limiter: RateLimiter) -> dict[str, Any] | None:
        try:
            return await self._get_dict(path, [], limiter)
        except RequestError as error:
            if error.status == 404:
                return None
            raise

    async def get_json(self, path: str, params: Params, limiter: RateLimiter) -> Any:
        """GET `path` and decode JSON, retrying 429/5xx/transport errors with backoff."""
        attempt = 0
        while True:
            await limiter.wait()
            self.requests += 1
            try:
                response = await self._http.get(path, params=params)
            except httpx.TransportError as error:
                failure: RacingApiError = RequestError(
                    None, path, f"{type(error).__name__}: {error}", retriable=True
                )
                wait = None
            else:
                if response.status_code < 300:
                    return _decode(path, response)
                failure, wait = _failure(path, response)
            if not getattr(failure, "retriable", False) or attempt >= self._settings.max_retries:
                raise failure
            delay = self._backoff(attempt, wait)
            attempt += 1
            self.retries += 1
            log.warning("%s; retry %d in %.1fs", failure, attempt, delay)
            await self._sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        base = min(self._settings.max_backoff_s, self._settings.backoff_s * 2**attempt)
        jitter: float = 0.5 + random.random() / 2  # noqa: S311 - jitter, not security
        return float(base) * jitter


def _decode(path: str, response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as error:
        raise PayloadError(
            path, f"not JSON ({error})", response.content[:200].decode(errors="replace")
        ) from None


def _failure(path: str, response: httpx.Response) -> tuple[RacingApiError, float | None]:
    status = response.status_code
    if status in (401, 403):
        return AuthError(status, str(response.url)), None
    if status == 429:
        wait = retry_after_s(response)
        return RateLimitedError(path, wait), wait
    detail = response.text[:200]
    if status >= 500:
        return RequestError(status, path, detail, retriable=True), retry_after_s(response)
    return RequestError(status, path, detail, retriable=False), None
