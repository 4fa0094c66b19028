"""Live websocket stream: fan-out throughput, producer-to-client latency, idle connection memory.

The API runs as its own process (`darkhorses api`) on a fresh broker; this process is the load
generator (clients and producer), so no client work is charged to the API, and vice versa.

- ws_fanout_updates_per_s: 1,000 subscribers of one race; the producer publishes price events
  for it at a steady rate; delta frames received by all clients per second (conflated frames
  count once, and their count is reported too).
- ws_latency_p50_ms / _p99_ms: 5,000 runner prices per second (500 events x 10 runners over 10
  races), 10 subscribers of every race; latency = receive time - the event's source_time, set
  just before the producer sends it (one machine, one clock).
- ws_idle_10k_rss_mb: resident memory of the API process holding 10,000 subscribed, idle
  connections (the fd limit is raised with resource.setrlimit; children inherit it).
"""

import asyncio
import contextlib
import resource
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop
import websockets

from bench.harness import BenchInfra, bench_infra, record, runtime
from producers.publisher import EventPublisher
from schemas.base import EventSource
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.racecards import Racecard, Runner
from schemas.topics import ODDS_LIVE, RACECARDS

LADDER = [Decimal(x) for x in ("1.5", "2", "2.5", "3", "4", "5", "6", "8", "10", "13", "17")]


def _card(race_id: str, runners: int) -> Racecard:
    now = datetime.now(UTC)
    return Racecard(
        source=EventSource.SIMULATOR, source_time=now, race_id=race_id, course_id="crs_1",
        course="Ascot", region="GB", race_date=now.date(), off_dt=now, race_name="Bench Stakes",
        runners=tuple(Runner(horse_id=f"{race_id}_h{n}", horse=f"H{n}") for n in range(runners)),
    )  # fmt: skip


def _odds(race_id: str, n: int, runners: int) -> OddsSnapshot:
    return OddsSnapshot(
        source=EventSource.SIMULATOR, source_time=datetime.now(UTC), race_id=race_id,
        bookmaker_id=f"book{n % 20}", bookmaker=f"Book {n % 20}",
        prices=tuple(
            RunnerPrice(horse_id=f"{race_id}_h{r}", decimal=LADDER[(n + r) % len(LADDER)])
            for r in range(runners)
        ),
    )  # fmt: skip


async def _publish_at(infra: BenchInfra, races: list[str], per_s: float, seconds: float,
                      runners: int) -> int:  # fmt: skip
    sent = 0
    async with EventPublisher(infra.kafka_bootstrap, linger_ms=1) as publisher:
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            due = int(elapsed * per_s)
            while sent < due:
                await publisher.publish(ODDS_LIVE, _odds(races[sent % len(races)], sent, runners))
                sent += 1
            await asyncio.sleep(0.002)
        await publisher.flush()
    return sent


async def _setup(infra: BenchInfra, races: list[str], runners: int) -> None:
    async with EventPublisher(infra.kafka_bootstrap) as publisher:
        for race in races:
            await publisher.publish(RACECARDS, _card(race, runners))
            await publisher.publish(ODDS_LIVE, _odds(race, 0, runners))
        await publisher.flush()


async def _connect(url: str, request: dict[str, Any]) -> Any:
    # From 127.0.0.2: the thousands of client source ports then never collide with a port
    # someone binds on 127.0.0.1 (other checkouts' brokers and databases).
    ws = await websockets.connect(url, max_size=None, ping_interval=None, open_timeout=120,
                                  local_addr=("127.0.0.2", 0))  # fmt: skip
    await ws.send(orjson.dumps({"op": "subscribe", **request}).decode())
    return ws


class Counter:
    def __init__(self) -> None:
        self.deltas = 0
        self.conflated = 0
        self.snapshots = 0
        self.acks = 0
        self.first: float | None = None
        self.last = 0.0
        self.latencies: list[float] = []


async def _listen(ws: Any, counter: Counter, latency: bool) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for message in ws:
            now = time.time()
            text = str(message)
            deltas = text.count('"type":"delta"')
            counter.snapshots += text.count('"type":"snapshot"')
            counter.acks += text.count('"type":"status"')
            if deltas:
                counter.deltas += deltas
                counter.conflated += text.count('"conflated":true')
                counter.first = counter.first or time.perf_counter()
                counter.last = time.perf_counter()
                if latency:
                    for line in text.split("\n"):
                        frame = orjson.loads(line)
                        if frame["type"] == "delta" and frame["prices"]:
                            sent = datetime.fromisoformat(frame["prices"][0]["source_time"])
                            counter.latencies.append((now - sent.timestamp()) * 1000)


