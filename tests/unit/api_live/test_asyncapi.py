import json

from api.asyncapi import SERVER_FRAMES, document
from schemas.jsonschema_export import SCHEMA_DIR
from schemas.topics import ALL_TOPICS


def test_every_topic_is_a_channel_with_its_checked_in_json_schema() -> None:
    doc = document()
    assert doc["asyncapi"] == "3.0.0"
    for topic in ALL_TOPICS:
        channel = doc["channels"][topic.name]
        assert channel["bindings"]["kafka"]["partitions"] == topic.partitions
        name = topic.model.__name__
        on_disk = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
        assert doc["components"]["messages"][name]["payload"] == on_disk


def test_the_websocket_channel_lists_every_frame_and_request() -> None:
    live = document()["channels"]["live"]
    assert live["address"] == "/v1/stream"
    assert set(SERVER_FRAMES) <= set(live["messages"])
    assert {"client_subscribe", "client_unsubscribe", "client_resync", "client_auth"} <= set(
        live["messages"]
    )
    replay = document()["components"]["messages"]["client_subscribe"]["payload"]
    assert "resume_token" in replay["properties"]
    assert "4008" in live["description"]
