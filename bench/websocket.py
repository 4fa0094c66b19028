"""Live websocket stream: fan-out throughput, producer-to-client latency, idle connection memory.

The API runs as its own process (`darkhorses api`) on a fresh broker; this process is the load
generator (clients and producer), so no client work is charged to the API, and vice versa.

- ws_fanout_updates_per_s: 1,000 subscribers of one race (clients spread over
  `LOADGEN_PROCESSES` processes, bench/loadgen.py); the producer publishes 150 price events a
  second for it for 10 s (each one runner's new price at one bookmaker, about 300 bytes);
  delta frames received by all clients per second, the share of them
  delivered, their p50/p99 latency, the API's CPU seconds and the load generator's.
- ws_slow_client_p99_ratio: the same load again with one more subscriber that never reads; the
  normal clients' p99 then over their p99 without it (1.0: the slow one costs them nothing).
- ws_latency_p50_ms / _p99_ms: 5,000 runner prices per second (500 events x 10 runners over 10
  races), 10 subscribers of every race; latency = receive time - the event's source_time, set
  just before the producer sends it (one machine, one clock).
- ws_idle_10k_rss_mb: resident memory of the API process holding 10,000 subscribed, idle
  connections (the fd limit is raised with resource.setrlimit; children inherit it).
"""

import asyncio
import contextlib
import os
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
from bench.loadgen import LoadGenerator, Target
from producers.publisher import EventPublisher
from schemas.base import EventSource
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.racecards import Racecard, Runner
from schemas.topics import ODDS_LIVE, RACECARDS

FANOUT_EVENTS_PER_S = 150
FANOUT_SECONDS = 10.0
LADDER = [Decimal(x) for x in ("1.5", "2", "2.5", "3", "4", "5", "6", "8", "10", "13", "17")]


def _card(race_id: str, runners: int) -> Racecard:
    now = datetime.now(UTC)
    return Racecard(
        source=EventSource.SIMULATOR, source_time=now, race_id=race_id, course_id="crs_1",
        course="Ascot", region="GB", race_date=now.date(), off_dt=now, race_name="Bench Stakes",
        runners=tuple(Runner(horse_id=f"{race_id}_h{n}", horse=f"H{n}") for n in range(runners)),
    )  # fmt: skip


def odds(race_id: str, n: int, runners: int, one: bool = False) -> OddsSnapshot:
    """The n-th price event: a bookmaker's whole field, or (`one`) one runner's new price,
    as a busy market moves (an event of about 300 bytes)."""
    horses = [n % runners] if one else range(runners)
    return OddsSnapshot(
        source=EventSource.SIMULATOR, source_time=datetime.now(UTC), race_id=race_id,
        bookmaker_id=f"book{n % 20}", bookmaker=f"Book {n % 20}",
        prices=tuple(
            RunnerPrice(horse_id=f"{race_id}_h{r}", decimal=LADDER[(n + r) % len(LADDER)])
            for r in horses
        ),
    )  # fmt: skip


async def _publish_at(infra: BenchInfra, races: list[str], per_s: float, seconds: float,
                      runners: int, one: bool = False) -> int:  # fmt: skip
    sent = 0
    async with EventPublisher(infra.kafka_bootstrap, linger_ms=1) as publisher:
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            due = int(elapsed * per_s)
            while sent < due:
                event = odds(races[sent % len(races)], sent, runners, one)
                await publisher.publish(ODDS_LIVE, event)
                sent += 1
            await asyncio.sleep(0.002)
        await publisher.flush()
    return sent


async def _setup(infra: BenchInfra, races: list[str], runners: int) -> None:
    async with EventPublisher(infra.kafka_bootstrap) as publisher:
        for race in races:
            await publisher.publish(RACECARDS, _card(race, runners))
            await publisher.publish(ODDS_LIVE, odds(race, 0, runners))
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


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


async def _never_reading(url: str, race: str) -> Any:
    """A subscriber that never reads: its client stops reading the socket after one message."""
    ws = await websockets.connect(url, max_size=None, ping_interval=None, max_queue=1,
                                  local_addr=("127.0.0.2", 0))  # fmt: skip
    request = {"sub_id": "f", "filter": {"races": [race]}, "fields": ["best", "prices"]}
    await ws.send(orjson.dumps({"op": "subscribe", **request}).decode())
    return ws


def fanout_run(
    infra: BenchInfra, url: str, pids: list[int], processes: int, slow: bool = False
) -> dict[str, float]:
    """1,000 subscribers of one race at 150 events/s for 10 s (plus a never-reading one)."""
    race = f"rac_benchfan{'slow' if slow else ''}"
    asyncio.run(_setup(infra, [race], 8))
    request = {"sub_id": "f", "filter": {"races": [race]}, "fields": ["best", "prices"]}
    target = Target(
        name="ws_fanout",
        url=url,
        hello=(orjson.dumps({"op": "subscribe", **request}).decode(),),
        ready='"type":"snapshot"',
        delivery='"type":"delta"',
    )
    with LoadGenerator(target, 1000, processes) as load:

        async def publish() -> int:
            laggard = await _never_reading(url, race) if slow else None
            sent = await _publish_at(
                infra, [race], FANOUT_EVENTS_PER_S, FANOUT_SECONDS, 8, one=True
            )
            if laggard is not None:
                laggard.transport.abort()
            return sent

        before = cpu_s(pids)
        sent = uvloop.run(publish())
        figures = load.finish(sent)
        api_cpu = cpu_s(pids) - before
    out = {
        "ws_fanout_clients": 1000.0,
        "ws_fanout_published_events_per_s": float(FANOUT_EVENTS_PER_S),
        "ws_fanout_updates_per_s": figures["ws_fanout_deliveries_per_s"],
        "ws_fanout_delivered_pct": figures["ws_fanout_delivered_pct"],
        "ws_fanout_p50_ms": figures["ws_fanout_p50_ms"],
        "ws_fanout_p99_ms": figures["ws_fanout_p99_ms"],
        "ws_fanout_api_cpu_s": api_cpu,
        "ws_fanout_loadgen_cpu_s": figures["ws_fanout_loadgen_cpu_s"],
        "ws_fanout_loadgen_processes": float(processes),
    }
    if slow:
        shared = ("_clients", "_published_events_per_s", "_processes")
        return {
            k.replace("ws_fanout_", "ws_fanout_with_slow_"): v
            for k, v in out.items()
            if not k.endswith(shared)
        }
    return out


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


def wait_ready(base: str, api: Any) -> None:
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
            wait_ready(base, api)
            url = f"ws://127.0.0.1:{port}/v1/stream"
            # Idle first, on a fresh process: what 10k connections cost, not earlier churn.
            figures.update(uvloop.run(idle(url, api.pid)))
            processes = int(os.environ.get("LOADGEN_PROCESSES", "3"))
            figures.update(fanout_run(infra, url, [api.pid], processes))
            figures.update(fanout_run(infra, url, [api.pid], processes, slow=True))
            figures.update(uvloop.run(latency(infra, url)))
    figures["ws_slow_client_p99_ratio"] = (
        figures["ws_fanout_with_slow_p99_ms"] / figures["ws_fanout_p99_ms"]
    )
    record(figures)


if __name__ == "__main__":
    main()
