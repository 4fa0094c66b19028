"""Recordings of Kafka topics as JSON lines, and `darkhorses record`.

One line per record, in the order it was consumed (so each partition's records are in offset
order): `{"topic", "partition", "offset", "key", "timestamp", "value"}` where `key` is the UTF-8
key or null, `timestamp` the record's Kafka timestamp in ms, and `value` the payload as JSON
(null for a tombstone). A payload that is not JSON (garbage that was really on a topic) is kept
as `value_base64` instead, so a replay puts back exactly what was there.

Reading checks every line and reports each bad one with its line number (`BadRecording`).
"""

import asyncio
import base64
import binascii
import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

log = logging.getLogger(__name__)


FIELDS = {"topic", "partition", "offset", "key", "timestamp", "value", "value_base64"}


class BadRecording(ValueError):
    """A recording has lines that are not records; `lines` holds (line number, reason)."""

    def __init__(self, path: Path, lines: Sequence[tuple[int, str]], total: int) -> None:
        self.path = path
        self.lines = list(lines)
        self.total = total
        shown = "; ".join(f"line {n}: {reason}" for n, reason in self.lines[:20])
        more = f" (and {total - 20} more)" if total > 20 else ""
        super().__init__(f"{path}: {total} bad line(s): {shown}{more}")


class MissingTopic(ValueError):
    def __init__(self, topic: str) -> None:
        self.topic = topic
        super().__init__(f"topic {topic!r} does not exist on the broker")


@dataclass(frozen=True, slots=True)
class RecordedRecord:
    line: int
    topic: str
    partition: int
    offset: int
    key: bytes | None
    timestamp: int
    value: bytes | None  # None: a tombstone


def to_line(
    topic: str, partition: int, offset: int, key: bytes | None, timestamp: int, value: bytes | None
) -> bytes:
    """One recording line (with its newline) for a consumed record."""
    line: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": None if key is None else key.decode("utf-8", errors="replace"),
        "timestamp": timestamp,
    }
    if value is None:  # a tombstone (compacted topics)
        line["value"] = None
    elif _is_json(value) and value.strip() != b"null":
        line["value"] = orjson.Fragment(value)  # written verbatim, not re-encoded
    else:
        line["value_base64"] = base64.b64encode(value).decode()
    return orjson.dumps(line) + b"\n"


def _is_json(value: bytes) -> bool:
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError:
        return False
    # Fragments are written verbatim, so only single-line JSON keeps one record per line.
    return b"\n" not in value and b"\r" not in value


def parse_line(number: int, raw: bytes) -> RecordedRecord:
    """The record on one line; raises ValueError saying what is wrong with it."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004 (one error type per bad line)
    topic, key = data.get("topic"), data.get("key")
    if not isinstance(topic, str) or not topic:
        raise ValueError("'topic' must be a non-empty string")
    partition, offset, timestamp = (_count(data, n) for n in ("partition", "offset", "timestamp"))
    if key is not None and not isinstance(key, str):
        raise ValueError("'key' must be a string or null")
    unknown = set(data) - FIELDS
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}")
    if ("value" in data) == ("value_base64" in data):
        raise ValueError("needs exactly one of 'value' and 'value_base64'")
    value: bytes | None
    if "value" in data:
        value = None if data["value"] is None else orjson.dumps(data["value"])
    else:
        try:
            value = base64.b64decode(data["value_base64"], validate=True)
        except (binascii.Error, TypeError):
            raise ValueError("'value_base64' is not base64") from None
    encoded_key = None if key is None else key.encode()
    return RecordedRecord(number, topic, partition, offset, encoded_key, timestamp, value)


def _count(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name!r} must be a non-negative integer")
    return value


def read_recording(path: Path) -> Iterator[RecordedRecord | tuple[int, str]]:
    """Each line's record, or (line number, reason) for a bad line; blank lines are skipped."""
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                yield parse_line(number, raw)
            except ValueError as error:
                yield number, str(error)


@dataclass
class RecordReport:
    records: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    def summary(self) -> str:
        per_topic = ", ".join(f"{t} {n}" for t, n in sorted(self.records.items())) or "nothing"
        return (
            f"recorded {sum(self.records.values())} records in {self.elapsed_s:.1f} s: {per_topic}"
        )


async def record(
    bootstrap: str,
    topics: Sequence[str],
    out: BinaryIO,
    *,
    follow: bool = False,
    duration_s: float | None = None,
    stop: asyncio.Event | None = None,
) -> RecordReport:
    """Write every record of `topics` from the beginning to `out`: up to the end offsets seen
    at the start, or with `follow` until `stop` is set or `duration_s` passes."""
    stop = stop or asyncio.Event()
    report = RecordReport()
    started = time.monotonic()
    partitions = await partitions_of(bootstrap, topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest",
    )  # fmt: skip
    async with consumer:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while not stop.is_set():
            if duration_s is not None and time.monotonic() - started >= duration_s:
                break
            if not follow and all([await _caught_up(consumer, tp, ends[tp]) for tp in partitions]):
                break
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            for tp, records in batches.items():
                for r in records:
                    out.write(
                        to_line(tp.topic, tp.partition, r.offset, r.key, r.timestamp, r.value)
                    )
                report.records[tp.topic] += len(records)
            if follow and batches:
                out.flush()  # a followed recording is readable (and survives a crash) as it grows
    out.flush()
    report.elapsed_s = time.monotonic() - started
    return report


async def partitions_of(bootstrap: str, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of `topics`, from the broker's metadata; MissingTopic if one is absent."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        # Check first: describing a missing topic would auto-create it on a default broker.
        existing = set(await admin.list_topics())
        for topic in topics:
            if topic not in existing:
                raise MissingTopic(topic)
        described = {d["topic"]: d for d in await admin.describe_topics(list(topics))}
    finally:
        await admin.close()
    partitions: list[TopicPartition] = []
    for topic in topics:
        found = described.get(topic)
        if found is None or found["error_code"] != 0 or not found["partitions"]:
            raise MissingTopic(topic)
        ids = sorted(p["partition"] for p in found["partitions"])
        partitions.extend(TopicPartition(topic, p) for p in ids)
    return partitions


async def _caught_up(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> bool:
    return bool(await consumer.position(tp) >= end)
