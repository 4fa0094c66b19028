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
    now: datetime, offsets_min: tuple[int, ...] = (90, 200), tag: str = ""
) -> list[dict[str, Any]]:
    """The recorded pro cards, moved to today with offs `offsets_min` minutes from `now`.

    A `tag` is appended to race ids so tests sharing one broker never see each other's races.
    """
    cards: list[dict[str, Any]] = copy.deepcopy(
        sample("racecards_pro_2025-10-14.json")["racecards"]
    )
    for card, minutes in zip(cards, offsets_min, strict=True):
        card["race_id"] += tag
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
    result_pages: list[dict[str, Any]] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    broken: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    @classmethod
    def today(cls, now: datetime | None = None, tag: str = "") -> "StubState":
        cards = cards_for_today(now or datetime.now(UTC), tag=tag)
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
        if path.endswith("/courses/regions"):
            return 200, sample("courses_regions.json")
        if path.endswith("/courses"):
            return 200, sample("courses_gb.json")
        if "/horses/" in path and path.endswith("/pro"):
            horse_id = path.split("/")[-2]
            return 200, {"id": horse_id, "name": f"Horse {horse_id}", "breeder": "Stub Stud"}
        if path.endswith("/results"):
            day = params.get("start_date", [""])[0]
            skip, limit = int(params.get("skip", ["0"])[0]), int(params.get("limit", ["50"])[0])
            found = [r for r in self.result_pages if r["date"] == day]
            return 200, {"results": found[skip : skip + limit], "total": len(found),
                         "limit": limit, "skip": skip, "query": []}  # fmt: skip
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


def past_day(day: str, tag: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Recorded pro cards moved to `day`, and a result for the race with odds (finishing in card
    order, SP = Bet365's price, one runner pulled up), shaped like the recorded results."""
    cards: list[dict[str, Any]] = copy.deepcopy(
        sample("racecards_pro_2025-10-14.json")["racecards"]
    )
    template = sample("results_2025-10-07.json")["results"][0]
    results = []
    for card in cards:
        card["race_id"] += f"_{day}{tag}"
        card["date"] = day
        card["off_dt"] = f"{day}T{card['off_dt'][11:]}"
        for runner in card["runners"]:
            for odds in runner.get("odds") or []:
                odds["updated"] = f"{day} {odds['updated'][11:]}"
                odds["history"] = [
                    {"changed_at": f"{day}T09:00:00+01:00", "fractional": "20/1", "decimal": "21"}
                ]
        if not any(r.get("odds") for r in card["runners"]):
            continue
        runners = []
        for place, runner in enumerate(card["runners"], start=1):
            bet365 = runner["odds"][0]
            runners.append(template["runners"][0] | {
                "horse_id": runner["horse_id"], "horse": runner["horse"],
                "position": "PU" if place == len(card["runners"]) else str(place),
                "sp": bet365["fractional"] + ("F" if place == 1 else ""),
                "sp_dec": bet365["decimal"], "weight": "9-7", "weight_lbs": "133",
            })  # fmt: skip
        results.append(template | {
            "race_id": card["race_id"], "date": day, "off_dt": card["off_dt"],
            "course_id": card["course_id"], "course": card["course"], "runners": runners,
        })  # fmt: skip
    return cards, results
