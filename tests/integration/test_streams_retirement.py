"""A worker holds only recent races: quiet ones live in PostgreSQL alone, and a late event
brings its race back whole, before and after a restart. The database ends equal to an oracle
computed straight from the topics, as if every race had been held all along."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.partitioning import race_partition
from tests.conftest import Infra
from tests.streams_day import Record, late_events, simulate
from tests.streams_helpers import (
    assert_database_equals_topics,
    create_database,
    publish,
    start_worker,
    wait_until_consumed,
)

pytestmark = pytest.mark.integration

PREFIX = "rac_rtr"  # four races on two partitions: retirement runs on partition event time
EVENING = datetime(2026, 3, 14, 18, 0, tzinfo=UTC)
NEXT_DAY = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


async def test_quiet_races_leave_memory_and_late_events_revive_them(
    infra: Infra, artifacts: Path
) -> None:
    database_url = await create_database(infra, "retire")
    day = simulate(prefix=PREFIX, seed=5, races=4, bookmakers=4, ticks=60)
    evening = late_events(day, EVENING)
    next_day = late_events(day, NEXT_DAY)
    # Two races of one partition: the first's late price moves that partition's event time on,
    # so the second (quiet since the evening) retires.
    by_partition: dict[int, list[str]] = {}
    for race_id in sorted(next_day):
        by_partition.setdefault(race_partition(race_id), []).append(race_id)
    first, second = next(races for races in by_partition.values() if len(races) > 1)[:2]
    late: list[Record] = [r for records in evening.values() for r in records]

    app_id = "darkhorses-test-retire"
    # Races quiet for 15 minutes of event time retire; a retirement pass on every batch.
    quiet = {
        "DARKHORSES_STREAMS_RETIRE_AFTER_H": "0.25",
        "DARKHORSES_STREAMS_ANALYTICS_INTERVAL_S": "0",
    }
    worker = start_worker(infra, artifacts, app_id, database_url, **quiet)
    try:
        # Hours apart in event time. The first late price moves its partition's event time on,
        # so the races there it is not for retire on its batch, and their own late events revive
        # them: whatever batches the day arrived in (all in one, none retires before the
        # evening).
        for records in (day, late[:1], late[1:], next_day[first][:1]):
            await publish(infra.kafka_bootstrap, records)
            await wait_until_consumed(infra.kafka_bootstrap, app_id, worker)
            await assert_database_equals_topics(infra.kafka_bootstrap, database_url, PREFIX)
    finally:
        worker.stop()
    assert f"revived {PREFIX}" in worker.output()

    restarted = start_worker(infra, artifacts, app_id, database_url, **quiet)
    try:
        await publish(infra.kafka_bootstrap, next_day[second][:1])
        await wait_until_consumed(infra.kafka_bootstrap, app_id, restarted)
        await assert_database_equals_topics(infra.kafka_bootstrap, database_url, PREFIX)
    finally:
        restarted.stop()
    (_, retired), *_ = re.findall(
        r"market board recovered (\d+) races from PostgreSQL \((\d+) more retired there\)",
        restarted.output(),
    )
    assert int(retired) > 0  # left in PostgreSQL at the restart ...
    assert f"revived {second}" in restarted.output()  # ... and back for its late price
