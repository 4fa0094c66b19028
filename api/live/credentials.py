"""Who may use the live stream: the database's API keys, the one key store of REST and websocket.

With `DARKHORSES_API_AUTH_REQUIRED` off the stream is open (no authentication). With it on, a
connection presents an API key (created with `darkhorses apikey create`, looked up by hash
through REST's own key cache) or an access token minted from one by `POST /v1/stream/token`.
A token carries the id of the key it was minted from and is refused once that key is revoked;
a connection is bound to its key, and the hub re-checks the keys of open connections every
`recheck_s` (the API key cache window) and closes (4001) those whose key was revoked.
"""

from collections.abc import Awaitable, Callable

from api.live.errors import AuthError, TokenError
from api.live.tokens import Signer, verify_access

KeyLookup = Callable[[str], Awaitable[str | None]]
"""An API key -> its id, or None when it is unknown or revoked."""
ActiveKeys = Callable[[frozenset[str], bool], Awaitable[frozenset[str]]]
"""Key ids -> those still active; `fresh` bypasses the cache (the revocation sweep)."""


async def _no_key(api_key: str) -> str | None:
    return None


async def _none_active(key_ids: frozenset[str], fresh: bool) -> frozenset[str]:
    return frozenset()


class StreamCredentials:
    def __init__(
        self,
        auth_required: bool = False,
        lookup: KeyLookup = _no_key,
        active: ActiveKeys = _none_active,
        recheck_s: float = 5.0,
    ) -> None:
        self.open_mode = not auth_required
        self.lookup = lookup
        self.active = active
        self.recheck_s = recheck_s

    async def authorize(self, signer: Signer, api_key: str | None, token: str | None) -> str | None:
        """The id of the key behind an API key or access token (None: an anonymous token of
        an open stream); raises AuthError when they do not admit the client."""
        if api_key is not None:
            key_id = await self.lookup(api_key)
            if key_id is None:
                raise AuthError("unknown or revoked API key")
            return key_id
        if token is None:
            raise AuthError("send an api_key or a token")
        try:
            key_id = verify_access(signer, token)
        except TokenError as error:
            raise AuthError(f"access token rejected: {error.message}") from error
        if key_id is None:
            if not self.open_mode:
                raise AuthError("access token rejected: it was minted without an API key")
            return None
        if key_id not in await self.active(frozenset({key_id}), False):
            raise AuthError("access token rejected: its API key is revoked")
        return key_id
