"""The HTTP client against `httpx.MockTransport`: auth, parameters, paging, retries, errors."""

from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from darkhorses.settings import RacingApiSettings
from producers.racing_api.client import RacingApiClient
from producers.racing_api.errors import AuthError, PayloadError, RateLimitedError, RequestError
from producers.racing_api.settings import RacingApiProducerSettings
from tests.unit.racing_api.conftest import Sleeps

Handler = Callable[[httpx.Request], httpx.Response]


def client_for(
    handler: Handler,
    settings: RacingApiProducerSettings,
    api: RacingApiSettings,
    sleeps: Sleeps,
) -> RacingApiClient:
    return RacingApiClient(api, settings, transport=httpx.MockTransport(handler), sleep=sleeps)


async def test_basic_auth_and_repeated_region_codes(
    make_settings: Any, api_settings: RacingApiSettings, sleeps: Sleeps, pro_cards: dict[str, Any]
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=pro_cards)

    async with client_for(handler, make_settings(), api_settings, sleeps) as client:
        cards = await client.racecards_pro(date(2025, 10, 14), ["gb", "ire"])
    assert len(cards) == 2
    request = seen[0]
    assert request.url.path == "/v1/racecards/pro"
    assert request.url.params.get_list("region_codes") == ["gb", "ire"]
    assert request.url.params["date"] == "2025-10-14"
    assert request.headers["authorization"] == httpx.BasicAuth("user", "secret")._auth_header


async def test_results_are_paged_50_at_a_time(
    make_settings: Any, api_settings: RacingApiSettings, sleeps: Sleeps
) -> None:
    total = 120
    skips: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        skip, limit = int(request.url.params["skip"]), int(request.url.params["limit"])
        assert limit == 50
        assert request.url.params.get_list("region") == ["gb", "ire"]
        skips.append(skip)
        batch = [{"race_id": f"rac_{i}"} for i in range(skip, min(skip + limit, total))]
        return httpx.Response(
            200, json={"results": batch, "total": total, "limit": limit, "skip": skip, "query": []}
        )

    async with client_for(handler, make_settings(), api_settings, sleeps) as client:
        results = await client.results(date(2025, 10, 7), date(2025, 10, 7), ["gb", "ire"])
    assert [r["race_id"] for r in results] == [f"rac_{i}" for i in range(total)]
    assert skips == [0, 50, 100]


async def test_429_and_5xx_are_retried_with_backoff_honouring_retry_after(
    make_settings: Any, api_settings: RacingApiSettings, sleeps: Sleeps
) -> None:
    replies = iter([
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503, text="busy"),
        httpx.Response(502),
        httpx.Response(200, json={"courses": [{"id": "crs_1", "course": "Ascot"}], "total": 1}),
    ])  # fmt: skip

    settings = make_settings(max_retries=3, list_rate_per_s=1000)
    async with client_for(lambda _: next(replies), settings, api_settings, sleeps) as client:
        courses = await client.courses(["gb"])
    assert courses == [{"id": "crs_1", "course": "Ascot"}]
    assert client.retries == 3
    retry_delays = [d for d in sleeps.delays if d >= 0.1]  # the rest are 1 ms rate-limit gaps
    assert retry_delays[0] == 7.0  # Retry-After honoured exactly
    assert 0.5 <= retry_delays[1] <= 1.0
    assert 1.0 <= retry_delays[2] <= 2.0


async def test_persistent_429_ends_in_rate_limited_error(
    make_settings: Any, api_settings: RacingApiSettings, sleeps: Sleeps
) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "2"})

    async with client_for(handler, make_settings(max_retries=2), api_settings, sleeps) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.regions()
    assert caught.value.retry_after_s == 2.0
    assert client.requests == 3


async def test_401_stops_at_once_naming_the_variables(
    make_settings: Any, api_settings: RacingApiSettings, sleeps: Sleeps
) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "Not authenticated"})

    async with client_for(handler, make_settings(), api_settings, sleeps) as client:
        with pytest.raises(AuthError, match="RACING_API_USERNAME and RACING_API_PASSWORD"):
            await client.racecards_pro(date(2025, 10, 14), ["gb"])
    assert client.requests == 1
    assert client.retries == 0


@pytest.mark.parametrize(
    "body",
    [b"<html><body>502 Bad Gateway</body></html>", b'{"racecards": [{"race_id": "rac_1"', b""],
)
async def test_html_and_truncated_bodies_are_payload_errors(
    body: bytes, make_settings: Any, api_settings: RacingApiSettings, sleeps: Sleeps
) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/html"})

    async with client_for(handler, make_settings(), api_settings, sleeps) as client:
        with pytest.raises(PayloadError, match="not JSON"):
            await client.racecards_pro(date(2025, 10, 14), ["gb"])


async def test_404_on_a_single_race_is_none_and_422_is_not_retried(
    make_settings: Any, api_settings: RacingApiSettings, sleeps: Sleeps
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404 if "racecards" in request.url.path else 422, text="nope")

    async with client_for(handler, make_settings(), api_settings, sleeps) as client:
        assert await client.racecard_pro("rac_1") is None
        with pytest.raises(RequestError) as caught:
            await client.horse_pro("hrs_1")
    assert caught.value.status == 422
    assert not caught.value.retriable
    assert client.retries == 0


async def test_transport_errors_are_retried(
    make_settings: Any, api_settings: RacingApiSettings, sleeps: Sleeps
) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json=[{"region": "Great Britain", "region_code": "gb"}])

    async with client_for(handler, make_settings(), api_settings, sleeps) as client:
        assert await client.regions() == [{"region": "Great Britain", "region_code": "gb"}]
    assert client.retries == 1


async def test_list_calls_are_spaced_to_the_rate_limit(
    make_settings: Any, api_settings: RacingApiSettings, sleeps: Sleeps
) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[])

    async with client_for(
        handler, make_settings(list_rate_per_s=2.0), api_settings, sleeps
    ) as client:
        for _ in range(3):
            await client.regions()
    # Three back-to-back calls at 2/s: the 2nd waits ~0.5 s, the 3rd ~1 s.
    assert len(sleeps.delays) == 2
    assert 0.4 < sleeps.delays[0] <= 0.5
    assert 0.9 < sleeps.delays[1] <= 1.0
