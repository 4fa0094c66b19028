"""The whole stack as `make up` starts it (`darkhorses up`), on its own ports and data folder,
and a headless Chromium (Debian's) driven by Playwright."""

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import PORT_BASE, ROOT
from tests.e2e.races import FabricatedRaces, publish_races, wait_until_served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As the machine notes say: no background networking (the sandbox has no internet).
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass(frozen=True)
class Stack:
    base_url: str
    kafka_bootstrap: str
    database_url: str
    log: Path


@pytest.fixture(scope="session")
def stack(artifacts: Path) -> Iterator[Stack]:
    home = ROOT / ".cache" / "e2e"
    shutil.rmtree(home, ignore_errors=True)
    ports = {
        "DARKHORSES_KAFKA_PORT": PORT_BASE + 192,
        "DARKHORSES_KAFKA_CONTROLLER_PORT": PORT_BASE + 193,
        "DARKHORSES_POSTGRES_PORT": PORT_BASE + 532,
        "DARKHORSES_API_PORT": PORT_BASE + 180,
    }
    env = {
        k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")
    }
    env.update({k: str(v) for k, v in ports.items()})
    env.update(DARKHORSES_HOME=str(home), DARKHORSES_KAFKA_HEAP="512m")
    dev_lib = ROOT / ".cache" / "kafka" / "lib"
    if dev_lib.is_dir():
        (home / "kafka").mkdir(parents=True)
        (home / "kafka" / "lib").symlink_to(dev_lib)
    log = artifacts / "e2e-stack.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "darkhorses", "up"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{ports['DARKHORSES_API_PORT']}"
    try:
        _wait_for_races(base_url, process, log)
        yield Stack(
            base_url,
            f"127.0.0.1:{ports['DARKHORSES_KAFKA_PORT']}",
            f"postgresql://postgres@127.0.0.1:{ports['DARKHORSES_POSTGRES_PORT']}/darkhorses",
            log,
        )
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_races(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`darkhorses up` exited:\n{log.read_text()[-5000:]}")
        try:
            board = httpx.get(f"{base_url}/v1/races/by-stage", timeout=3).json()["data"]
            if sum(len(column["races"]) for column in board["stages"]) > 0:
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(1)
    raise TimeoutError(f"no races on the board:\n{log.read_text()[-5000:]}")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture(scope="session")
async def races(stack: Stack) -> FabricatedRaces:
    """A race with its result, one at the off and one with a steamer and a drifter."""
    fabricated = await publish_races(stack.kafka_bootstrap, "t")
    await asyncio.to_thread(wait_until_served, stack.base_url, fabricated)
    return fabricated


@pytest.fixture(scope="session")
def auth_api(stack: Stack, artifacts: Path) -> Iterator[str]:
    """A second API process on the same stack that refuses requests without an API key."""
    port = PORT_BASE + 181
    env = dict(os.environ)
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=stack.kafka_bootstrap,
        DATABASE_URL=stack.database_url,
        DARKHORSES_API_PORT=str(port),
        DARKHORSES_API_AUTH_REQUIRED="true",
        # With keys required, the API refuses to start on a secret anyone could know.
        DARKHORSES_STREAM_SECRET=secrets.token_urlsafe(32),
    )
    log = artifacts / "e2e-auth-api.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "darkhorses", "api"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API with keys required did not start:\n{log.read_text()}")
            try:
                if httpx.get(f"{base_url}/health", timeout=2).json().get("stream") == "ready":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        yield base_url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
