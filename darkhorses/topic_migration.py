"""`darkhorses topics migrate`: give existing topics the registry's partition count.

Kafka can add partitions to a topic but not move its records, and a key's partition is its hash
modulo the count: more partitions in place would split every race between two partitions, and
two workers. So a topic of another shape is recorded to a file, deleted, created again from the
registry and the recording replayed into it (same keys, same payloads, so every race lands whole
on its new partition). The race pipeline's stored offsets of the topic are then dropped, so the
workers read it again from the start: the sinks are idempotent, so nothing is applied twice.

Run it with the producers and workers stopped. Records get new Kafka timestamps (time-based
retention starts again), and live-stream resume tokens name the old layout: bump
`DARKHORSES_STREAM_EPOCH` so clients get a fresh snapshot.
"""

import asyncio
import logging
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from darkhorses.infra.kafka import ensure_topics
from darkhorses.topics import TopicsMismatch, topic_partitions
from producers.recording import record
from producers.replay import replay
from schemas.topics import Topic

log = logging.getLogger(__name__)


async def misshapen(bootstrap: str, topics: tuple[Topic, ...]) -> list[Topic]:
    """The topics of `topics` that exist with another partition count than the registry's."""
    found = await topic_partitions(bootstrap, [t.name for t in topics])
    return [t for t in topics if t.name in found and found[t.name] != t.partitions]


async def migrate_topics(
    bootstrap: str, database_url: str, topics: tuple[Topic, ...], workdir: Path
) -> list[str]:
    """Migrate every misshapen topic of `topics`; returns their names."""
    done = []
    for topic in await misshapen(bootstrap, topics):
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        path = workdir / f"{topic.name}.jsonl"
        with path.open("wb") as out:  # a local file, written as the records come
            saved = await record(bootstrap, [topic.name], out)
        log.info("%s: %s recorded to %s", topic.name, saved.summary(), path)
        await _recreate(bootstrap, topic)
        replayed = await replay(bootstrap, path)
        log.info("%s: %s", topic.name, replayed.summary())
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute("DELETE FROM stream_offsets WHERE topic = $1", topic.name)
        finally:
            await connection.close()
        done.append(topic.name)
    return done


async def _recreate(bootstrap: str, topic: Topic) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic.name])
        for _ in range(100):  # deletion completes in the background
            if topic.name not in await admin.list_topics():
                break
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
    for _ in range(50):  # the broker may still be forgetting the old topic
        try:
            await ensure_topics(bootstrap, (topic,))
        except (KafkaError, TopicsMismatch):  # retried; the last failure is raised below
            await asyncio.sleep(0.2)
        else:
            return
    await ensure_topics(bootstrap, (topic,))
