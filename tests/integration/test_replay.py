"""Record and replay on the real broker: a simulated day is recorded from the topics with
`darkhorses record`, replayed with `darkhorses replay`, and the replayed records must equal the
recorded ones in content and in per-partition (so per-race) order."""

import asyncio
import base64
import signal
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from darkhorses.infra.kafka import ensure_topics
from producers.recording import parse_line, partitions_of
from producers.settings import SimulatorSettings
from producers.simulate import run_simulator
from producers.simulator import EventIds
from schemas.base import decode
from schemas.market import MarketState
from schemas.topics import ALL_TOPICS, MARKET_STATE, RESULTS, Cleanup, Topic
from tests.conftest import Infra, start_runtime
from tests.kafka_helpers import read_all, send_raw

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
Content = tuple[bytes | None, Any]  # (key, payload as JSON, or raw bytes if not JSON)


def run_cli(infra: Infra, args: list[str], log: Path) -> tuple[int, str]:
    runtime = start_runtime(args, infra.env(), log)
    code = runtime.process.wait(timeout=120)
    return code, runtime.output()


def recorded_by_partition(path: Path) -> dict[tuple[str, int], list[Content]]:
    contents: dict[tuple[str, int], list[Content]] = defaultdict(list)
    offsets: dict[tuple[str, int], list[int]] = defaultdict(list)
    for raw in path.read_bytes().splitlines():
        line = orjson.loads(raw)
        key = None if line["key"] is None else line["key"].encode()
        value = line["value"] if "value" in line else base64.b64decode(line["value_base64"])
        contents[line["topic"], line["partition"]].append((key, value))
        offsets[line["topic"], line["partition"]].append(line["offset"])
    for numbers in offsets.values():
        assert numbers == sorted(numbers)  # each partition recorded in offset order
    return contents


def content(value: bytes | None) -> Any:
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


