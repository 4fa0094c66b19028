"""`darkhorses up`: the whole system as child processes, stopped together on Ctrl-C.

The local broker and database are started (and later stopped) only when `KAFKA_BOOTSTRAP_SERVERS`
and `DATABASE_URL` are not set; otherwise the stack uses the servers they name.

The API gets secrets of this install, generated on first use and kept (owner-only) in
`$DARKHORSES_HOME/secrets.json`, so a restart keeps resume and access tokens valid: the stream's
HMAC secret (`DARKHORSES_STREAM_SECRET`) and the password of its read-only database role
(`DARKHORSES_API_DATABASE_URL`). Either, set in the environment, wins.
"""

import asyncio
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import IO

from darkhorses.infra.kafka import KafkaBroker, ensure_topics, wait_until_ready
from darkhorses.infra.postgres import PostgresServer
from darkhorses.migrate import migrate, set_login_password
from darkhorses.settings import READER_ROLE, ConnectionSettings, LocalInfraSettings, login_url

log = logging.getLogger(__name__)


def _runtime(*args: str) -> list[str]:
    return [sys.executable, "-m", "darkhorses", *args]


def run_stack(compression: float = 1.0, workers: int = 1, api_processes: int = 1) -> int:
    """Run everything; `workers` streams workers share the race partitions (one consumer group),
    `api_processes` API processes share the port."""
    infra = LocalInfraSettings()
    broker = None if "KAFKA_BOOTSTRAP_SERVERS" in os.environ else KafkaBroker(infra)
    database = None if "DATABASE_URL" in os.environ else PostgresServer(infra)
    env = dict(os.environ)
    if broker is not None:
        env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
    if database is not None:
        env["DATABASE_URL"] = database.url
    env["DARKHORSES_SIM_COMPRESSION"] = str(compression)
    install = install_secrets(infra.home)
    api_env = dict(env)
    api_env["DARKHORSES_API_WORKERS"] = str(api_processes)
    api_env.setdefault("DARKHORSES_STREAM_SECRET", install["stream_secret"])
    api_env.setdefault(
        "DARKHORSES_API_DATABASE_URL",
        login_url(env["DATABASE_URL"], READER_ROLE, install["reader_password"]),
    )
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        if database is not None:
            database.start()
        if broker is not None:
            broker.start()
        settings = ConnectionSettings(
            KAFKA_BOOTSTRAP_SERVERS=env["KAFKA_BOOTSTRAP_SERVERS"], DATABASE_URL=env["DATABASE_URL"]
        )
        asyncio.run(_prepare(settings, api_env["DARKHORSES_API_DATABASE_URL"]))
        # The scheduler runs the maintenance jobs (retention, statistics) beside the simulator.
        env.setdefault("DARKHORSES_SCHEDULE_JOBS", "maintenance")
        children.append(_start("api", _runtime("api"), api_env))
        metrics_base = int(env.get("DARKHORSES_STREAMS_METRICS_PORT", STREAMS_METRICS_PORT))
        for worker in range(workers):
            worker_env = streams_env(env, worker, metrics_base)
            children.append(_start(f"streams-{worker}", _runtime("streams"), worker_env))
        children.append(_start("simulate", _runtime("produce", "simulate"), env))
        children.append(_start("schedule", _runtime("schedule"), env))
        api = ApiAddress(env)
        log.info("DarkHorses is up: API and dashboard on %s (Ctrl-C stops everything)", api.url)
        log.info(
            "streams metrics on http://127.0.0.1:%d/metrics%s", metrics_base,
            f" (to :{metrics_base + workers - 1})" if workers > 1 else "",
        )  # fmt: skip
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    log.error("%s exited with %s; stopping", child.args, child.returncode)
                    stopping = True
            time.sleep(0.2)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _stop_children(children)
        if broker is not None:
            broker.stop()
        if database is not None:
            database.stop()
        log.info("DarkHorses stopped")


STREAMS_METRICS_PORT = 9100  # the first worker's; the next ones count up from it


def streams_env(env: dict[str, str], worker: int, metrics_base: int) -> dict[str, str]:
    """Worker `worker`'s environment: its own static member id (a restarted worker takes its
    partitions back) and its own Prometheus port, `metrics_base + worker`."""
    return {
        "DARKHORSES_STREAMS_INSTANCE_ID": f"local-streams-{worker}",
        **env,
        "DARKHORSES_STREAMS_METRICS_PORT": str(metrics_base + worker),
    }


_output = threading.Lock()


def _start(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a child whose output lines (stdout and stderr) are ours, each prefixed "[name] "."""
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    thread = threading.Thread(
        target=relay, args=(child.stdout, sys.stdout.buffer, f"[{name}] ".encode()), daemon=True
    )
    thread.start()
    return child


def relay(source: IO[bytes] | None, sink: IO[bytes], prefix: bytes) -> None:
    """Copy `source` to `sink` line by line, each line prefixed, until end of file."""
    if source is None:
        return
    for line in iter(source.readline, b""):
        with _output:
            sink.write(prefix + (line if line.endswith(b"\n") else line + b"\n"))
            sink.flush()
    source.close()


class ApiAddress:
    def __init__(self, env: dict[str, str]) -> None:
        host = env.get("DARKHORSES_API_HOST", "127.0.0.1")
        port = env.get("DARKHORSES_API_PORT", "8000")
        self.url = f"http://{host}:{port}"


async def _prepare(settings: ConnectionSettings, api_database_url: str) -> None:
    await wait_until_ready(settings.kafka_bootstrap_servers)
    await ensure_topics(settings.kafka_bootstrap_servers)
    await migrate(settings.database_url)
    await set_login_password(settings.database_url, api_database_url)


def install_secrets(home: Path) -> dict[str, str]:
    """This install's secrets: read from `home`/secrets.json, or generated and written there
    (mode 0600) on first use."""
    path = home / "secrets.json"
    names = ("stream_secret", "reader_password")
    try:
        found: dict[str, str] = json.loads(path.read_text())
        if all(isinstance(found.get(name), str) and found[name] for name in names):
            return found
    except (OSError, ValueError):
        pass
    made = {name: secrets.token_urlsafe(32) for name in names}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(made, out)
    log.info("generated this install's stream secret and API database password in %s", path)
    return made


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children:
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
