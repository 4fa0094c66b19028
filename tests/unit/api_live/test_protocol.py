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


# Instants that exist in their own offset but not in UTC, hostile numbers and types: each is a
# field error (an error frame), never an exception the connection would die of.
HOSTILE_FIELDS = [
    ("filter.off_from", '{"filter": {"off_from": "0001-01-01T00:00:00+14:00"}}'),
    ("filter.off_to", '{"filter": {"off_to": "9999-12-31T23:59:59-14:00"}}'),
    ("filter.off_from", '{"filter": {"off_from": 0}}'),
    ("filter.off_to", '{"filter": {"off_to": "tomorrow"}}'),
    ("replay.from", '{"replay": {"from": "0001-01-01T00:00:00+14:00"}}'),
    (
        "replay.to",
        '{"replay": {"from": "2026-01-01T00:00:00Z", "to": "9999-12-31T23:59:59-01:00"}}',
    ),
    ("replay", '{"replay": {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}}'),
    ("replay.speed", '{"replay": {"from": "2026-01-01T00:00:00Z", "speed": 1e308}}'),
    ("replay.speed", '{"replay": {"from": "2026-01-01T00:00:00Z", "speed": -1}}'),
    ("conflate_ms", '{"conflate_ms": 1e30}'),
    ("filter.races", '{"filter": {"races": "rac_1"}}'),
    ("filter.races.0", '{"filter": {"races": [""]}}'),
    ("fields.0", '{"fields": ["everything"]}'),
    ("resume_token", '{"resume_token": 7}'),
]


@pytest.mark.parametrize(("field", "extra"), HOSTILE_FIELDS)
def test_every_bad_field_is_a_protocol_error_naming_it(field: str, extra: str) -> None:
    text = '{"op": "subscribe", "sub_id": "a", "id": "q", ' + extra[1:]
    with pytest.raises(ProtocolError) as raised:
        parse(text, 10_000)
    assert raised.value.code is ErrorCode.INVALID_FRAME
    assert field in [p["field"] for p in raised.value.detail["problems"]]
    assert raised.value.detail["request_id"] == "q"
