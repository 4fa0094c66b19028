"""REST throughput: the live book endpoint under wrk at 64 connections while the pipeline runs.

Starts the real broker and database, the streams worker, the simulator (ticking every second) and
the API, waits until the book is served, then runs `wrk` (a real HTTP load generator, in its
own process) and records requests per second and latency percentiles.

The first `WARMUP_SECONDS` of load are not recorded: the book appears a few seconds after start,
while the streams worker is still joining its group and the API workers are still reading the
topics into their live hubs and filling their caches. The measured run is the steady state,
with the simulator, streams, Kafka and PostgreSQL all still running.
"""

import os
import re
import shutil
import subprocess
import time
import uuid

import httpx

from bench.harness import BenchInfra, bench_infra, record, runtime

WRK_SECONDS = 15
WARMUP_SECONDS = 10
CONNECTIONS = 64


def _wait_for_book(base_url: str, timeout_s: float = 120) -> str:
    """A race id whose live book is served, once the pipeline has filled the database."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            races = httpx.get(f"{base_url}/v1/races/upcoming", timeout=5).json()["data"]
            for race in races:
                book = httpx.get(f"{base_url}/v1/races/{race['race_id']}/book", timeout=5)
                if book.status_code == 200 and book.json()["data"]["bookmakers"]:
                    return str(race["race_id"])
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(1)
    raise TimeoutError("the live book never appeared")


def _to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(url: str, seconds: int) -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed; run scripts/ensure-system-deps --bench")
    return subprocess.run(
        [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def _run_wrk(url: str) -> dict[str, float]:
    _wrk(url, WARMUP_SECONDS)
    output = _wrk(url, WRK_SECONDS)
    print(output)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", output, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "api_book_requests_per_s": rps,
        "api_book_p50_ms": _to_ms(latency["50"]),
        "api_book_p99_ms": _to_ms(latency["99"]),
        "api_book_non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def _measure(infra: BenchInfra) -> dict[str, float]:
    port = int(os.environ.get("DARKHORSES_BENCH_PORT_BASE", "26000")) + 800  # as bench_infra
    base_url = f"http://127.0.0.1:{port}"
    env = infra.env(
        DARKHORSES_STREAMS_APP_ID=f"bench-api-{uuid.uuid4().hex[:6]}",
        DARKHORSES_API_PORT=str(port),
        # One worker: on two cores shared with wrk, Kafka, PostgreSQL, the streams worker and the
        # simulator, a second CPU-bound worker adds throughput (~9-10k vs ~6-7.5k req/s) but
        # oversubscribes the cores, and every preemption stalls all of a worker's connections
        # (interleaved runs, same conditions: p99 83-113 ms with two, 33-40 ms with one).
        DARKHORSES_API_WORKERS="1",
        DARKHORSES_API_ANONYMOUS_RATE_LIMIT_PER_MIN="100000000",
    )
    logs = infra.home
    with (
        runtime(["streams"], env, logs / "streams.log"),
        runtime(["produce", "simulate"], env, logs / "simulator.log"),
        runtime(["api"], env, logs / "api.log"),
    ):
        race_id = _wait_for_book(base_url)
        return _run_wrk(f"{base_url}/v1/races/{race_id}/book")


def main() -> None:
    with bench_infra() as infra:
        figures = _measure(infra)
    record(figures)


if __name__ == "__main__":
    main()
