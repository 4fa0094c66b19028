"""Shared fixtures. Integration tests get a real Kafka broker and PostgreSQL, started here by the
project's own infrastructure code on test ports, in `.cache/test` (wiped each session)."""

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from darkhorses.infra.kafka import KafkaBroker, ensure_topics
from darkhorses.infra.postgres import PostgresServer
from darkhorses.migrate import migrate
from darkhorses.settings import LocalInfraSettings

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = Path(__file__).parent / "resources"


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap: str
    database_url: str
    postgres: PostgresServer

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(KAFKA_BOOTSTRAP_SERVERS=self.kafka_bootstrap, DATABASE_URL=self.database_url)
        env.update(extra)
        return env


# Several checkouts on one machine can test at once, each with its own port base.
PORT_BASE = int(os.environ.get("DARKHORSES_TEST_PORT_BASE", "29000"))


def running_infra(name: str, port_base: int) -> Iterator[Infra]:
    """A fresh broker and database in `.cache/<name>` on `port_base` + 92, 93 and 432."""
    settings = LocalInfraSettings(
        home=ROOT / ".cache" / name,
        kafka_port=port_base + 92,
        kafka_controller_port=port_base + 93,
        kafka_heap="512m",
        postgres_port=port_base + 432,
    )
    broker, postgres = KafkaBroker(settings), PostgresServer(settings)
    broker.wipe()
    postgres.stop()
    shutil.rmtree(postgres.root, ignore_errors=True)
    # The jars are shared with the dev broker's cache, so tests never download twice.
    dev_lib = ROOT / ".cache" / "kafka" / "lib"
    if dev_lib.is_dir() and not broker.lib.exists():
        broker.lib.parent.mkdir(parents=True, exist_ok=True)
        broker.lib.symlink_to(dev_lib)
    postgres.start()
    broker.start()
    asyncio.run(ensure_topics(broker.bootstrap))
    asyncio.run(migrate(postgres.url))
    try:
        yield Infra(broker.bootstrap, postgres.url, postgres)
    finally:
        broker.stop()
        postgres.stop()


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    yield from running_infra("test", PORT_BASE)


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(infra.database_url)
    try:
        yield connection
    finally:
        await connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Runtime:
    """A `darkhorses` runtime started as a real child process."""

    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_runtime(args: list[str], env: dict[str, str], log: Path) -> Runtime:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "darkhorses", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Runtime(process, log)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = ROOT / "tests" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def streams_app_id() -> str:
    """Each module's worker has its own consumer group (and the API reports that group's lag)."""
    return f"darkhorses-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def streams_worker(infra: Infra, artifacts: Path, streams_app_id: str) -> Iterator[Runtime]:
    """A Faust worker process with its own consumer group."""
    app_id = streams_app_id
    runtime = start_runtime(
        ["streams"],
        infra.env(DARKHORSES_STREAMS_APP_ID=app_id, DARKHORSES_STREAMS_FLUSH_INTERVAL_S="0.1"),
        artifacts / f"{app_id}.log",
    )
    try:
        yield runtime
    finally:
        runtime.stop()


@dataclass(frozen=True)
class ApiProcess:
    runtime: Runtime
    base_url: str

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")


@pytest.fixture(scope="module")
def api_server(infra: Infra, artifacts: Path, streams_app_id: str) -> Iterator[ApiProcess]:
    port = free_port()
    env = infra.env(DARKHORSES_API_PORT=str(port), DARKHORSES_API_STREAMS_GROUP_ID=streams_app_id)
    runtime = start_runtime(["api"], env, artifacts / f"api-{port}.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ready(base_url, runtime)
        yield ApiProcess(runtime, base_url)
    finally:
        runtime.stop()


def wait_for_ready(base_url: str, runtime: Runtime, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if runtime.process.poll() is not None:
            raise RuntimeError(f"API exited early:\n{runtime.output()}")
        try:
            response = httpx.get(f"{base_url}/health", timeout=2)
            if response.status_code == 200 and response.json().get("stream") == "ready":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"API not ready:\n{runtime.output()}")
