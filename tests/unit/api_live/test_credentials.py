"""One store of API keys for REST and the stream; tokens bound to the key they were minted from."""

import pytest

from api.live.credentials import StreamCredentials
from api.live.errors import AuthError
from api.live.tokens import Signer, mint_access

SIGNER = Signer(b"a-test-secret-of-thirty-two-characters")
KEYS = {"dh_live": "k1", "dh_other": "k2"}  # key -> id: what the database holds, active
REVOKED = {"dh_revoked": "k9"}


async def lookup(api_key: str) -> str | None:
    return KEYS.get(api_key)


async def active(key_ids: frozenset[str], fresh: bool) -> frozenset[str]:
    return key_ids & frozenset(KEYS.values())


def test_the_stream_is_open_exactly_when_keys_are_not_required() -> None:
    assert StreamCredentials(auth_required=False).open_mode is True
    assert StreamCredentials(auth_required=True).open_mode is False


async def test_database_keys_are_accepted_and_bound_nothing_else() -> None:
    credentials = StreamCredentials(True, lookup, active)
    assert await credentials.authorize(SIGNER, "dh_live", None) == "k1"
    for key in ("dh_revoked", "dh_nope", ""):
        with pytest.raises(AuthError, match="unknown or revoked"):
            await credentials.authorize(SIGNER, key, None)
    with pytest.raises(AuthError, match="send an api_key or a token"):
        await credentials.authorize(SIGNER, None, None)


async def test_a_token_admits_only_while_its_key_is_active() -> None:
    credentials = StreamCredentials(True, lookup, active)
    assert await credentials.authorize(SIGNER, None, mint_access(SIGNER, "k2", 60)) == "k2"
    with pytest.raises(AuthError, match="revoked"):
        await credentials.authorize(SIGNER, None, mint_access(SIGNER, REVOKED["dh_revoked"], 60))
    with pytest.raises(AuthError, match="expired"):
        await credentials.authorize(SIGNER, None, mint_access(SIGNER, "k1", 60, now=1_000))
    forged = mint_access(Signer(b"darkhorses-dev-secret"), "k1", 60)
    with pytest.raises(AuthError, match="signature"):
        await credentials.authorize(SIGNER, None, forged)
    anonymous = mint_access(SIGNER, None, 60)  # minted while the stream was open
    with pytest.raises(AuthError, match="without an API key"):
        await credentials.authorize(SIGNER, None, anonymous)
    assert await StreamCredentials(False).authorize(SIGNER, None, anonymous) is None