async def _wait(predicate: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def fanout(infra: BenchInfra, url: str, clients: int = 1000) -> dict[str, float]:
    race = "rac_benchfan"
    await _setup(infra, [race], 8)
    counter = Counter()
    sockets = []
    request = {"sub_id": "f", "filter": {"races": [race]}, "fields": ["best", "prices"]}
    for batch in range(0, clients, 100):
        sockets += await asyncio.gather(
            *[_connect(url, request) for _ in range(batch, min(batch + 100, clients))]
        )
    tasks = [asyncio.create_task(_listen(ws, counter, False)) for ws in sockets]
    await _wait(lambda: counter.snapshots >= clients, 120)
    per_s, seconds = 150, 10.0
    sent = await _publish_at(infra, [race], per_s, seconds, 8)
    await _wait(lambda: counter.deltas >= sent * clients, 60)
    for ws in sockets:
        ws.transport.abort()  # no TIME_WAIT left holding ports
    for task in tasks:
        task.cancel()
    elapsed = counter.last - (counter.first or counter.last)
    return {
        "ws_fanout_clients": clients,
        "ws_fanout_published_events_per_s": per_s,
        "ws_fanout_updates_per_s": counter.deltas / elapsed if elapsed else 0.0,
        "ws_fanout_delivered_pct": 100 * counter.deltas / (sent * clients),
        "ws_fanout_conflated_frames": counter.conflated,
    }


async def latency(infra: BenchInfra, url: str) -> dict[str, float]:
    races = [f"rac_benchlat{n}" for n in range(10)]
    await _setup(infra, races, 10)
    counter = Counter()
    sockets = [await _connect(url, {"sub_id": "l", "filter": {"races": races}}) for _ in range(10)]
    tasks = [asyncio.create_task(_listen(ws, counter, True)) for ws in sockets]
    await _wait(lambda: counter.snapshots >= 10 * len(races), 60)
    sent = await _publish_at(infra, races, 500, 10.0, 10)  # 500 events x 10 runners = 5,000/s
    await _wait(lambda: counter.deltas >= sent * 10, 30)
    for ws in sockets:
        ws.transport.abort()  # no TIME_WAIT left holding ports
    for task in tasks:
        task.cancel()
    samples = sorted(counter.latencies)
    return {
        "ws_latency_prices_per_s": 5000,
        "ws_latency_p50_ms": statistics.median(samples),
        "ws_latency_p99_ms": samples[int(len(samples) * 0.99) - 1],
        "ws_latency_samples": len(samples),
    }


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def idle(url: str, api_pid: int, clients: int = 10_000) -> dict[str, float]:
    before = _rss_mb(api_pid)
    sockets: list[Any] = []
    request = {"sub_id": "i", "filter": {"races": ["rac_benchidle"]}, "fields": ["best"]}
    for batch in range(0, clients, 200):
        sockets += await asyncio.gather(
            *[_connect(url, request) for _ in range(batch, min(batch + 200, clients))]
        )
    counter = Counter()
    tasks = [asyncio.create_task(_listen(ws, counter, False)) for ws in sockets]
    await _wait(lambda: counter.acks >= clients, 120)
    await asyncio.sleep(2)
    held = _rss_mb(api_pid)
    async with httpx.AsyncClient() as http:
        status = (
            await http.get(
                url.replace("ws://", "http://").replace("/v1/stream", "/v1/stream/status")
            )
        ).json()
    for ws in sockets:
        ws.transport.abort()
    for task in tasks:
        task.cancel()
    return {
        "ws_idle_connections": status["connections"],
        "ws_idle_10k_rss_mb": held,
        "ws_idle_baseline_rss_mb": before,
    }


def _wait_ready(base: str, api: Any) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if api.poll() is not None:
            raise RuntimeError("API exited")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health", timeout=2).json().get("stream") == "ready":
                return
        time.sleep(0.2)
    raise TimeoutError("API not ready")


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 25_000), hard), hard))
    figures: dict[str, float] = {}
    with bench_infra() as infra:
        port = int(infra.kafka_bootstrap.rsplit(":", 1)[1]) + 8
        env = infra.env(DARKHORSES_API_PORT=str(port), DARKHORSES_STREAM_HEARTBEAT_MS="30000")
        with runtime(["api"], env, infra.home / "api.log") as api:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base, api)
            url = f"ws://127.0.0.1:{port}/v1/stream"
            # Idle first, on a fresh process: what 10k connections cost, not earlier churn.
            figures.update(uvloop.run(idle(url, api.pid)))
            figures.update(uvloop.run(fanout(infra, url)))
            figures.update(uvloop.run(latency(infra, url)))
    record(figures)


if __name__ == "__main__":
    main()
