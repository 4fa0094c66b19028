"""The README's first query, run as written against the stack `make up` starts; and the
scheduler `darkhorses up` runs beside it."""

import re
import subprocess
import time

import httpx
import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def first_query_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A first query", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the README has no first query"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_first_query_works_as_written(stack: Stack) -> None:
    port = stack.base_url.rsplit(":", 1)[1]
    script = ["set -euo pipefail"]
    for command in first_query_commands():
        command = command.replace("localhost:8000", f"localhost:{port}")
        command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        command = re.sub(r"\s+#\s.*$", "", command)  # the README's comments
        if "examples/live_odds.py" in command:  # it runs until Ctrl-C: give it 20 s
            command = f"timeout -s INT 20 {command} || true"
        script.append(command)
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert '"race_id"' in done.stdout  # /v1/races/next
    assert '"bookmakers"' in done.stdout  # the book
    assert re.search(r"snapshot rac_sim\S+ \(subscribe\)", done.stdout), done.stdout[-2000:]


def test_darkhorses_up_runs_the_maintenance_jobs(stack: Stack) -> None:
    deadline = time.monotonic() + 120
    jobs: dict[str, dict[str, object]] = {}
    while time.monotonic() < deadline:
        data = httpx.get(f"{stack.base_url}/v1/jobs", timeout=10).json()["data"]
        jobs = {job["name"]: job for job in data}
        if jobs.get("statistics", {}).get("last_outcome") == "ok" and "retention" in jobs:
            break
        time.sleep(2)
    assert set(jobs) == {"retention", "statistics"}
    assert jobs["statistics"]["schedule"] == "every 300 s"
    assert jobs["retention"]["schedule"] == "daily at 03:00 Europe/London"
    assert jobs["retention"]["last_outcome"] == "ok"  # never run before: runs for yesterday
    metrics = httpx.get(f"{stack.base_url}/metrics", timeout=10).text
    assert 'darkhorses_job_last_ok{job="statistics"} 1.0' in metrics
    report = httpx.get(f"{stack.base_url}/v1/statistics", timeout=10).json()["data"]
    assert report["live"]["summary"]["prices"] >= 0
