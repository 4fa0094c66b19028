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


def test_a_message_of_several_frames_is_applied_frame_by_frame_in_order() -> None:
    from api.live.views import Rendered
    from client.live import frames_of

    def rendered(seq: int, prev: int, price: str) -> Rendered:
        prices = [{"horse_id": "h", "bookmaker_id": "b", "price": price}]
        return Rendered({"race_id": "r", "seq": seq, "prev_seq": prev, "token": f"t{seq}",
                         "prices": prices})  # fmt: skip

    prices = [{"horse_id": "h", "bookmaker_id": "b", "price": "2"}]
    snapshot = Rendered({"race_id": "r", "reason": "subscribe", "seq": 3, "token": "t3",
                         "prices": prices})  # fmt: skip
    # As the server's delivery joins them: one JSON object per line, no trailing newline.
    message = "\n".join([snapshot.frame("snapshot", "s"), rendered(7, 3, "3").frame("delta", "s"),
                         rendered(9, 7, "4.5").frame("delta", "s")])  # fmt: skip
    frames = frames_of(message)
    assert [f["type"] for f in frames] == ["snapshot", "delta", "delta"]
    assert frames_of(message.encode()) == frames
    client = LiveClient("ws://unused", [{"sub_id": "s"}])
    assert all(client.apply(frame) is None for frame in frames)
    assert client.prices("s") == {("r", "h", "b"): "4.5"}
    assert (client.tokens["s"], client.stats.gaps, client.stats.duplicates) == ("t9", 0, 0)
