"""`LiveClient`: keeps a book per subscription and race, resumes after any disconnect.

- Every data frame and heartbeat carries a resume token per subscription; the client keeps the
  latest and, on reconnect, re-subscribes with it, so the server replays exactly what was missed
  (or re-images with a `snapshot` whose `reason` says why).
- Deltas carry `seq` and `prev_seq`: `prev_seq` different from the race's last `seq` is a gap (the
  client asks `resync` and ignores the race until the new snapshot); a `seq` not above the last
  one is a duplicate (ignored). Both are counted in `stats`, which tests and monitors can read.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import websockets

log = logging.getLogger(__name__)


@dataclass
class RaceState:
    seq: int = -1
    prices: dict[tuple[str, str], str | None] = field(default_factory=dict)
    best: dict[str, str | None] = field(default_factory=dict)
    market: str | None = None
    awaiting_snapshot: bool = False


@dataclass
class Stats:
    connects: int = 0
    snapshots: int = 0
    deltas: int = 0
    conflated: int = 0
    gaps: int = 0
    duplicates: int = 0
    heartbeats: int = 0
    errors: int = 0
    reconnect_notices: int = 0
    snapshot_reasons: dict[str, int] = field(default_factory=dict)
    close_codes: list[int] = field(default_factory=list)


def frames_of(message: str | bytes) -> list[dict[str, Any]]:
    """The frames of one server message: one JSON object per line (a client that is behind
    gets several in one message)."""
    text = message.decode() if isinstance(message, bytes) else message
    return [orjson.loads(line) for line in text.split("\n") if line]


class LiveClient:
    def __init__(
        self,
        url: str,
        subscriptions: list[dict[str, Any]],
        *,
        api_key: str | None = None,
        on_frame: Callable[[dict[str, Any]], None] | None = None,
        retry_s: float = 0.2,
    ) -> None:
        self.url = url
        self.subscriptions = {s["sub_id"]: s for s in subscriptions}
        self.api_key = api_key
        self.on_frame = on_frame
        self.retry_s = retry_s
        self.books: dict[str, dict[str, RaceState]] = {sub: {} for sub in self.subscriptions}
        self.tokens: dict[str, str] = {}
        self.stats = Stats()
        self.changed = asyncio.Event()
        self._websocket: Any = None
        self._stopped = False

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, subscribe, apply frames; reconnect with resume tokens until `stop()`."""
        while not self._stopped:
            try:
                await self._session()
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake) as error:
                log.info("live stream disconnected (%s); resuming", error)
            if not self._stopped:
                await asyncio.sleep(self.retry_s)

    def stop(self) -> None:
        self._stopped = True
        self.drop()

    def drop(self) -> None:
        """Close the current connection abruptly (the client reconnects and resumes)."""
        if self._websocket is not None:
            with contextlib.suppress(Exception):
                self._websocket.transport.abort()

    async def wait_until(self, predicate: Callable[["LiveClient"], bool]) -> None:
        while not predicate(self):
            self.changed.clear()
            await self.changed.wait()

    async def _session(self) -> None:
        headers = {"X-API-Key": self.api_key} if self.api_key else None
        async with websockets.connect(
            self.url, additional_headers=headers, max_size=None, ping_interval=None
        ) as websocket:
            self._websocket = websocket
            self.stats.connects += 1
            for sub_id, spec in self.subscriptions.items():
                request = {"op": "subscribe", **spec}
                if sub_id in self.tokens:
                    request["resume_token"] = self.tokens[sub_id]
                await websocket.send(orjson.dumps(request).decode())
            try:
                async for message in websocket:
                    for frame in frames_of(message):
                        reply = self.apply(frame)
                        if reply is not None:
                            await websocket.send(orjson.dumps(reply).decode())
                        if self.on_frame is not None:
                            self.on_frame(frame)
                    self.changed.set()
            finally:
                if websocket.close_code is not None:
                    self.stats.close_codes.append(websocket.close_code)
                self._websocket = None
                self.changed.set()

    # -- state --------------------------------------------------------------------------------

    def apply(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        """Apply one frame; returns a request to send back (a `resync`) if one is needed."""
        kind = frame.get("type")
        sub_id = frame.get("sub_id")
        if sub_id is not None and frame.get("token"):
            self.tokens[sub_id] = frame["token"]
        if kind in ("heartbeat", "reconnect"):
            self.tokens.update(frame.get("tokens") or {})
            self.stats.heartbeats += kind == "heartbeat"
            self.stats.reconnect_notices += kind == "reconnect"
        elif kind == "error":
            self.stats.errors += 1
            log.warning("live stream error: %s", frame)
        elif kind == "snapshot" and sub_id in self.books:
            self._apply_snapshot(self.books[sub_id], frame)
        elif kind == "delta" and sub_id in self.books:
            return self._apply_delta(sub_id, self.books[sub_id], frame)
        elif kind == "market" and sub_id in self.books:
            race = self.books[sub_id].setdefault(frame["race_id"], RaceState())
            race.market = (frame.get("market") or {}).get("status")
        return None

    def _apply_snapshot(self, races: dict[str, RaceState], frame: dict[str, Any]) -> None:
        self.stats.snapshots += 1
        reason = frame.get("reason", "")
        self.stats.snapshot_reasons[reason] = self.stats.snapshot_reasons.get(reason, 0) + 1
        race = RaceState(seq=frame["seq"])
        for price in frame.get("prices", []):
            race.prices[(price["horse_id"], price["bookmaker_id"])] = price["price"]
        for best in frame.get("best", []):
            race.best[best["horse_id"]] = best["price"]
        market = frame.get("market")
        race.market = market.get("status") if market else None
        races[frame["race_id"]] = race

    def _apply_delta(
        self, sub_id: str, races: dict[str, RaceState], frame: dict[str, Any]
    ) -> dict[str, Any] | None:
        race_id = frame["race_id"]
        race = races.get(race_id)
        if race is None:
            race = races[race_id] = RaceState()
        if race.awaiting_snapshot:
            return None
        if frame["seq"] <= race.seq:
            self.stats.duplicates += 1
            return None
        if frame["prev_seq"] != race.seq:
            self.stats.gaps += 1
            race.awaiting_snapshot = True
            return {"op": "resync", "sub_id": sub_id, "race_id": race_id}
        self.stats.deltas += 1
        self.stats.conflated += bool(frame.get("conflated"))
        for price in frame.get("prices", []):
            race.prices[(price["horse_id"], price["bookmaker_id"])] = price["price"]
        for best in frame.get("best", []):
            race.best[best["horse_id"]] = best["price"]
        race.seq = frame["seq"]
        return None

    def prices(self, sub_id: str) -> dict[tuple[str, str, str], str | None]:
        """The reconstructed book: (race, horse, bookmaker) -> price."""
        return {
            (race_id, horse, bookmaker): price
            for race_id, race in self.books[sub_id].items()
            for (horse, bookmaker), price in race.prices.items()
        }
