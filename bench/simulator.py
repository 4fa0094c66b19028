"""Simulator load mode: price updates per second published into Kafka and acknowledged.

Two runs on a fresh broker: unthrottled (what the load generator and one idempotent producer
sustain on this machine: `simulator_prices_per_s`) and paced at 100,000 prices/s (whether that
target rate is held: `simulator_paced_100k_prices_per_s`, and at what CPU cost to the producer
process: `simulator_paced_100k_cpu_percent`). The record count on the topic is
checked against the events the generator reports, so the figure is of prices really in Kafka.
"""

import asyncio
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from bench.harness import bench_infra, record
from producers.load import LoadReport, run_load
from producers.settings import SimulatorSettings
from schemas.topics import ODDS_LIVE

SECONDS = 20


async def _records_on_topic(bootstrap: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(ODDS_LIVE.name, p) for p in range(ODDS_LIVE.partitions)]
        ends = await consumer.end_offsets(partitions)
        return int(sum(ends.values()))
    finally:
        await consumer.stop()


def _load(bootstrap: str, rate: float) -> tuple[LoadReport, float]:
    """The run's report and the producer process's CPU use over it (100 = one core)."""
    settings = SimulatorSettings(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap, seed=5, races=12, bookmakers=24,
        load_rate=rate, load_duration_s=SECONDS,
    )  # fmt: skip
    cpu = time.process_time()
    report = asyncio.run(run_load(settings))
    cpu_percent = (time.process_time() - cpu) / report.elapsed_s * 100
    print(f"{report.summary()}; producer CPU {cpu_percent:.0f} % of a core")
    if report.failed_batches:
        raise RuntimeError(f"{report.failed_batches} batches failed")
    return report, cpu_percent


def main() -> None:
    with bench_infra() as infra:
        unthrottled, _ = _load(infra.kafka_bootstrap, 1e9)
        paced, paced_cpu = _load(infra.kafka_bootstrap, 100_000)
        on_topic = asyncio.run(_records_on_topic(infra.kafka_bootstrap))
    sent = unthrottled.events + paced.events
    if on_topic != sent:
        raise RuntimeError(f"{on_topic} records on the topic, {sent} sent")
    record(
        {
            "simulator_prices_per_s": unthrottled.prices_per_s,
            "simulator_events_per_s": unthrottled.events / unthrottled.elapsed_s,
            "simulator_mb_per_s": unthrottled.bytes / unthrottled.elapsed_s / 1e6,
            "simulator_paced_100k_prices_per_s": paced.prices_per_s,
            "simulator_paced_100k_cpu_percent": paced_cpu,
        }
    )


if __name__ == "__main__":
    main()
