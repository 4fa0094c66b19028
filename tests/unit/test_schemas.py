from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from schemas import OddsSnapshot, decode, encode
from schemas.jsonschema_export import SCHEMA_DIR, render_schemas
from schemas.topics import ALL_TOPICS, Cleanup, topic_named


def snapshot(**overrides: object) -> OddsSnapshot:
    fields: dict[str, object] = {
        "source": "racing_api",
        "source_time": "2025-10-14T13:05:00+01:00",
        "race_id": "rac_1",
        "bookmaker_id": "bet365",
        "bookmaker": "Bet365",
        "prices": [{"horse_id": "hrs_1", "decimal": "2.75", "fractional": "7/4"}],
    }
    fields.update(overrides)
    return OddsSnapshot.model_validate(fields)


def test_round_trip_keeps_decimals_exact_and_times_utc() -> None:
    event = snapshot()
    decoded = decode(OddsSnapshot, encode(event))
    assert decoded == event
    assert decoded.prices[0].decimal == Decimal("2.75")
    assert decoded.source_time == datetime(2025, 10, 14, 12, 5, tzinfo=UTC)
    assert b'"decimal":"2.75"' in encode(event)


def test_naive_times_are_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        snapshot(source_time="2025-10-14T13:05:00")


def test_unknown_fields_and_bad_prices_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        snapshot(surprise=1)
    with pytest.raises(ValidationError, match="greater than 1"):
        snapshot(prices=[{"horse_id": "hrs_1", "decimal": "0.5"}])
    with pytest.raises(ValidationError, match="at least 1"):
        snapshot(prices=[])


def test_events_are_immutable() -> None:
    event = snapshot()
    with pytest.raises(ValidationError, match="frozen"):
        event.race_id = "rac_2"  # type: ignore[misc]


def test_every_event_gets_a_unique_id() -> None:
    assert snapshot().event_id != snapshot().event_id


def test_checked_in_json_schemas_are_current() -> None:
    """Run `darkhorses schemas export` when this fails."""
    rendered = render_schemas()
    on_disk = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.json")}
    assert on_disk == rendered


def test_topic_registry_is_consistent() -> None:
    names = [topic.name for topic in ALL_TOPICS]
    assert len(names) == len(set(names))
    for topic in ALL_TOPICS:
        assert topic.name.endswith(".v1")
        assert topic.key in topic.model.model_fields
        assert topic.partitions >= 1
        assert (topic.retention_ms is None) == (topic.cleanup is Cleanup.COMPACT)
    assert topic_named("racing.odds.live.v1").key == "race_id"
    with pytest.raises(KeyError, match="unknown topic"):
        topic_named("nope")
