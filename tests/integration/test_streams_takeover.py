"""Takeover and topic checks on the real broker: a worker restarted after kill -9 takes its
partitions back at once (static group membership), runtimes refuse topics that do not match
the registry, and `topics migrate` reshapes one."""

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from darkhorses.infra.kafka import ensure_topics
from darkhorses.topic_migration import migrate_topics
from darkhorses.topics import TopicsMismatch, check_topics
from schemas.odds import OddsSnapshot
from schemas.topics import ALL_TOPICS, ODDS_LIVE, Cleanup, Topic, race_group
from streams.partitioning import key_partition
from tests.conftest import Infra
from tests.kafka_helpers import read_all
from tests.streams_day import simulate
from tests.streams_helpers import (
    assert_database_equals_topics,
    publish,
    start_worker,
    wait_until_consumed,
)

pytestmark = pytest.mark.integration


async def consumed(database_url: str, consumer: str) -> int:
    """Odds events the pipeline of `consumer` has committed, over every partition."""
    connection = await asyncpg.connect(database_url)
    try:
        total: int | None = await connection.fetchval(
            "SELECT sum(next_offset) FROM stream_offsets WHERE consumer = $1 AND topic = $2",
            consumer,
            ODDS_LIVE.name,
        )
        return total or 0
    finally:
        await connection.close()


async def test_a_worker_restarted_after_kill_9_commits_its_first_batch_within_10_s(
    infra: Infra, artifacts: Path
) -> None:
    """Without static membership the group waits out the dead member's session (10 s here, 60 s
    by default) before it hands its partitions over."""
    prefix = "rac_take"
    records = simulate(prefix=prefix, seed=9, races=4, bookmakers=6, ticks=40)
    half = len(records) // 2
    app_id = "darkhorses-test-takeover"
    instance = {"DARKHORSES_STREAMS_INSTANCE_ID": "takeover-1"}
    worker = start_worker(infra, artifacts, app_id, **instance)
    await publish(infra.kafka_bootstrap, records[:half])
    await wait_until_consumed(infra.kafka_bootstrap, app_id, worker)
    worker.process.kill()  # SIGKILL: the member never leaves the group
    worker.process.wait()
    before = await consumed(infra.database_url, race_group(app_id))
    await publish(infra.kafka_bootstrap, records[half:])

    started = time.monotonic()
    restarted = start_worker(infra, artifacts, app_id, **instance)
    try:
        while await consumed(infra.database_url, race_group(app_id)) == before:
            assert restarted.process.poll() is None, restarted.output()[-3000:]
            assert time.monotonic() - started < 60, "no batch committed in 60 s"
            await asyncio.sleep(0.1)
        took = time.monotonic() - started
        assert took < 10, f"first batch committed {took:.1f} s after the restart"
        await wait_until_consumed(infra.kafka_bootstrap, app_id, restarted)
        await assert_database_equals_topics(infra.kafka_bootstrap, infra.database_url, prefix)
    finally:
        restarted.stop()


async def test_topics_that_do_not_match_the_registry_are_refused(infra: Infra) -> None:
    """A topic made by anything but the registry (3 partitions where it says 6, as a broker's
    auto-creation would make it) or a missing one fails the check every runtime runs at start,
    and `ensure_topics` (`darkhorses topics create`) does not accept it either."""
    suffix = uuid.uuid4().hex[:6]
    misshapen = Topic(f"scratch.misshapen.{suffix}", OddsSnapshot, "race_id", 6, Cleanup.DELETE)
    missing = Topic(f"scratch.missing.{suffix}", OddsSnapshot, "race_id", 6, Cleanup.DELETE)
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(misshapen.name, 3, 1)])
    finally:
        await admin.close()
    with pytest.raises(TopicsMismatch) as refused:
        await check_topics(infra.kafka_bootstrap, (ODDS_LIVE, misshapen, missing))
    message = str(refused.value)
    assert f"{misshapen.name} has 3 partitions, the registry 6" in message
    assert f"{missing.name} is missing" in message
    assert ODDS_LIVE.name not in message
    assert "darkhorses topics create" in message
    with pytest.raises(TopicsMismatch, match="has 3 partitions"):
        await ensure_topics(infra.kafka_bootstrap, (misshapen,))
    await check_topics(infra.kafka_bootstrap, ALL_TOPICS)  # the registry's own pass


async def test_the_local_broker_never_creates_a_topic_on_first_use(infra: Infra) -> None:
    """A producer started before `topics create` must not create its topic with the broker's
    defaults: the send fails and the topic stays absent."""
    name = f"scratch.autocreate.{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, request_timeout_ms=3000)
    await producer.start()
    try:
        with pytest.raises(KafkaError):
            await producer.send_and_wait(name, b"{}")
    finally:
        await producer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        assert name not in await admin.list_topics()
    finally:
        await admin.close()


def test_a_runtime_that_cannot_check_its_topics_does_not_start(infra: Infra) -> None:
    """The check is wired into the command line: the API, pointed at an address with no broker,
    exits at once with a clear message instead of serving without its topics."""
    result = subprocess.run(
        [sys.executable, "-m", "darkhorses", "api"],
        env=infra.env(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "cannot read topics from Kafka" in result.stderr


async def test_topics_migrate_gives_a_topic_the_registrys_partitions_keeping_every_record(
    infra: Infra, tmp_path: Path
) -> None:
    """A topic of 3 partitions where the registry says 6: recorded, recreated and replayed, every
    record is on the new topic once, on its key's partition, and the stored offsets of the
    topic are dropped so the workers read it again."""
    name = f"scratch.migrate.{uuid.uuid4().hex[:6]}"
    topic = Topic(name, OddsSnapshot, "race_id", 6, Cleanup.DELETE)
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1)])
    finally:
        await admin.close()
    sent = {f"rac_m{n}".encode(): f'{{"n":{n}}}'.encode() for n in range(40)}  # compact JSON
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap)
    await producer.start()
    try:
        for key, value in sent.items():
            await producer.send_and_wait(name, value, key=key)
    finally:
        await producer.stop()
    connection = await asyncpg.connect(infra.database_url)
    try:
        await connection.execute(
            "INSERT INTO stream_offsets (consumer, topic, partition, next_offset) "
            "VALUES ('some.races', $1, 0, 13)",
            name,
        )
        assert await migrate_topics(infra.kafka_bootstrap, infra.database_url, (topic,), tmp_path)
        left = await connection.fetchval(
            "SELECT count(*) FROM stream_offsets WHERE topic = $1", name
        )
    finally:
        await connection.close()
    assert left == 0
    await check_topics(infra.kafka_bootstrap, (topic,))  # 6 partitions now
    records = await read_all(infra.kafka_bootstrap, name)
    assert {r.key: r.value for r in records} == sent
    assert len(records) == len(sent)
    assert all(r.partition == key_partition(r.key, 6) for r in records)
    assert await migrate_topics(infra.kafka_bootstrap, infra.database_url, (topic,), tmp_path) == []
