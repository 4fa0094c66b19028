"""Which partition a key lands on: Kafka's default (murmur2) partitioner, as our producers use."""

from aiokafka.partitioner import murmur2

from schemas.topics import RACE_PARTITIONS


def key_partition(key: bytes, partitions: int) -> int:
    """The partition of a key under Kafka's default (murmur2) partitioner."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


def race_partition(race_id: str) -> int:
    """The partition of a race on every race topic (they are co-partitioned)."""
    return key_partition(race_id.encode(), RACE_PARTITIONS)
