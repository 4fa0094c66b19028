"""The websocket load generator: many subscribers, spread over processes, for any server.

The same code drives DarkHorses and its peers (bench/peers.py): a `Target` says only where to
connect, what to send once connected, and which text marks a subscription as ready and a
message line as one delivery. Each worker process runs its share of the clients on uvloop and
reports deliveries, first and last delivery times (wall clock, shared by the processes), the
latency of every delivery of one client in `sample_every` (receive time minus the first
`source_time` in the line, set just before the event was published) and its own CPU time, so
the report can show that the load generator was not what limited the server.
"""

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import resource
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import uvloop
import websockets

SOURCE_TIME = '"source_time":"'


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    hello: tuple[str, ...]  # sent once connected, as one message each
    ready: str  # the text, in a message, that tells the subscription is live
    delivery: str  # the text that makes a message line one delivery
    pong: str | None = None  # a line the server pings with, echoed back (Centrifugo's `{}`)
    local_host: str = "127.0.0.2"  # source address: thousands of ports off 127.0.0.1's


@dataclass
class Tally:
    deliveries: int = 0
    ready: int = 0
    first: float = 0.0
    last: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    failures: int = 0


def _latency_ms(line: str, now: float) -> float | None:
    at = line.find(SOURCE_TIME)
    if at < 0:
        return None
    start = at + len(SOURCE_TIME)
    sent = datetime.fromisoformat(line[start : line.index('"', start)])
    return (now - sent.timestamp()) * 1000


async def _client(target: Target, tally: Tally, sample: bool, counts: list[int]) -> None:
    ws = await websockets.connect(target.url, max_size=None, ping_interval=None,
                                  open_timeout=120, local_addr=(target.local_host, 0))  # fmt: skip
    index = len(counts)
    counts.append(0)
    for hello in target.hello:
        await ws.send(hello)
    ready = False
    with contextlib.suppress(websockets.ConnectionClosed):
        async for message in ws:
            now = time.time()
            text = str(message)
            if not ready and target.ready in text:
                ready = True
                tally.ready += 1
            if target.pong is not None and text == target.pong:
                await ws.send(target.pong)
                continue
            found = text.count(target.delivery)
            if not found:
                continue
            tally.deliveries += found
            counts[index] += found
            tally.first = tally.first or now
            tally.last = now
            if sample:
                for line in text.split("\n"):
                    if target.delivery in line:
                        latency = _latency_ms(line, now)
                        if latency is not None:
                            tally.latencies_ms.append(latency)


async def _run(
    target: Target, clients: int, sample_every: int, pipe: multiprocessing.connection.Connection
) -> None:
    tally = Tally()
    counts: list[int] = []
    tasks: list[asyncio.Task[None]] = []
    for n in range(clients):
        tasks.append(asyncio.create_task(_client(target, tally, n % sample_every == 0, counts)))
        if n % 50 == 49:
            await asyncio.sleep(0.05)  # a steady stream of handshakes, not a thundering herd
    deadline = time.monotonic() + 120
    while tally.ready < clients and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        tally.failures = sum(1 for t in tasks if t.done() and t.exception() is not None)
        if tally.failures:
            break
    pipe.send(("ready", tally.ready))
    before = resource.getrusage(resource.RUSAGE_SELF)  # from here the load is measured
    while not pipe.poll():  # noqa: ASYNC110 (a pipe from another process, not an event)
        await asyncio.sleep(0.05)
    expected = pipe.recv()  # deliveries each client should get
    deadline = time.monotonic() + 30
    while any(c < expected for c in counts) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # anything beyond (duplicates) would show
    usage = resource.getrusage(resource.RUSAGE_SELF)
    tally.cpu_s = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    for task in tasks:
        task.cancel()
    pipe.send(("done", tally))


def _worker(
    target: Target, clients: int, sample_every: int, pipe: multiprocessing.connection.Connection
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 25_000), hard), hard))
    uvloop.run(_run(target, clients, sample_every, pipe))


class LoadGenerator:
    """`processes` workers sharing `clients` subscribers of `target`; use as a context manager:

    with LoadGenerator(target, 1000, 4) as load:   # connected, subscribed, ready
        sent = publish()
        figures = load.finish(sent)
    """

    def __init__(self, target: Target, clients: int, processes: int, sample_every: int = 10):
        self.target = target
        self.clients = clients
        context = multiprocessing.get_context("fork")  # no re-import of __main__
        shares = [clients // processes + (1 if i < clients % processes else 0)
                  for i in range(processes)]  # fmt: skip
        self.pipes: list[multiprocessing.connection.Connection] = []
        self.workers: list[Any] = []
        for share in shares:
            parent, child = context.Pipe()
            worker = context.Process(target=_worker, args=(target, share, sample_every, child),
                                     daemon=True)  # fmt: skip
            self.pipes.append(parent)
            self.workers.append(worker)

    def __enter__(self) -> "LoadGenerator":
        for worker in self.workers:
            worker.start()
        ready = sum(pipe.recv()[1] for pipe in self.pipes)
        if ready < self.clients:
            self.__exit__()
            raise RuntimeError(f"{self.target.name}: only {ready}/{self.clients} subscribed")
        return self

    def __exit__(self, *_: object) -> None:
        for worker in self.workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()

    def finish(self, events: int) -> dict[str, float]:
        """Wait until every client has `events` deliveries (or 30 s), then the figures."""
        for pipe in self.pipes:
            pipe.send(events)
        tallies: list[Tally] = [pipe.recv()[1] for pipe in self.pipes]
        deliveries = sum(t.deliveries for t in tallies)
        first = min(t.first for t in tallies if t.first) if deliveries else 0.0
        last = max(t.last for t in tallies)
        samples = sorted(x for t in tallies for x in t.latencies_ms)
        elapsed = last - first
        name = self.target.name
        return {
            f"{name}_deliveries_per_s": deliveries / elapsed if elapsed > 0 else 0.0,
            f"{name}_delivered_pct": 100 * deliveries / (events * self.clients),
            f"{name}_p50_ms": _quantile(samples, 0.5),
            f"{name}_p99_ms": _quantile(samples, 0.99),
            f"{name}_latency_samples": len(samples),
            f"{name}_loadgen_cpu_s": sum(t.cpu_s for t in tallies),
            f"{name}_loadgen_processes": len(tallies),
        }


def _quantile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    return samples[min(len(samples) - 1, int(len(samples) * q))]
