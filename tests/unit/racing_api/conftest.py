"""Fixtures for the Racing API producers: real recorded payloads, settings, an in-memory sink."""

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from darkhorses.settings import RacingApiSettings
from producers.racing_api.settings import RacingApiProducerSettings
from schemas.base import Event
from schemas.topics import Topic

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "racing_api"


def load_sample(name: str) -> Any:
    return json.loads((RESOURCES / name).read_text())


@pytest.fixture
def pro_cards() -> dict[str, Any]:
    """The recorded /racecards/pro page of 2025-10-14 (a fresh copy per test)."""
    return copy.deepcopy(load_sample("racecards_pro_2025-10-14.json"))


@pytest.fixture
def results_page() -> dict[str, Any]:
    return copy.deepcopy(load_sample("results_2025-10-07.json"))


@dataclass
class MemorySink:
    """Records what a producer publishes, in order (pure units only; integration uses Kafka)."""

    events: list[tuple[str, Event]] = field(default_factory=list)
    flushes: int = 0

    async def publish(self, topic: Topic, event: Event) -> None:
        self.events.append((topic.name, event))

    async def flush(self) -> None:
        self.flushes += 1

    def on(self, topic: Topic) -> list[Any]:
        return [event for name, event in self.events if name == topic.name]


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def make_settings() -> Callable[..., RacingApiProducerSettings]:
    def make(**overrides: Any) -> RacingApiProducerSettings:
        fields: dict[str, Any] = {"max_retries": 3, "backoff_s": 0.5, "timeout_s": 5.0}
        fields.update(overrides)
        return RacingApiProducerSettings(**fields)

    return make


@pytest.fixture
def api_settings() -> RacingApiSettings:
    return RacingApiSettings(
        RACING_API_BASE_URL="https://racing.test/v1",
        RACING_API_USERNAME="user",
        RACING_API_PASSWORD="secret",  # noqa: S106 - a test credential for a mock transport
    )


class Sleeps:
    """An injected `sleep` that records delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
