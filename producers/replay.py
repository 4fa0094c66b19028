"""`darkhorses replay`: put a recording back onto the topics, at N x speed or as fast as possible.

Records go back unchanged (same key, same payload: event ids, source and source times as
recorded), so downstream consumers, which work in event time, compute what they computed live.
Same key and same partition count means the same partition, and each partition's records are
sent in recorded order, so per-race order holds.

Pacing follows the recorded Kafka timestamps. A recording lists partitions interleaved in
consumption order, not strictly by time, so records pass through a bounded reorder buffer keyed
by time; a partition's time is never allowed to go backwards (`effective` timestamps), which keeps
its records in order even if its timestamps do not.

The whole file is checked first: bad lines are reported with their line numbers and nothing is
sent (`BadRecording`), unless `skip_bad` is set, when the good records are replayed and the bad
lines counted and logged.
"""

import asyncio
import heapq
import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer

from producers.recording import BadRecording, RecordedRecord, read_recording

log = logging.getLogger(__name__)

REORDER_WINDOW = 20_000  # records held to restore time order across partitions


@dataclass
class ReplayReport:
    records: Counter[str] = field(default_factory=Counter)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    recorded_span_s: float = 0.0
    elapsed_s: float = 0.0

    def summary(self) -> str:
        per_topic = ", ".join(f"{t} {n}" for t, n in sorted(self.records.items())) or "nothing"
        return (
            f"replayed {sum(self.records.values())} records ({per_topic}) spanning"
            f" {self.recorded_span_s:.1f} s in {self.elapsed_s:.1f} s;"
            f" {len(self.bad_lines)} bad line(s) skipped"
        )


def check_recording(path: Path) -> list[tuple[int, str]]:
    """Every bad line of the recording, with its number and what is wrong."""
    return [item for item in read_recording(path) if isinstance(item, tuple)]


def in_time_order(
    records: Iterator[RecordedRecord], window: int = REORDER_WINDOW
) -> Iterator[tuple[int, RecordedRecord]]:
    """(effective timestamp, record) in time order within `window`, each partition in order."""
    latest: dict[tuple[str, int], int] = {}
    buffer: list[tuple[int, int, RecordedRecord]] = []
    for record in records:
        partition = (record.topic, record.partition)
        effective = max(record.timestamp, latest.get(partition, 0))
        latest[partition] = effective
        heapq.heappush(buffer, (effective, record.line, record))
        if len(buffer) > window:
            effective, _, oldest = heapq.heappop(buffer)
            yield effective, oldest
    while buffer:
        effective, _, oldest = heapq.heappop(buffer)
        yield effective, oldest


async def replay(
    bootstrap: str,
    path: Path,
    *,
    speed: float | None = None,
    topic_map: Mapping[str, str] | None = None,
    skip_bad: bool = False,
    stop: asyncio.Event | None = None,
) -> ReplayReport:
    """Publish the recording at `speed` x the recorded pace (None: as fast as possible)."""
    if speed is not None and speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    stop = stop or asyncio.Event()
    topic_map = topic_map or {}
    report = ReplayReport(bad_lines=check_recording(path))
    if report.bad_lines and not skip_bad:
        raise BadRecording(path, report.bad_lines, len(report.bad_lines))
    for number, reason in report.bad_lines:
        log.warning("replay: skipping %s line %d: %s", path, number, reason)
    records = (item for item in read_recording(path) if not isinstance(item, tuple))
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=10,
        max_batch_size=512 * 1024, compression_type="zstd",
    )  # fmt: skip
    started = time.monotonic()
    first: int | None = None
    last = 0
    async with producer:
        for effective, record in in_time_order(records):
            if stop.is_set():
                break
            first = effective if first is None else first
            last = effective
            if speed is not None:
                due = started + (effective - first) / 1000 / speed
                if due > time.monotonic():
                    await producer.flush()  # what is due now goes out before we wait
                    await _sleep_until(due, stop)
            topic = topic_map.get(record.topic, record.topic)
            await producer.send(topic, record.value, key=record.key)
            report.records[topic] += 1
        await producer.flush()
    report.elapsed_s = time.monotonic() - started
    report.recorded_span_s = (last - first) / 1000 if first is not None else 0.0
    return report


async def _sleep_until(due: float, stop: asyncio.Event) -> None:
    delay = due - time.monotonic()
    if delay > 0:
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except TimeoutError:
            return
