"""A stand-in for The Racing API serving recorded payloads, for tests.

`StubState` holds the cards it serves (the recorded 2025-10-14 page moved to today, offs shifted
into the future) and counts requests. `handle` answers an `httpx.Request` (for
`httpx.MockTransport`); `starlette_app` serves the same state over real HTTP (for uvicorn).
"""

import copy
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

RESOURCES = Path(__file__).parent / "resources" / "racing_api"
UK = ZoneInfo("Europe/London")


def sample(name: str) -> Any:
    return json.loads((RESOURCES / name).read_text())


def cards_for_today(
    now: datetime, offsets_min: tuple[int, ...] = (90, 200)
) -> list[dict[str, Any]]:
    """The recorded pro cards, moved to today with offs `offsets_min` minutes from `now`."""
    cards: list[dict[str, Any]] = copy.deepcopy(
        sample("racecards_pro_2025-10-14.json")["racecards"]
    )
    for card, minutes in zip(cards, offsets_min, strict=True):
        off = (now + timedelta(minutes=minutes)).astimezone(UK).replace(microsecond=0)
        card["off_dt"] = off.isoformat()
        card["date"] = off.date().isoformat()
        stamp = now.astimezone(UK).strftime("%Y-%m-%d %H:%M:%S")
        for runner in card["runners"]:
            for odds in runner.get("odds") or []:
                odds["updated"] = stamp
    return cards


@dataclass
class StubState:
    cards: dict[str, dict[str, Any]]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    broken: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    @classmethod
    def today(cls, now: datetime | None = None) -> "StubState":
        cards = cards_for_today(now or datetime.now(UTC))
        return cls({card["race_id"]: card for card in cards})

    def odds(self, race_id: str, runner: int, book: int) -> dict[str, Any]:
        odds: dict[str, Any] = self.cards[race_id]["runners"][runner]["odds"][book]
        return odds

    def set_price(
        self, race_id: str, runner: int, book: int, decimal: str, fractional: str
    ) -> None:
        odds = self.odds(race_id, runner, book)
        odds.update(decimal=decimal, fractional=fractional)
        odds["updated"] = datetime.now(UTC).astimezone(UK).strftime("%Y-%m-%d %H:%M:%S")

    def answer(self, path: str, params: dict[str, list[str]]) -> tuple[int, Any]:
        self.requests[path] += 1
        if path in self.broken:
            return self.broken[path][0], self.broken[path][1]
        if path.endswith("/racecards/pro"):
            day = params.get("date", [""])[0]
            cards = [c for c in self.cards.values() if c["date"] == day]
            return 200, {"racecards": cards, "total": len(cards), "limit": 500, "skip": 0,
                         "query": [["date", day]]}  # fmt: skip
        parts = path.rstrip("/").split("/")
        if len(parts) >= 3 and parts[-3] == "racecards" and parts[-1] == "pro":
            card = self.cards.get(parts[-2])
            return (200, card) if card is not None else (404, {"detail": "not found"})
        if len(parts) >= 2 and parts[-2] == "results":
            result = self.results.get(parts[-1])
            return (200, result) if result is not None else (404, {"detail": "not found"})
        return 404, {"detail": f"no route {path}"}

    def handle(self, request: httpx.Request) -> httpx.Response:
        params: dict[str, list[str]] = {}
        for key, value in request.url.params.multi_items():
            params.setdefault(key, []).append(value)
        status, body = self.answer(request.url.path, params)
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)


def starlette_app(state: StubState) -> Starlette:
    async def endpoint(request: Request) -> Response:
        params: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            params.setdefault(key, []).append(value)
        status, body = state.answer(request.url.path, params)
        if isinstance(body, bytes):
            return Response(body, status_code=status)
        return JSONResponse(body, status_code=status)

    return Starlette(routes=[Route("/{path:path}", endpoint)])
