"""The AsyncAPI 3.0 document: the websocket protocol and the Kafka topics, served by the API.

Topic channels are generated from the topic registry (schemas/topics.py) and each event model's
JSON Schema (the same one checked in under schemas/jsonschema/); websocket messages from the
protocol's request models and the frame shapes below.
"""

import json
from functools import cache
from typing import Any

from fastapi import APIRouter

from api.live.errors import CloseCode, ErrorCode
from api.live.protocol import Auth, Ping, Resync, Subscribe, Unsubscribe
from schemas.jsonschema_export import render_schemas
from schemas.topics import ALL_TOPICS

router = APIRouter(tags=["docs"])

_TIME = {"type": "string", "format": "date-time"}
_PRICE = {
    "type": "object",
    "properties": {
        "horse_id": {"type": "string"},
        "bookmaker_id": {"type": "string"},
        "price": {"type": ["string", "null"], "description": "In the subscription's format."},
        "source_time": _TIME,
        "ingest_time": _TIME,
    },
}
_BEST = {
    "type": "object",
    "properties": {
        "horse_id": {"type": "string"},
        "price": {"type": ["string", "null"]},
        "bookmaker_ids": {"type": "array", "items": {"type": "string"}},
        "source_time": _TIME,
        "ingest_time": _TIME,
    },
}
_ANALYTICS = {
    "type": ["object", "null"],
    "description": "The streams worker's analytics of the race (racing.analytics.race.v1), "
    "relayed; null until it has analysed the race.",
    "properties": {
        "revision": {"type": "integer"},
        "as_of": _TIME,
        "book_pct": {"type": ["number", "null"], "description": "Book % of the best prices."},
        "runners": {"type": "object", "additionalProperties": {"type": "object"}},
    },
}
_MARKET = {
    "type": ["object", "null"],
    "properties": {
        "status": {"enum": ["open", "suspended", "off", "abandoned", "result"]},
        "reason": {"type": ["string", "null"]},
        "source_time": _TIME,
        "ingest_time": _TIME,
    },
}
_RACE_FRAME = {
    "sub_id": {"type": "string"},
    "race_id": {"type": "string"},
    "seq": {"type": "integer", "description": "Offset of the race's last price event (-1: none)."},
    "token": {"type": ["string", "null"], "description": "Resume token after this frame."},
}


def _frame(kind: str, description: str, **properties: Any) -> dict[str, Any]:
    return {
        "name": kind,
        "title": kind,
        "summary": description,
        "contentType": "application/json",
        "payload": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"const": kind}, **properties},
        },
    }


SERVER_FRAMES: dict[str, dict[str, Any]] = {
    "welcome": _frame("welcome", "First frame: connection id, server epoch and limits.",
                      connection_id={"type": "string"}, server_epoch={"type": "integer"},
                      auth_required={"type": "boolean"}, heartbeat_ms={"type": "integer"},
                      limits={"type": "object"}),
    "status": _frame("status", "Reply to a request (same `id`).", id={"type": ["string", "null"]},
                     op={"type": "string"}, sub_id={"type": ["string", "null"]},
                     ok={"type": "boolean"}),
    "snapshot": _frame("snapshot", "A race's full image; replaces what the client holds.",
                       **_RACE_FRAME, reason={"enum": ["subscribe", "resync", "race_added",
                       "card_changed", "resume_window_exceeded", "epoch_changed",
                       "invalid_token", "replay"]}, card={"type": ["object", "null"]},
                       prices={"type": "array", "items": _PRICE},
                       best={"type": "array", "items": _BEST}, analytics=_ANALYTICS,
                       market=_MARKET),
    "delta": _frame("delta", "One price event (or several, merged, when `conflated`). A gap "
                    "when `prev_seq` differs from the client's last `seq`; a duplicate when "
                    "`seq` is not above it.", **_RACE_FRAME, prev_seq={"type": "integer"},
                    conflated={"type": "boolean"}, replay={"type": "boolean"},
                    prices={"type": "array", "items": _PRICE},
                    best={"type": "array", "items": _BEST}, analytics=_ANALYTICS),
    "market": _frame("market", "The race's market status changed.", **_RACE_FRAME,
                     market=_MARKET),
    "heartbeat": _frame("heartbeat", "After `heartbeat_ms` of silence.",
                        lag_ms={"type": ["integer", "null"]},
                        status={"type": "object", "additionalProperties":
                                {"enum": ["ok", "degraded", "stale"]}},
                        tokens={"type": "object", "additionalProperties": {"type": "string"}}),
    "error": _frame("error", "Typed error; the connection stays open unless `fatal`.",
                    id={"type": ["string", "null"]}, code={"enum": [c.value for c in ErrorCode]},
                    message={"type": "string"}, fatal={"type": "boolean"},
                    retry_after_ms={"type": ["integer", "null"]},
                    detail={"type": ["object", "null"],
                            "description": "`problems` (field, message) of an invalid frame; "
                                           "`sub_id` of a failed replay."}),
    "reconnect": _frame("reconnect", "The server is about to close: reconnect with `tokens`.",
                        reason={"enum": ["shutdown", "slow_consumer"]},
                        close_code={"type": "integer"}, retry_after_ms={"type": "integer"},
                        tokens={"type": "object", "additionalProperties": {"type": "string"}}),
    "replay_end": _frame("replay_end", "A replay subscription has sent everything.",
                         sub_id={"type": "string"}, updates={"type": "integer"}),
    "pong": _frame("pong", "Reply to ping.", id={"type": ["string", "null"]}),
}  # fmt: skip

