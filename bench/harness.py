"""Shared benchmark plumbing: real infrastructure on bench ports, child runtimes, results file."""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from darkhorses.infra.kafka import KafkaBroker, ensure_topics
from darkhorses.infra.postgres import PostgresServer
from darkhorses.migrate import migrate
from darkhorses.settings import LocalInfraSettings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "latest.json"


@dataclass(frozen=True)
class BenchInfra:
    kafka_bootstrap: str
    database_url: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(KAFKA_BOOTSTRAP_SERVERS=self.kafka_bootstrap, DATABASE_URL=self.database_url)
        env.update(extra)
        return env


@contextmanager
def bench_infra() -> Iterator[BenchInfra]:
    """A fresh broker and database for one benchmark run, stopped afterwards."""
    # Below 32768: the ports above are handed out to outgoing connections and may be taken.
    port_base = int(os.environ.get("DARKHORSES_BENCH_PORT_BASE", "26000"))
    settings = LocalInfraSettings(
        home=ROOT / ".cache" / "bench",
        kafka_port=port_base + 92,
        kafka_controller_port=port_base + 93,
        kafka_heap="1g",
        postgres_port=port_base + 432,
    )
    broker, postgres = KafkaBroker(settings), PostgresServer(settings)
    broker.wipe()
    postgres.stop()
    dev_lib = ROOT / ".cache" / "kafka" / "lib"
    if dev_lib.is_dir() and not broker.lib.exists():
        broker.lib.parent.mkdir(parents=True, exist_ok=True)
        broker.lib.symlink_to(dev_lib)
    postgres.start()
    broker.start()
    try:
        asyncio.run(_reset_database(postgres.url))
        asyncio.run(ensure_topics(broker.bootstrap))
        yield BenchInfra(broker.bootstrap, postgres.url, settings.home)
    finally:
        broker.stop()
        postgres.stop()


async def _reset_database(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()
    await migrate(url)


@contextmanager
def runtime(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "darkhorses", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def record(figures: dict[str, float]) -> None:
    """Print figures and merge them into bench/results/latest.json."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing.update({k: round(v, 3) for k, v in figures.items()})
    existing["recorded_at_unix_s"] = round(time.time())
    RESULTS.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    for name, value in figures.items():
        print(f"{name:40s} {value:>14,.1f}")
