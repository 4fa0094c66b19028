"""Helpers for the websocket integration tests: an API child process, events, oracles."""

import asyncio
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from producers.publisher import EventPublisher
from schemas.base import EventSource
from schemas.market import MarketState, MarketStatus
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.racecards import Racecard, Runner
from schemas.topics import MARKET_STATE, ODDS_LIVE, RACECARDS
from tests.conftest import ApiProcess, Infra, free_port, start_runtime, wait_for_ready
from tests.kafka_helpers import read_all

BOOKMAKERS = (
    ("bet365", "Bet365"),
    ("william_hill", "William Hill"),
    ("paddy_power", "Paddy Power"),
)
LADDER = ("1.5", "2", "2.25", "2.5", "3", "3.5", "4", "5", "6", "8", "10", "13", "17", "21")


@contextmanager
def api_process(
    infra: Infra, artifacts: Path, port: int | None = None, **env: str
) -> Iterator[ApiProcess]:
    port = port or free_port()
    runtime = start_runtime(
        ["api"],
        infra.env(DARKHORSES_API_PORT=str(port), **env),
        artifacts / f"ws-api-{port}-{uuid.uuid4().hex[:4]}.log",
    )
    try:
        wait_for_ready(f"http://127.0.0.1:{port}", runtime)
        yield ApiProcess(runtime, f"http://127.0.0.1:{port}")
    finally:
        runtime.stop()


@dataclass
class Race:
    race_id: str
    horses: tuple[str, ...]

    @classmethod
    def new(cls, runners: int = 5) -> "Race":
        race_id = f"rac_ws{uuid.uuid4().hex[:10]}"
        return cls(race_id, tuple(f"hrs_{race_id[4:]}_{n}" for n in range(runners)))

    def card(self) -> Racecard:
        off = datetime.now(UTC) + timedelta(hours=1)
        return Racecard(
            source=EventSource.SIMULATOR, source_time=datetime.now(UTC), race_id=self.race_id,
            course_id="crs_26", course="Cheltenham", region="GB", race_date=off.date(),
            off_dt=off, race_name="Test Handicap", race_type="Flat",
            runners=tuple(Runner(horse_id=h, horse=h.title()) for h in self.horses),
        )  # fmt: skip

    def odds(self, n: int, full: bool = False) -> OddsSnapshot:
        """The n-th price event: deterministic, every bookmaker and runner in turn (or, if
        `full`, one bookmaker's whole field)."""
        bookmaker_id, name = BOOKMAKERS[n % len(BOOKMAKERS)]
        horses = self.horses if full else (self.horses[(n // len(BOOKMAKERS)) % len(self.horses)],)
        return OddsSnapshot(
            source=EventSource.SIMULATOR, source_time=datetime.now(UTC), race_id=self.race_id,
            bookmaker_id=bookmaker_id, bookmaker=name,
            prices=tuple(
                RunnerPrice(horse_id=h, decimal=Decimal(LADDER[(n * 7 + i) % len(LADDER)]))
                for i, h in enumerate(horses)
            ),
        )  # fmt: skip

    def market(self, status: MarketStatus) -> MarketState:
        return MarketState(
            source=EventSource.SIMULATOR, source_time=datetime.now(UTC), race_id=self.race_id,
            status=status,
        )  # fmt: skip


async def publish(
    infra: Infra, race: Race, start: int, count: int, card: bool = False, full: bool = False
) -> None:
    async with EventPublisher(infra.kafka_bootstrap) as publisher:
        if card:
            await publisher.publish(RACECARDS, race.card())
        for n in range(start, start + count):
            await publisher.publish(ODDS_LIVE, race.odds(n, full))
        await publisher.flush()


async def publish_market(infra: Infra, race: Race, status: MarketStatus) -> None:
    async with EventPublisher(infra.kafka_bootstrap) as publisher:
        await publisher.publish_and_wait(MARKET_STATE, race.market(status))


@dataclass
class Oracle:
    prices: dict[tuple[str, str, str], str | None]
    seq: int


async def oracle(infra: Infra, race: Race) -> Oracle:
    """The race's book straight from the topic: the last price per (runner, bookmaker)."""
    prices: dict[tuple[str, str, str], str | None] = {}
    seq = -1
    records = [
        r
        for r in await read_all(infra.kafka_bootstrap, ODDS_LIVE.name, idle_ms=500)
        if r.key == race.race_id.encode()
    ]
    for record in sorted(records, key=lambda r: r.offset):
        event = OddsSnapshot.model_validate_json(record.value)
        for price in event.prices:
            prices[(race.race_id, price.horse_id, event.bookmaker_id)] = (
                None if price.decimal is None else str(price.decimal)
            )
        seq = record.offset
    return Oracle(prices, seq)


async def settled(api: ApiProcess, infra: Infra, race: Race) -> None:
    """Wait until the API's hub holds the race's card and every price event on the topic, so
    a subscription's first image is deterministic."""
    expected = (await oracle(infra, race)).seq
    async with httpx.AsyncClient(base_url=api.base_url) as http:
        for _ in range(300):
            status = (await http.get("/v1/stream/status", params={"race_id": race.race_id})).json()
            held = status.get("race")
            if held and held["has_card"] and held["seq"] >= expected:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"API never caught up with {race.race_id}")


def best_of(prices: dict[tuple[str, str, str], str | None]) -> dict[str, str]:
    best: dict[str, Decimal] = {}
    for (_, horse, _), price in prices.items():
        if price is not None and (horse not in best or Decimal(price) > best[horse]):
            best[horse] = Decimal(price)
    return {horse: str(price) for horse, price in best.items()}


def subscription(race: Race, sub_id: str = "s1", **extra: Any) -> dict[str, Any]:
    return {"sub_id": sub_id, "filter": {"races": [race.race_id]},
            "fields": ["best", "prices", "analytics", "market"], **extra}  # fmt: skip


RECEIVE_BUFFER_BYTES = 16 * 1024


class RawClient:
    """A websocket client on a bare asyncio stream that reads only when told to, so the server
    sees a genuinely slow reader (the websockets client library reads ahead without limit)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.protocol = ClientProtocol(parse_uri(url))
        self.close_code: int | None = None

    async def connect(self) -> None:
        host, port = self.url.split("//")[1].split("/")[0].split(":")
        # A small receive buffer, fixed before connecting, turns off the kernel's autotuning
        # (tcp_rmem allows 32 MB here): the reader's window fills after a few frames, as a
        # genuinely slow client's would, instead of after however much the kernel lends it.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        self.reader, self.writer = await asyncio.open_connection(sock=sock)
        self.protocol.send_request(self.protocol.connect())
        await self._flush()
        while not self.protocol.events_received():
            self.protocol.receive_data(await self.reader.read(4096))

    async def send(self, frame: dict[str, Any]) -> None:
        self.protocol.send_text(orjson.dumps(frame))
        await self._flush()

    async def _flush(self) -> None:
        self.writer.write(b"".join(self.protocol.data_to_send()))
        await self.writer.drain()

    async def read_until_closed(self) -> list[dict[str, Any]]:
        frames: list[dict[str, Any]] = []
        while self.close_code is None:
            data = await self.reader.read(65536)
            if not data:
                break
            self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                    frames.extend(orjson.loads(line) for line in bytes(event.data).split(b"\n"))
                elif isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                    self.close_code = (
                        self.protocol.close_rcvd.code if self.protocol.close_rcvd else None
                    )
        self.writer.close()
        return frames