CLIENT_FRAMES = {m.__name__.lower(): m for m in (Auth, Subscribe, Unsubscribe, Resync, Ping)}


@cache
def document() -> dict[str, Any]:
    messages: dict[str, Any] = dict(SERVER_FRAMES)
    for name, model in CLIENT_FRAMES.items():
        messages[f"client_{name}"] = {
            "name": name,
            "title": name,
            "contentType": "application/json",
            "payload": model.model_json_schema(by_alias=True),
        }
    channels: dict[str, Any] = {
        "live": {
            "address": "/v1/stream",
            "title": "Live odds stream",
            "description": (
                "Credentials (an API key, or a token minted from one by POST /v1/stream/token; "
                "required when the API requires keys): `api_key` or `token` query parameter, "
                "`X-API-Key` or `Authorization: Bearer` header, or an `auth` frame. A connection "
                "whose key is revoked is closed with 4001. Server messages carry one or more "
                "frames, one JSON object per "
                "line. Close codes: " + ", ".join(f"{c.value} {c.name.lower()}" for c in CloseCode)
            ),
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
        }
    }
    operations: dict[str, Any] = {
        "receiveFrames": {
            "action": "send",
            "channel": {"$ref": "#/channels/live"},
            "summary": "Frames the server sends.",
            "messages": [{"$ref": f"#/channels/live/messages/{n}"} for n in SERVER_FRAMES],
        },
        "sendRequests": {
            "action": "receive",
            "channel": {"$ref": "#/channels/live"},
            "summary": "Requests the client sends (`op`).",
            "messages": [{"$ref": f"#/channels/live/messages/client_{n}"} for n in CLIENT_FRAMES],
        },
    }
    event_schemas = render_schemas()  # the same text as the checked-in schemas/jsonschema/
    for topic in ALL_TOPICS:
        message = topic.model.__name__
        messages[message] = {
            "name": message,
            "contentType": "application/json",
            "payload": json.loads(event_schemas[f"{message}.json"]),
            "bindings": {"kafka": {"key": {"type": "string", "description": topic.key}}},
        }
        channels[topic.name] = {
            "address": topic.name,
            "servers": [{"$ref": "#/servers/kafka"}],
            "description": topic.description,
            "messages": {message: {"$ref": f"#/components/messages/{message}"}},
            "bindings": {"kafka": {"topic": topic.name, "partitions": topic.partitions,
                                   "topicConfiguration": {"cleanup.policy": [topic.cleanup.value],
                                                          **({"retention.ms": topic.retention_ms}
                                                             if topic.retention_ms else {})}}},
        }  # fmt: skip
        operations[f"consume_{topic.name}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{topic.name}"},
            "messages": [{"$ref": f"#/channels/{topic.name}/messages/{message}"}],
        }
    channels["live"]["servers"] = [{"$ref": "#/servers/api"}]
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "DarkHorses live odds",
            "version": "0.1.0",
            "description": "The websocket live stream and the Kafka topics behind it.",
        },
        "servers": {
            "api": {"host": "localhost:8000", "protocol": "ws", "pathname": "/"},
            "kafka": {"host": "localhost:19092", "protocol": "kafka"},
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


@router.get("/asyncapi.json")
async def asyncapi_json() -> dict[str, Any]:
    """The AsyncAPI 3.0 document for the websocket stream and the Kafka topics."""
    return document()
