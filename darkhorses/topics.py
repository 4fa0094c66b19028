"""Start-up check that the Kafka topics a runtime uses exist as the registry says.

A topic created by anything else (a broker's auto-creation, a hand-made one) has the wrong
partition count or policy, and a wrong partition count silently breaks the per-race ordering and
ownership every consumer relies on: each runtime refuses to start instead, with the fix.
"""

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from schemas.topics import Topic


class TopicsMismatch(RuntimeError):
    """Topics missing or with another partition count than the registry's; the message says
    which and what to run."""


async def topic_partitions(bootstrap: str, names: list[str]) -> dict[str, int]:
    """Partition count of each of `names` that exists on the cluster."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    found: dict[str, int] = {}
    for topic in described:
        if topic.get("error_code", 0) == 0:
            found[topic["topic"]] = len(topic["partitions"])
    return found


def mismatches(topics: tuple[Topic, ...], found: dict[str, int]) -> list[str]:
    problems = []
    for topic in topics:
        partitions = found.get(topic.name)
        if partitions is None:
            problems.append(f"{topic.name} is missing")
        elif partitions != topic.partitions:
            problems.append(
                f"{topic.name} has {partitions} partitions, the registry {topic.partitions}"
            )
    return problems


async def check_topics(bootstrap: str, topics: tuple[Topic, ...]) -> None:
    """Raise `TopicsMismatch` unless every topic of `topics` exists with its partition count."""
    try:
        found = await topic_partitions(bootstrap, [t.name for t in topics])
    except KafkaError as error:
        raise TopicsMismatch(f"cannot read topics from Kafka at {bootstrap}: {error}") from error
    if problems := mismatches(topics, found):
        raise TopicsMismatch(
            "Kafka topics do not match the registry (schemas/topics.py): "
            + "; ".join(problems)
            + ". Create missing topics with `darkhorses topics create`; a topic with the wrong "
            "partition count must be deleted and created again (its data re-published), since "
            "changing it would move races between partitions."
        )
