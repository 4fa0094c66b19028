"""Resume tokens (Kafka positions + server epoch) and short-lived access tokens, HMAC-signed.

A resume token is `base64url(json [epoch, [offset, ...]]) "." base64url(mac)`: the next offset to
read in every partition the stream consumes (racing.odds.live.v1 partitions first, then
racing.market.state.v1), so any API process can continue a client exactly where it stopped.
"""

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

import orjson

from api.live.errors import TokenError

_MAC_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, payload: bytes) -> str:
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]
        return f"{_b64(payload)}.{_b64(mac)}"

    def verify(self, token: str) -> bytes:
        try:
            body, mac = token.split(".")
            payload = _unb64(body)
            expected = hmac.new(self._secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]
            valid = hmac.compare_digest(expected, _unb64(mac))
        except ValueError as error:
            raise TokenError("malformed token") from error
        if not valid:
            raise TokenError("token signature does not verify")
        return payload


@dataclass(frozen=True, slots=True)
class ResumePoint:
    epoch: int
    offsets: tuple[int, ...]


def encode_resume(signer: Signer, epoch: int, offsets: tuple[int, ...] | list[int]) -> str:
    return signer.sign(orjson.dumps([epoch, list(offsets)]))


def decode_resume(signer: Signer, token: str) -> ResumePoint:
    payload = signer.verify(token)
    try:
        epoch, offsets = orjson.loads(payload)
        point = ResumePoint(int(epoch), tuple(int(o) for o in offsets))
    except (ValueError, TypeError) as error:
        raise TokenError("resume token payload is not [epoch, offsets]") from error
    return point


def mint_access(signer: Signer, key_id: str | None, ttl_s: int, now: float | None = None) -> str:
    """A browser token: the id of the API key it stands for (None only on an open stream,
    where it admits nobody who was not admitted anyway) and until when."""
    expires = int((now if now is not None else time.time()) + ttl_s)
    return signer.sign(orjson.dumps({"kid": key_id, "exp": expires}))


def verify_access(signer: Signer, token: str, now: float | None = None) -> str | None:
    """The key id of a valid, unexpired access token; TokenError otherwise."""
    try:
        claims = orjson.loads(signer.verify(token))
    except orjson.JSONDecodeError as error:
        raise TokenError("not an access token") from error
    if not isinstance(claims, dict) or "kid" not in claims or "exp" not in claims:
        raise TokenError("not an access token")
    key_id, expires = claims["kid"], claims["exp"]
    if not isinstance(key_id, str | None) or not isinstance(expires, int):
        raise TokenError("not an access token")
    if expires < (now if now is not None else time.time()):
        raise TokenError("access token expired")
    return key_id
