"""Golden day through the real broker, worker and database: the analytics PostgreSQL holds are
exactly the golden statistics, and replaying the whole day again changes no row."""

from pathlib import Path

import orjson
import pytest

from tests.conftest import Infra
from tests.streams_day import GOLDEN, read_day
from tests.streams_helpers import (
    expected_analytics,
    odds_oracle,
    publish,
    snapshot,
    start_worker,
    wait_for_analytics,
    wait_until_consumed,
)

pytestmark = pytest.mark.integration


async def test_golden_day_in_postgres_and_a_replay_changes_nothing(
    infra: Infra, artifacts: Path
) -> None:
    records = read_day()
    app_id = "darkhorses-test-golden"
    worker = start_worker(infra, artifacts, app_id)
    try:
        await publish(infra.kafka_bootstrap, records)
        await wait_until_consumed(infra.kafka_bootstrap, app_id, worker)
        golden = orjson.loads(GOLDEN.read_bytes())
        await wait_for_analytics(infra.database_url, "rac_gold", expected_analytics(golden))

        first = await snapshot(infra.database_url, "rac_gold")
        latest, history = odds_oracle(records)
        assert {r[:3]: r[3] for r in first["odds_latest"]} == latest
        assert {r[:4] for r in first["odds_history"]} == history
        assert len(first["odds_history"]) == len(history)
        assert len(first["races"]) == len(golden["races"])

        await publish(infra.kafka_bootstrap, records)  # the whole day again: all duplicates
        await wait_until_consumed(infra.kafka_bootstrap, app_id, worker)
        assert await snapshot(infra.database_url, "rac_gold") == first
    finally:
        worker.stop()
    assert "Traceback" not in worker.output()
