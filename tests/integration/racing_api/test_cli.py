"""The producer commands as users run them: a real process, a real HTTP server, clear errors."""

import asyncio
import signal
import sys
import uuid
from pathlib import Path

import pytest

from schemas.base import decode
from schemas.odds import OddsSnapshot
from schemas.topics import ODDS_LIVE
from tests.conftest import Infra
from tests.integration.racing_api.conftest import serving, wait_until
from tests.kafka_helpers import read_all
from tests.racing_api_stub import StubState

pytestmark = pytest.mark.integration


async def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "darkhorses", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, output.decode(errors="replace")


async def test_401_stops_the_command_naming_the_variables_to_set(
    infra: Infra, tmp_path: Path
) -> None:
    stub = StubState(cards={})
    stub.broken["/v1/racecards/pro"] = (401, b'{"detail": "Not authenticated"}')
    async with serving(stub) as api:
        env = infra.env(
            RACING_API_BASE_URL=api.base_url,
            RACING_API_USERNAME="wrong",
            RACING_API_PASSWORD="wrong",  # noqa: S106 - deliberately wrong credentials
            DARKHORSES_RA_CHECKPOINT_PATH=str(tmp_path / "checkpoint.json"),
        )
        code, output = await run_cli(["produce", "historical", "--daily"], env)
    assert code == 2, output
    assert "RACING_API_USERNAME and RACING_API_PASSWORD" in output
    assert "Traceback" not in output
    assert stub.requests["/v1/racecards/pro"] == 1  # not retried
    assert not (tmp_path / "checkpoint.json").exists()


async def test_produce_live_runs_as_a_process_and_stops_cleanly_on_sigterm(infra: Infra) -> None:
    tag = f"_{uuid.uuid4().hex[:6]}"
    stub = StubState.today(tag=tag)
    race = f"rac_11743160{tag}"
    async with serving(stub) as api:
        env = infra.env(
            RACING_API_BASE_URL=api.base_url,
            DARKHORSES_RA_POLL_EARLY_S="0.2",
            DARKHORSES_RA_POLL_PRE_RACE_S="0.2",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "darkhorses", "produce", "live", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            await wait_until(lambda: stub.requests[f"/v1/racecards/{race}/pro"] >= 2, "polls", 60)
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, output.decode(errors="replace")
    snapshots = [
        decode(OddsSnapshot, r.value) for r in await read_all(infra.kafka_bootstrap, ODDS_LIVE.name)
    ]
    ours = [s for s in snapshots if s.race_id == race]
    assert sum(len(s.prices) for s in ours) == 280  # the image, then nothing changed