async def records_from(
    bootstrap: str, topic: str, start: dict[int, int]
) -> dict[tuple[str, int], list[Content]]:
    """Every record of `topic` at or after `start[partition]`, per partition in offset order."""
    found: dict[tuple[str, int], list[Content]] = defaultdict(list)
    for record in await read_all(bootstrap, topic):
        if record.offset >= start.get(record.partition, 0):
            found[topic, record.partition].append((record.key, content(record.value)))
    return found


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[str, dict[int, int]]:
    partitions = await partitions_of(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    async with consumer:
        ends = await consumer.end_offsets(partitions)
    result: dict[str, dict[int, int]] = defaultdict(dict)
    for tp, end in ends.items():
        result[tp.topic][tp.partition] = end
    return result


async def test_a_recorded_day_replays_onto_the_topics_as_the_same_records(
    infra: Infra, artifacts: Path, tmp_path: Path
) -> None:
    settings = SimulatorSettings(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, seed=21, start=START, races=4,
        bookmakers=6, tick_s=0.02, compression=1500, max_ticks=120,
    )  # fmt: skip
    published = await run_simulator(settings)
    recording = tmp_path / "day.jsonl"
    code, output = run_cli(infra, ["record", str(recording)], artifacts / "record.log")
    assert code == 0, output
    recorded = recorded_by_partition(recording)
    topics = [t.name for t in ALL_TOPICS]
    before = await end_offsets(infra.kafka_bootstrap, topics)
    assert set(before) == set(topics)
    # the recording is everything on the topics: up to the end offsets, nothing missing
    for topic, partitions in before.items():
        for partition, end in partitions.items():
            assert len(recorded.get((topic, partition), [])) == end, (topic, partition)
    prefix = EventIds(21, START).prefix
    ours = [
        value
        for records in recorded.values()
        for _, value in records
        if isinstance(value, dict) and str(value.get("event_id", "")).startswith(prefix)
    ]
    assert len(ours) == published
    assert any((RESULTS.name, p) in recorded for p in range(RESULTS.partitions))

    code, output = run_cli(
        infra, ["replay", str(recording), "--speed", "max"], artifacts / "replay.log"
    )
    assert code == 0, output
    assert f"replayed {sum(len(r) for r in recorded.values())} records" in output
    replayed: dict[tuple[str, int], list[Content]] = {}
    for topic in topics:
        replayed |= await records_from(infra.kafka_bootstrap, topic, before.get(topic, {}))
    assert {k: v for k, v in replayed.items() if v} == {k: v for k, v in recorded.items() if v}


async def test_replay_at_a_speed_into_fresh_topics_keeps_each_races_order(
    infra: Infra, artifacts: Path, tmp_path: Path
) -> None:
    settings = SimulatorSettings(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, seed=22, start=START, races=3,
        bookmakers=3, tick_s=0.02, compression=1500, max_ticks=100,
    )  # fmt: skip
    await run_simulator(settings)
    recording = tmp_path / "market.jsonl"
    code, output = run_cli(
        infra, ["record", str(recording), "--topic", MARKET_STATE.name], artifacts / "record2.log"
    )
    assert code == 0, output
    fresh = Topic(
        "test.replay.market.state.v1", MarketState, key="race_id",
        partitions=MARKET_STATE.partitions, cleanup=Cleanup.DELETE,
    )  # fmt: skip
    await ensure_topics(infra.kafka_bootstrap, (fresh,))
    code, output = run_cli(
        infra,
        [
            "replay", str(recording), "--speed", "40",
            "--topic-map", f"{MARKET_STATE.name}={fresh.name}",
        ],
        artifacts / "replay2.log",
    )  # fmt: skip
    assert code == 0, output
    recorded = recorded_by_partition(recording)
    replayed = await records_from(infra.kafka_bootstrap, fresh.name, {})
    assert {p: v for (_, p), v in replayed.items()} == {p: v for (_, p), v in recorded.items()}
    per_race: dict[str, list[str]] = defaultdict(list)
    prefix = EventIds(22, START).prefix  # this run's events (the topic holds earlier runs too)
    for records in replayed.values():
        for _, value in records:
            state = MarketState.model_validate(value)
            if state.event_id.startswith(prefix):
                per_race[state.race_id].append(state.event_id)
    assert len(per_race) >= 3
    for event_ids in per_race.values():
        assert event_ids == sorted(event_ids)  # simulator ids count up: race order kept


async def test_a_recording_with_bad_lines_is_refused_with_their_numbers(
    infra: Infra, artifacts: Path, tmp_path: Path
) -> None:
    fresh = Topic(
        "test.replay.refused.v1", MarketState, key="race_id", partitions=1, cleanup=Cleanup.DELETE
    )
    await ensure_topics(infra.kafka_bootstrap, (fresh,))
    state = MarketState.model_validate(
        {"source": "simulator", "source_time": START, "race_id": "rac_1", "status": "open"}
    )
    good = b'{"topic":"%s","partition":0,"offset":0,"key":"rac_1","timestamp":1,"value":%s}\n' % (
        fresh.name.encode(), state.model_dump_json().encode(),
    )  # fmt: skip
    recording = tmp_path / "broken.jsonl"
    recording.write_bytes(good + b"{oops\n" + good + b'{"topic":"x"}\n')
    code, output = run_cli(infra, ["replay", str(recording)], artifacts / "replay-bad.log")
    assert code == 1
    assert "2 bad line(s): line 2: not JSON" in output
    assert "line 4:" in output
    assert await read_all(infra.kafka_bootstrap, fresh.name, idle_ms=500) == []

    code, output = run_cli(
        infra, ["replay", str(recording), "--skip-bad"], artifacts / "replay-skip.log"
    )
    assert code == 1  # replayed the good lines, but says the recording was not clean
    assert "skipping" in output
    assert "line 2" in output
    assert "2 bad line(s) skipped" in output
    replayed = await read_all(infra.kafka_bootstrap, fresh.name)
    assert [decode(MarketState, r.value) for r in replayed] == [state, state]


async def test_recording_a_missing_topic_is_an_error_and_does_not_create_it(
    infra: Infra, artifacts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "none.jsonl"
    code, output = run_cli(
        infra,
        ["record", str(out), "--topic", "test.no.such.topic"],
        artifacts / "record-missing.log",
    )
    assert code == 2
    assert "topic 'test.no.such.topic' does not exist" in output
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        assert "test.no.such.topic" not in await admin.list_topics()
    finally:
        await admin.close()


async def test_following_records_new_records_until_interrupted(
    infra: Infra, artifacts: Path, tmp_path: Path
) -> None:
    def state(race_id: str) -> bytes:
        event = MarketState.model_validate(
            {"source": "simulator", "source_time": START, "race_id": race_id, "status": "open"}
        )
        return event.model_dump_json().encode()

    await send_raw(infra.kafka_bootstrap, MARKET_STATE.name, b"rac_follow_1", state("rac_follow_1"))
    out = tmp_path / "follow.jsonl"
    args = ["record", str(out), "--topic", MARKET_STATE.name, "--follow"]
    runtime = start_runtime(args, infra.env(), artifacts / "record-follow.log")
    try:
        await wait_for_text(out, b"rac_follow_1")
        await send_raw(
            infra.kafka_bootstrap, MARKET_STATE.name, b"rac_follow_2", state("rac_follow_2")
        )
        await wait_for_text(out, b"rac_follow_2")
        runtime.process.send_signal(signal.SIGINT)
        assert runtime.process.wait(timeout=60) == 0, runtime.output()
    finally:
        runtime.stop()
    assert "recorded" in runtime.output()
    lines = [parse_line(n, raw) for n, raw in enumerate(out.read_bytes().splitlines(), start=1)]
    assert [r.key for r in lines].count(b"rac_follow_2") == 1


async def wait_for_text(path: Path, text: bytes, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if contains(path, text):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}")


def contains(path: Path, text: bytes) -> bool:
    return path.exists() and text in path.read_bytes()
