from typing import Any

from client import LiveClient


def frame(
    kind: str, seq: int, prev: int | None = None, price: str = "2", **extra: Any
) -> dict[str, Any]:
    prices = [{"horse_id": "h", "bookmaker_id": "b", "price": price}]
    body = {"type": kind, "sub_id": "s", "race_id": "r", "seq": seq, "token": f"t{seq}",
            "prices": prices, **extra}  # fmt: skip
    if prev is not None:
        body["prev_seq"] = prev
    return body


def test_snapshot_then_deltas_build_the_book_and_track_the_token() -> None:
    client = LiveClient("ws://unused", [{"sub_id": "s"}])
    assert client.apply(frame("snapshot", 3, reason="subscribe")) is None
    assert client.apply(frame("delta", 7, prev=3, price="3.5")) is None
    assert client.prices("s") == {("r", "h", "b"): "3.5"}
    assert client.tokens["s"] == "t7"


def test_a_duplicate_is_ignored_and_a_gap_asks_for_a_resync() -> None:
    client = LiveClient("ws://unused", [{"sub_id": "s"}])
    client.apply(frame("snapshot", 3, reason="subscribe"))
    client.apply(frame("delta", 7, prev=3, price="3.5"))
    assert client.apply(frame("delta", 7, prev=3, price="9")) is None
    assert client.stats.duplicates == 1
    assert client.apply(frame("delta", 12, prev=9)) == {"op": "resync", "sub_id": "s",
                                                        "race_id": "r"}  # fmt: skip
    assert client.stats.gaps == 1
    assert client.apply(frame("delta", 15, prev=12)) is None  # ignored until the snapshot
    client.apply(frame("snapshot", 15, price="4", reason="resync"))
    assert client.prices("s") == {("r", "h", "b"): "4"}
    assert client.stats.deltas == 1


def test_heartbeat_and_reconnect_frames_update_tokens() -> None:
    client = LiveClient("ws://unused", [{"sub_id": "s"}])
    client.apply({"type": "heartbeat", "lag_ms": 5, "status": {}, "tokens": {"s": "hb"}})
    assert client.tokens["s"] == "hb"
    client.apply({"type": "reconnect", "reason": "shutdown", "tokens": {"s": "bye"}})
    assert (client.tokens["s"], client.stats.reconnect_notices) == ("bye", 1)
