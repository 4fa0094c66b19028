"""Recording lines: round trips, payloads that are not JSON, bad lines with line numbers, and
the replay order (time order across partitions, offset order within each)."""

import base64
from pathlib import Path

import orjson
import pytest

from producers.recording import BadRecording, RecordedRecord, parse_line, read_recording, to_line
from producers.replay import check_recording, in_time_order


def test_a_record_round_trips_through_its_line() -> None:
    value = b'{"race_id":"rac_1","prices":[{"decimal":"2.50"}],"n":1.25,"name":"Caf\xc3\xa9"}'
    line = to_line("racing.odds.live.v1", 4, 1234, b"rac_1", 1_764_331_200_000, value)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    parsed = orjson.loads(line)
    assert parsed["value"] == orjson.loads(value)  # the payload is JSON, not a string
    record = parse_line(7, line)
    assert record == RecordedRecord(
        7, "racing.odds.live.v1", 4, 1234, b"rac_1", 1_764_331_200_000, value
    )


def test_payloads_that_are_not_json_and_tombstones_are_kept_exactly() -> None:
    for value in (b'{"race_id": "rac_bad", "prices": "not', b"\xff\xfe", b"null", b'{"a":\n1}'):
        line = to_line("t", 0, 1, b"k", 5, value)
        assert orjson.loads(line)["value_base64"] == base64.b64encode(value).decode()
        assert parse_line(1, line).value == value
    tombstone = to_line("t", 0, 2, b"k", 5, None)
    assert orjson.loads(tombstone)["value"] is None
    assert parse_line(1, tombstone).value is None
    assert parse_line(1, to_line("t", 0, 3, None, 5, b"{}")).key is None


def test_bad_lines_are_reported_with_their_numbers(tmp_path: Path) -> None:
    good = to_line("t", 0, 0, b"k", 1, b'{"x":1}')
    path = tmp_path / "day.jsonl"
    path.write_bytes(
        good
        + b"not json at all\n"
        + b"\n"  # blank lines carry no record and are not errors
        + b'{"topic":"t","partition":-1,"offset":0,"key":null,"timestamp":1,"value":{}}\n'
        + b'{"topic":"t","partition":0,"offset":0,"key":null,"timestamp":1}\n'
        + b"[1,2]\n"
        + b'{"topic":"t","partition":0,"offset":0,"key":3,"timestamp":1,"value":{}}\n'
        + b'{"topic":"t","partition":0,"offset":0,"key":null,"timestamp":1,"value":{},"x":1}\n'
        + b'{"topic":"t","partition":0,"offset":0,"key":null,"timestamp":1,"value_base64":"@@"}\n'
        + good
    )
    bad = check_recording(path)
    assert [number for number, _ in bad] == [2, 4, 5, 6, 7, 8, 9]
    reasons = dict(bad)
    assert "not JSON" in reasons[2]
    assert "'partition' must be a non-negative integer" in reasons[4]
    assert "exactly one of 'value' and 'value_base64'" in reasons[5]
    assert "not a JSON object" in reasons[6]
    assert "'key' must be a string or null" in reasons[7]
    assert "unknown field" in reasons[8]
    assert "not base64" in reasons[9]
    records = [r for r in read_recording(path) if isinstance(r, RecordedRecord)]
    assert [r.line for r in records] == [1, 10]
    error = BadRecording(path, bad, len(bad))
    assert "line 2: not JSON" in str(error)
    assert "7 bad line(s)" in str(error)


def _record(line: int, partition: int, timestamp: int) -> RecordedRecord:
    return RecordedRecord(line, "t", partition, line, b"k", timestamp, b"{}")


def test_replay_order_is_by_time_across_partitions_and_by_offset_within_one() -> None:
    # as consumed: partition 0's batch, then partition 1's; partition 1 has a clock step back
    consumed = [
        _record(1, 0, 100), _record(2, 0, 300), _record(3, 0, 500),
        _record(4, 1, 200), _record(5, 1, 400), _record(6, 1, 350), _record(7, 1, 600),
    ]  # fmt: skip
    ordered = list(in_time_order(iter(consumed)))
    assert [r.line for _, r in ordered] == [1, 4, 2, 5, 6, 3, 7]
    assert [t for t, _ in ordered] == [100, 200, 300, 400, 400, 500, 600]
    # a window smaller than the interleaving still never reorders a partition
    narrow = [r.line for _, r in in_time_order(iter(consumed), window=1)]
    for partition in (0, 1):
        lines = [r.line for r in consumed if r.partition == partition]
        assert [n for n in narrow if n in lines] == lines


@pytest.mark.parametrize("speed", [0, -1.5])
async def test_replay_rejects_a_speed_that_is_not_positive(tmp_path: Path, speed: float) -> None:
    from producers.replay import replay

    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="speed must be positive"):
        await replay("127.0.0.1:1", path, speed=speed)
