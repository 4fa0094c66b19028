"""What a session starts ends with it: history readers are cancelled on close and their slots
freed, slots are waited for with a timeout, replays are limited per key, and a client that stops
reading cannot hold a slot. History is an endless fake reader, so only the bookkeeping is tested
(the integration abuse test runs the attack on a real broker)."""

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any, cast

import orjson
import pytest
from fastapi import WebSocket

from api.fanout import LiveHub
from api.live import catchup
from api.live.errors import CloseCode
from api.live.history import Emitted
from api.live.session import Session
from api.live.settings import LiveSettings
from api.live.views import Rendered


class FakeSocket:
    """Accepts whatever is sent; `client` is the peer address the quotas fall back on."""

    def __init__(self, host: str) -> None:
        self.client = type("Address", (), {"host": host})()
        self.sent: list[dict[str, Any]] = []

    async def send_text(self, text: str) -> None:
        self.sent.extend(orjson.loads(line) for line in text.split("\n"))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        pass


class EndlessHistory:
    """A history reader with more to send than any client reads."""

    async def end_offsets(self) -> list[int]:
        return []

    async def read(self, *args: Any, **kwargs: Any) -> AsyncGenerator[Emitted, None]:
        n = 0
        while True:
            n += 1
            body = {"race_id": "rac_1", "seq": n, "prev_seq": n - 1}
            yield Emitted("delta", "rac_1", Rendered(body))
            await asyncio.sleep(0)


@pytest.fixture
def endless_history(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catchup, "history_reader", lambda hub: EndlessHistory())


def make_hub(**settings: Any) -> LiveHub:
    defaults: dict[str, Any] = {"history_readers": 2, "queue_watermark": 5, "history_wait_s": 0.2}
    return LiveHub("127.0.0.1:9", LiveSettings(**{**defaults, **settings}))


def connect(hub: LiveHub, host: str = "10.0.0.1") -> tuple[Session, FakeSocket]:
    socket = FakeSocket(host)
    session = Session(hub, cast(WebSocket, socket), hub.connection_id())
    hub.sessions.add(session)
    return session, socket


def replay(sub_id: str) -> bytes:
    return orjson.dumps({"op": "subscribe", "sub_id": sub_id,
                         "replay": {"from": "2020-01-01T00:00:00Z", "speed": 0}})  # fmt: skip


def free_slots(hub: LiveHub) -> int:
    free = hub.history_slots._value  # a semaphore has no public count of free permits
    assert free == hub.settings.history_readers - hub.describe()["history"]["busy"]
    return free


def errors(session: Session) -> list[dict[str, Any]]:
    frames = [orjson.loads(e.to_text()) for e in session.outbox.entries.values()]
    return [f for f in frames if f["type"] == "error"]


async def until(predicate: Callable[[], bool], timeout_s: float = 5) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 (polling the hub's bookkeeping)
            await asyncio.sleep(0.01)


@pytest.mark.usefixtures("endless_history")
async def test_closing_a_session_cancels_its_replays_and_frees_their_slots() -> None:
    hub = make_hub()
    attacker, _ = connect(hub)
    for sub_id in ("r1", "r2"):
        await attacker.handle(replay(sub_id))
    await until(lambda: hub.history_slots.locked())  # both slots held, queue past the watermark
    assert hub.replays == {"ip:10.0.0.1": 2}

    await attacker.close()

    assert not hub.history_slots.locked()
    assert free_slots(hub) == 2
    assert not hub.replays
    assert all(task.done() for task in hub._tasks)


@pytest.mark.usefixtures("endless_history")
async def test_replays_are_limited_per_key_and_a_busy_reader_pool_answers_in_time() -> None:
    hub = make_hub(max_replays_per_key=2)
    first, _ = connect(hub, "10.0.0.1")
    for sub_id in ("r1", "r2", "r3"):
        await first.handle(replay(sub_id))
    assert [e["code"] for e in errors(first)] == ["too_many_replays"]
    assert set(first.subs) == {"r1", "r2"}
    await until(lambda: hub.history_slots.locked())

    other, _ = connect(hub, "10.0.0.2")
    await other.handle(replay("mine"))
    await until(lambda: bool(errors(other)), timeout_s=2)  # history_wait_s, not for ever
    refused = errors(other)[0]
    assert refused["code"] == "history_unavailable"
    assert refused["retry_after_ms"] > 0
    assert refused["detail"]["sub_id"] == "mine"
    assert "mine" not in other.subs  # may subscribe again under the same id

    await first.close()
    await other.handle(replay("mine"))
    await until(lambda: free_slots(hub) == 1)
    await other.close()
    assert free_slots(hub) == 2


@pytest.mark.usefixtures("endless_history")
async def test_a_client_that_stops_reading_is_closed_and_frees_its_slot() -> None:
    hub = make_hub(history_stall_s=0.2)
    session, _ = connect(hub)  # no writer runs: nothing queued is ever sent
    await session.handle(replay("r1"))
    await until(lambda: session.closing is not None)
    assert session.closing is CloseCode.SLOW_CONSUMER
    await until(lambda: not hub.history_slots.locked() and free_slots(hub) == 2)
    await session.close()
    assert not hub.replays


async def test_a_request_that_fails_inside_gets_an_error_frame_not_a_dropped_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = make_hub()
    session, _ = connect(hub)

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(hub, "attach", broken)
    await session.handle(b'{"op": "subscribe", "sub_id": "a", "id": "s"}')
    assert [(e["code"], e["id"], e["fatal"]) for e in errors(session)] == [
        ("internal_error", "s", False)
    ]
    assert session.closing is None
    await session.close()
