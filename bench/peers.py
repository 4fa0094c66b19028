"""`make bench-peers`: DarkHorses' live stream against Centrifugo, same load, same client, one run.

Load: 1,000 websocket subscribers of one channel (a race), 150 price events a second for 10 s,
the same events (one runner's price at one bookmaker, about 300 bytes) for both servers,
received by the same load generator (bench/loadgen.py, spread over `LOADGEN_PROCESSES`
processes on this machine).

- DarkHorses: `darkhorses api` on a fresh broker; events are produced to Kafka.
- Centrifugo (built from the Go module proxy by `make bench-peers`, path in `CENTRIFUGO`):
  insecure client mode (no tokens), events published over its HTTP API, each as the event's
  JSON.

Figures: `<server>_deliveries_per_s`, `_delivered_pct`, `_p50_ms`, `_p99_ms` (receive time minus
the event's source time, every delivery of one client in ten), `_server_cpu_s` (the server's
processes over the measured window), `_loadgen_cpu_s`; and `ws_fanout_vs_centrifugo`, the ratio
of deliveries per second. The machine is shared by both servers, Kafka and the load generator.
"""

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.harness import ROOT, bench_infra, record, runtime
from bench.loadgen import LoadGenerator, Target
from bench.websocket import FANOUT_EVENTS_PER_S, FANOUT_SECONDS, cpu_s, fanout_run, odds, wait_ready

CENTRIFUGO = Path(
    os.environ.get("CENTRIFUGO", ROOT / ".cache" / "centrifugo" / "bin" / "centrifugo")
)
CHANNEL = "rac_benchfan"
API_KEY = "bench-api-key"  # a local, throwaway Centrifugo


def _config(port: int) -> dict[str, object]:
    return {
        "http_server": {"address": "127.0.0.1", "port": port},
        "log": {"level": "error"},
        "client": {"insecure": True},
        "http_api": {"key": API_KEY},
        "channel": {"without_namespace": {"allow_subscribe_for_client": True}},
    }


@contextlib.contextmanager
def centrifugo(home: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    config = home / "centrifugo.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(_config(port)))
    with (home / "centrifugo.log").open("wb") as log:
        process = subprocess.Popen([str(CENTRIFUGO), "--config", str(config)],
                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"centrifugo did not start; see {home / 'centrifugo.log'}")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _publish_centrifugo(port: int, per_s: float, seconds: float) -> int:
    """Publish at `per_s` over the HTTP API, several requests in flight: a sequential publisher
    on this shared machine fell to a third of the rate (611 of 1,500 events in one run)."""
    sent = 0
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers,
                                 limits=limits) as http:  # fmt: skip
        pending: set[asyncio.Task[httpx.Response]] = set()
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            due = int(elapsed * per_s)
            while sent < due:
                event = odds(CHANNEL, sent, 8, one=True).model_dump_json()
                body = '{"channel":"' + CHANNEL + '","data":' + event + "}"
                pending.add(asyncio.create_task(http.post("/api/publish", content=body)))
                sent += 1
            await asyncio.sleep(0.002)
        for response in await asyncio.gather(*pending):
            response.raise_for_status()
    return sent


def centrifugo_run(home: Path, port: int, processes: int) -> dict[str, float]:
    target = Target(
        name="centrifugo",
        url=f"ws://127.0.0.1:{port}/connection/websocket",
        hello=('{"id":1,"connect":{}}\n{"id":2,"subscribe":{"channel":"' + CHANNEL + '"}}',),
        ready='"subscribe":{',
        delivery='"pub":',
        pong="{}",
    )
    with centrifugo(home, port) as server, LoadGenerator(target, 1000, processes) as load:
        before = cpu_s([server.pid])
        sent = asyncio.run(_publish_centrifugo(port, FANOUT_EVENTS_PER_S, FANOUT_SECONDS))
        figures = load.finish(sent)
        figures["centrifugo_server_cpu_s"] = cpu_s([server.pid]) - before
    figures["centrifugo_published_events"] = sent
    return figures


def main() -> None:
    if not CENTRIFUGO.exists():
        go = shutil.which("go")
        raise SystemExit(f"no Centrifugo at {CENTRIFUGO}: `make bench-peers` builds it "
                         f"({'with' if go else 'needs'} Go)")  # fmt: skip
    processes = int(os.environ.get("LOADGEN_PROCESSES", "3"))
    figures: dict[str, float] = {"ws_peers_loadgen_processes": processes}
    with bench_infra() as infra:
        port = int(infra.kafka_bootstrap.rsplit(":", 1)[1]) + 8
        env = infra.env(DARKHORSES_API_PORT=str(port), DARKHORSES_STREAM_HEARTBEAT_MS="30000")
        with runtime(["api"], env, infra.home / "api.log") as api:
            wait_ready(f"http://127.0.0.1:{port}", api)
            ours = fanout_run(infra, f"ws://127.0.0.1:{port}/v1/stream", [api.pid], processes)
        figures.update(ours)
        figures.update(centrifugo_run(infra.home, port + 1, processes))
    theirs = figures["centrifugo_deliveries_per_s"]
    figures["ws_fanout_vs_centrifugo"] = (
        figures["ws_fanout_updates_per_s"] / theirs if theirs else 0.0
    )
    record(figures)


if __name__ == "__main__":
    main()
