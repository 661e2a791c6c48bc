"""The caller-token check under attack: every refusal is a 401 (403 for an unusable
user-ID claim) with a message that never echoes the token."""

from __future__ import annotations

import base64
import json
import time

import pytest

from sts_core.config_model import AuthSettings
from sts_core.errors import ApiError, Forbidden, Unauthorized
from sts_core.tokens import TokenVerifier
from tests.support import JWT_SECRET, token
from tests.support.verifiers import user_id_of


def verifier(secret=JWT_SECRET, **overrides):
    settings = {
        "algorithms": ("HS256",),
        "issuer": None,
        "audience": None,
        "user_id_claim": "sub",
        "leeway": 30,
        "max_token_bytes": 8192,
        "max_age": None,
    }
    settings.update(overrides)
    return TokenVerifier(AuthSettings(**settings), secret)


def b64(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def refusal(authorization, check=None, status=401):
    check = check or verifier()
    with pytest.raises(ApiError) as caught:
        user_id_of(check, authorization)
    error = caught.value
    assert error.status == status
    for part in (authorization or "").split():
        if len(part) >= 8:  # anything token-like must not be echoed
            assert part not in error.message
    if status == 401:
        assert error.headers["WWW-Authenticate"].startswith("Bearer")
    return error.code


def test_valid_token_yields_the_user_id():
    assert user_id_of(verifier(), f"Bearer {token('alice')}") == "alice"
    assert user_id_of(verifier(), f"bearer   {token('bob')}") == "bob"  # scheme is case-insensitive


def test_missing_token_gets_a_bare_challenge():
    for header in (None, "", "   "):
        with pytest.raises(Unauthorized) as caught:
            user_id_of(verifier(), header)
        assert caught.value.code == "missing_token"
        assert caught.value.headers["WWW-Authenticate"] == 'Bearer realm="cos-sts"'


def test_alg_none_is_refused():
    unsigned = (
        f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'sub': 'alice', 'exp': time.time() + 300})}."
    )
    assert refusal(f"Bearer {unsigned}") == "invalid_token"


def test_algorithms_come_from_config_not_the_token():
    # An RS256 header is refused before any key is consulted (no RSA key needed).
    claims = b64({"sub": "alice", "exp": time.time() + 300})
    forged = f"{b64({'alg': 'RS256'})}.{claims}.{b64(b'x' * 256)}"
    assert refusal(f"Bearer {forged}") == "invalid_token"
    # A genuine HS512 token is refused when only HS256 is configured...
    long_secret = JWT_SECRET * 2
    hs512 = token(secret=long_secret, algorithm="HS512")
    assert refusal(f"Bearer {hs512}", verifier(secret=long_secret)) == "invalid_token"
    # ...and accepted when configured.
    check = verifier(algorithms=("HS512",), secret=long_secret)
    assert user_id_of(check, f"Bearer {hs512}") == "alice"


def test_expiry_with_leeway():
    assert refusal(f"Bearer {token(exp=int(time.time()) - 60)}") == "token_expired"
    assert (
        user_id_of(verifier(), f"Bearer {token(exp=int(time.time()) - 10)}") == "alice"
    )  # inside 30 s leeway
    assert (
        refusal(f"Bearer {token(exp=int(time.time()) - 10)}", verifier(leeway=0)) == "token_expired"
    )


def test_missing_exp_is_refused():
    assert refusal(f"Bearer {token(exp=None)}") == "invalid_token"


def test_not_yet_valid():
    assert refusal(f"Bearer {token(nbf=int(time.time()) + 120)}") == "token_not_yet_valid"
    assert refusal(f"Bearer {token(iat=int(time.time()) + 120)}") == "token_not_yet_valid"
    assert user_id_of(verifier(), f"Bearer {token(nbf=int(time.time()) + 10)}") == "alice"  # leeway


def test_issuer_and_audience_when_configured():
    check = verifier(issuer="https://login.example.com", audience="photo-app")
    good = token(iss="https://login.example.com", aud="photo-app")
    assert user_id_of(check, f"Bearer {good}") == "alice"
    assert user_id_of(
        check, f"Bearer {token(iss='https://login.example.com', aud=['x', 'photo-app'])}"
    )
    bad_iss = token(iss="https://evil.example.com", aud="photo-app")
    assert refusal(f"Bearer {bad_iss}", check) == "invalid_issuer"
    bad_aud = token(iss="https://login.example.com", aud="other-app")
    assert refusal(f"Bearer {bad_aud}", check) == "invalid_audience"
    assert refusal(f"Bearer {token(aud='photo-app')}", check) == "invalid_token"  # no iss
    assert refusal(f"Bearer {token(iss='https://login.example.com')}", check) == "invalid_token"


def test_audience_in_token_is_ignored_when_not_configured():
    assert user_id_of(verifier(), f"Bearer {token(aud='anything')}") == "alice"


def test_tampered_payload_is_refused():
    header, _, signature = token("alice").split(".")
    forged = f"{header}.{b64({'sub': 'admin', 'exp': time.time() + 300})}.{signature}"
    assert refusal(f"Bearer {forged}") == "invalid_token"


def test_wrong_key_is_refused():
    assert refusal(f"Bearer {token(secret='another-secret-that-is-long-enough!!')}") == (
        "invalid_token"
    )


def test_oversized_token_is_refused_before_parsing():
    huge = token(padding="x" * 9000)
    assert refusal(f"Bearer {huge}") == "invalid_token"
    assert user_id_of(verifier(max_token_bytes=65536), f"Bearer {huge}") == "alice"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic YWxpY2U6c2VjcmV0",
        "Token abc.def.ghi",
        "Bearer abc",
        "Bearer a.b.c",
        "Bearer ...",
        "Bearer abc def",
        "Bearer \u00e9\u00e9.\u00e9.\u00e9",
        "Bearer eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
        "Bearer !!!.!!!.!!!",
        "Bearer x, Bearer y",
    ],
)
def test_garbage_is_refused(header):
    assert refusal(header) == "invalid_token"


def test_user_id_claim_is_configurable_and_type_checked():
    check = verifier(user_id_claim="uid")
    assert user_id_of(check, f"Bearer {token(uid='u-42')}") == "u-42"
    assert user_id_of(check, f"Bearer {token(uid=42)}") == "42"
    assert refusal(f"Bearer {token()}", check) == "invalid_token"  # no uid claim
    assert refusal(f"Bearer {token(uid=['a'])}", check, status=403) == "user_id_rejected"
    assert refusal(f"Bearer {token(uid=True)}", check, status=403) == "user_id_rejected"
    with pytest.raises(Forbidden):
        user_id_of(check, f"Bearer {token(uid={'id': 1})}")


def test_max_age_bounds_old_tokens():
    check = verifier(max_age=600)
    assert user_id_of(check, f"Bearer {token(iat=int(time.time()) - 60)}") == "alice"
    assert refusal(f"Bearer {token(iat=int(time.time()) - 3600)}", check) == "token_expired"
    assert refusal(f"Bearer {token(iat=None)}", check) == "invalid_token"
