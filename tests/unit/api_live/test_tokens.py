import pytest

from api.live.errors import TokenError
from api.live.tokens import (
    Signer,
    decode_resume,
    encode_resume,
    mint_access,
    verify_access,
)  # fmt: skip

SIGNER = Signer(b"test-secret")


def test_resume_token_round_trips_epoch_and_offsets() -> None:
    token = encode_resume(SIGNER, 3, [10, 0, 7])
    point = decode_resume(SIGNER, token)
    assert (point.epoch, point.offsets) == (3, (10, 0, 7))


def test_a_tampered_or_foreign_token_is_rejected() -> None:
    token = encode_resume(SIGNER, 1, [1, 2])
    mac = token.split(".")[1]
    forged = encode_resume(SIGNER, 1, [99, 99]).split(".")[0] + "." + mac
    with pytest.raises(TokenError, match="signature"):
        decode_resume(SIGNER, forged)
    with pytest.raises(TokenError):
        decode_resume(Signer(b"other"), token)
    with pytest.raises(TokenError, match="malformed"):
        decode_resume(SIGNER, "garbage")


def test_access_tokens_carry_their_key_id_expire_and_are_not_resume_tokens() -> None:
    token = mint_access(SIGNER, "k1", ttl_s=60, now=1_000)
    assert verify_access(SIGNER, token, now=1_030) == "k1"
    assert verify_access(SIGNER, mint_access(SIGNER, None, ttl_s=60)) is None
    with pytest.raises(TokenError, match="expired"):
        verify_access(SIGNER, token, now=1_061)
    with pytest.raises(TokenError):
        decode_resume(SIGNER, token)
    with pytest.raises(TokenError, match="not an access token"):
        verify_access(SIGNER, encode_resume(SIGNER, 1, [0]))


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1, 2]", b'{"sub": "abc", "exp": 9999999999}', b'{"kid": 5, "exp": 1}',
     b'{"kid": "k", "exp": "soon"}', b'{"kid": "k"}'],
)  # fmt: skip
def test_a_signed_payload_that_is_no_access_token_is_refused_not_crashed(payload: bytes) -> None:
    with pytest.raises(TokenError, match="not an access token"):
        verify_access(SIGNER, SIGNER.sign(payload))
