"""Who may use the live stream: one set of API keys for REST and the websocket.

A key is accepted when it is one of the stream's own keys (`DARKHORSES_STREAM_API_KEYS`) or an
API key in the database (created with `darkhorses apikey create`, looked up by hash through the
same cache as REST, so a revocation takes effect for new connections within
`DARKHORSES_API_KEY_CACHE_S`). The stream is open (no authentication) only when it has no keys
of its own and the API does not require keys (`DARKHORSES_API_AUTH_REQUIRED`).
"""

from collections.abc import Awaitable, Callable

from api.live.settings import LiveSettings

KeyLookup = Callable[[str], Awaitable[bool]]


class StreamCredentials:
    def __init__(
        self, live: LiveSettings, auth_required: bool = False, lookup: KeyLookup | None = None
    ) -> None:
        self.stream_keys = live.key_set()
        self.open_mode = not self.stream_keys and not auth_required
        self.lookup = lookup

    async def valid(self, api_key: str) -> bool:
        if api_key in self.stream_keys:
            return True
        return self.lookup is not None and await self.lookup(api_key)
