import pytest

from api.live.errors import ErrorCode, ProtocolError
from api.live.protocol import DataField, OddsFormat, Subscribe, parse


def test_subscribe_defaults_and_filters() -> None:
    frame = parse(
        '{"op": "subscribe", "sub_id": "a", "format": "fractional", "conflate_ms": 250,'
        ' "filter": {"regions": ["GB"], "off_from": "2026-11-28T12:00:00Z"}}',
        10_000,
    )
    assert isinstance(frame, Subscribe)
    assert frame.format is OddsFormat.FRACTIONAL
    assert frame.fields == {DataField.BEST, DataField.PRICES, DataField.MARKET}
    assert frame.filter.needs_card
    assert frame.filter.off_from is not None
    assert frame.filter.off_from.utcoffset() is not None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{", ErrorCode.INVALID_JSON),
        ('"a string"', ErrorCode.INVALID_FRAME),
        ('{"op": "fly"}', ErrorCode.UNKNOWN_OP),
        ('{"op": "subscribe"}', ErrorCode.INVALID_FRAME),
        ('{"op": "subscribe", "sub_id": "a", "extra": 1}', ErrorCode.INVALID_FRAME),
        ('{"op": "subscribe", "sub_id": "a", "filter": {"off_from": "2026-01-01T00:00"}}',
         ErrorCode.INVALID_FRAME),
        ('{"op": "subscribe", "sub_id": "a", "conflate_ms": -1}', ErrorCode.INVALID_FRAME),
        ("x" * 101, ErrorCode.FRAME_TOO_LARGE),
    ],
)  # fmt: skip
def test_bad_frames_raise_typed_errors(text: str, code: ErrorCode) -> None:
    with pytest.raises(ProtocolError) as raised:
        parse(text, 100)
    assert raised.value.code is code
    frame = raised.value.frame()
    assert frame["type"] == "error"
    assert frame["fatal"] is False


def test_validation_errors_name_the_field_and_echo_the_request_id() -> None:
    with pytest.raises(ProtocolError) as raised:
        parse('{"op": "subscribe", "id": "r9", "sub_id": "a", "format": "roman"}', 1000)
    assert "format" in raised.value.message
    assert raised.value.detail["request_id"] == "r9"
