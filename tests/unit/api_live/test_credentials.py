"""One set of API keys for REST and the stream: the stream's own keys and the database's."""

import pytest

from api.live.credentials import StreamCredentials
from api.live.settings import LiveSettings


async def database_keys(api_key: str) -> bool:
    return api_key == "dh_from_database"


@pytest.mark.parametrize(
    ("stream_keys", "auth_required", "open_mode"),
    [("", False, True), ("", True, False), ("k1", False, False), ("k1", True, False)],
)
def test_the_stream_is_open_only_without_its_own_keys_and_without_required_auth(
    stream_keys: str, auth_required: bool, open_mode: bool
) -> None:
    live = LiveSettings(api_keys=stream_keys)
    assert StreamCredentials(live, auth_required, database_keys).open_mode is open_mode


async def test_stream_keys_and_database_keys_are_accepted_nothing_else() -> None:
    credentials = StreamCredentials(LiveSettings(api_keys="k1, k2"), True, database_keys)
    assert [await credentials.valid(k) for k in ("k1", "k2", "dh_from_database", "k3")] == [
        True, True, True, False,
    ]  # fmt: skip
    stream_only = StreamCredentials(LiveSettings(api_keys="k1"))
    assert await stream_only.valid("dh_from_database") is False
