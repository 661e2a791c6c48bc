"""The function's own session tokens beside the app's tokens: each verifier pins its
own algorithm, key and issuer, and no token crosses from one to the other (HS256 app
secrets and an OIDC provider's key set alike); rotation with an overlap of both the
app's HS256 secret and the session secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import index
from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from sts_core.session_tokens import AUDIENCE, ISSUER, SessionTokens
from sts_tools.emulators.wechat import WxEmulator, make_code
from tests.support import JWT_SECRET, body_of, context, event, make_env, shipped_config, token
from tests.support.idp import AUDIENCE as IDP_AUDIENCE
from tests.support.idp import FakeIdP, Key
from tests.support.login import (
    SESSION_SECRET,
    login_document,
    login_env,
    login_service,
    sign_in_event,
)

NEW_SECRET = "rotated-SECRET-for-tests-0123456789abcdefghij"


@pytest.fixture(scope="module")
def wx():
    with WxEmulator() as server:
        yield server


def call(service, evt):
    return index.handle(service, evt, context())


def status(service, bearer):
    return call(service, event(bearer, {}))["statusCode"]


def session_token(service, openid="oAlice"):
    response = call(service, sign_in_event(make_code(openid)))
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["token"]


def forged(secret, **claims):
    now = int(time.time())
    payload = {"sub": "oAlice", "iat": now, "exp": now + 300, "iss": ISSUER, "aud": AUDIENCE}
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, "HS256")


def hs256_by_hand(key: bytes, **claims) -> str:
    """HS256 over any key bytes (PyJWT itself refuses a PEM as an HMAC secret)."""
    now = int(time.time())
    payload = {"sub": "oAlice", "iat": now, "exp": now + 300, **claims}

    def part(value) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signing_input = part({"alg": "HS256", "typ": "JWT"}) + b"." + part(payload)
    mac = base64.urlsafe_b64encode(hmac.new(key, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + mac.rstrip(b"=")).decode()


def test_session_and_app_tokens_are_both_accepted_each_by_its_own_key(emulator, wx):
    service = login_service(login_env(emulator.endpoint, wx.endpoint))
    assert status(service, session_token(service)) == 200
    assert status(service, token("bob")) == 200  # the app's HS256 token


def test_no_token_crosses_between_the_verifiers(emulator, wx):
    service = login_service(login_env(emulator.endpoint, wx.endpoint))
    own = session_token(service)
    # A session token is nothing to a deployment that does not sign users in.
    plain = login_service(make_env(emulator.endpoint), shipped_config())
    assert status(plain, own) == 401
    # The session secret never makes an app token: without the session issuer and
    # audience it is refused, not passed on to the app's verifier.
    assert status(service, token("bob", secret=SESSION_SECRET)) == 401
    for claims in ({"iss": None}, {"aud": "elsewhere"}, {"iat": None}, {"sub": None}):
        refused = call(service, event(forged(SESSION_SECRET, **claims), {}))
        assert refused["statusCode"] == 401, claims
        # refused as a session token (never handed on to the app's verifier)
        assert "session token" in body_of(refused)["error"]["message"], claims
    # ... and the app's secret never makes a session token: with the session's claims
    # it is still only an app token, checked by the app's verifier (here: no iss
    # configured, so it passes as the app's own), and another key passes neither.
    assert status(service, forged(JWT_SECRET)) == 200
    assert status(service, forged("some-OTHER-secret-0123456789abcdefghijkl")) == 401
    # No algorithm but the pinned one: none, or HS512 with the session secret.
    unsigned = jwt.encode({"sub": "oAlice", "iss": ISSUER, "aud": AUDIENCE,
                           "exp": int(time.time()) + 60}, None, "none")  # fmt: skip
    assert status(service, unsigned) == 401
    hs512 = jwt.encode(jwt.decode(own, options={"verify_signature": False}),
                       SESSION_SECRET + "x" * 30, "HS512")  # fmt: skip
    assert status(service, hs512) == 401


def test_with_an_oidc_provider_neither_kind_passes_as_the_other(emulator, wx):
    keys = Key("rsa-1", "RSA")
    idp = FakeIdP()
    idp.keys = [keys]
    try:
        env = login_env(emulator.endpoint, wx.endpoint, STS_JWT_SECRET=None,
                        STS_JWKS_URL=idp.jwks_url, STS_JWT_ISSUER=idp.issuer,
                        STS_JWT_AUDIENCE=IDP_AUDIENCE)  # fmt: skip
        service = login_service(env)
        assert status(service, session_token(service)) == 200
        assert status(service, idp.token(keys, "carol")) == 200
        # The provider's key cannot mint a session (it is RS256: the session verifier
        # refuses the algorithm, the key-set verifier the issuer and audience).
        assert status(service, idp.token(keys, "oAlice", iss=ISSUER, aud=AUDIENCE)) == 401
        # The classic confusion: HS256 "signed" with the provider's public key.
        confused = hs256_by_hand(keys.public_pem, iss=idp.issuer, aud=IDP_AUDIENCE)
        assert status(service, confused) == 401
        # A session token with the provider's issuer and audience is still a session
        # token: accepted only because the session key signed it.
        assert status(service, forged(SESSION_SECRET)) == 200
    finally:
        idp.stop()


def test_an_expired_session_token_is_401_expired(emulator, wx):
    service = login_service(login_env(emulator.endpoint, wx.endpoint))
    expired = forged(SESSION_SECRET, iat=int(time.time()) - 9000, exp=int(time.time()) - 100)
    response = call(service, event(expired, {}))
    assert response["statusCode"] == 401
    assert body_of(response)["error"]["code"] == "token_expired"
    too_long = forged(SESSION_SECRET, exp=int(time.time()) + 30 * 86400)
    assert status(service, too_long) == 401


@settings(max_examples=50, deadline=None)
@given(secret=st.text(min_size=32, max_size=64), sub=st.text(min_size=1, max_size=40))
def test_only_the_session_secrets_sign_session_tokens(secret, sub):
    sessions = SessionTokens((SESSION_SECRET, NEW_SECRET), ttl=600)
    minted = forged(secret, sub=sub)
    claims = sessions.claims(minted)
    if secret in (SESSION_SECRET, NEW_SECRET):
        assert claims is not None
        assert claims["sub"] == sub
    else:
        assert claims is None  # not ours: the app's verifier decides, under its own key


# -- rotation -------------------------------------------------------------------------


def test_the_app_secret_rotates_with_an_overlap(emulator):
    old_token = token("alice")  # signed with JWT_SECRET
    rotated = make_env(emulator.endpoint, STS_JWT_SECRET=NEW_SECRET,
                       STS_JWT_SECRET_PREVIOUS=f"{JWT_SECRET} ")  # fmt: skip
    service = login_service(rotated, shipped_config())
    assert status(service, old_token) == 200  # previous: still accepted
    assert status(service, token("alice", secret=NEW_SECRET)) == 200  # current
    removed = login_service(
        make_env(emulator.endpoint, STS_JWT_SECRET=NEW_SECRET), shipped_config()
    )
    assert status(removed, old_token) == 401  # once the operator removes it
    with pytest.raises(ConfigError, match="STS_JWT_SECRET_PREVIOUS"):
        parse_config(shipped_config(), {**rotated, "STS_JWT_SECRET_PREVIOUS": "short"})


def test_the_session_secret_rotates_with_an_overlap(emulator, wx):
    before = login_service(login_env(emulator.endpoint, wx.endpoint))
    old_token = session_token(before)
    env = login_env(emulator.endpoint, wx.endpoint, STS_SESSION_SECRET=NEW_SECRET,
                    STS_SESSION_SECRET_PREVIOUS=SESSION_SECRET)  # fmt: skip
    during = login_service(env)
    assert status(during, old_token) == 200
    new_token = session_token(during)
    assert jwt.decode(new_token, NEW_SECRET, ["HS256"], audience=AUDIENCE)["iss"] == ISSUER
    after = login_service({k: v for k, v in env.items() if k != "STS_SESSION_SECRET_PREVIOUS"})
    assert status(after, old_token) == 401
    assert status(after, new_token) == 200


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"STS_SESSION_SECRET": None}, "STS_SESSION_SECRET"),
        ({"STS_SESSION_SECRET": "short"}, "STS_SESSION_SECRET"),
        ({"STS_SESSION_SECRET": JWT_SECRET}, "STS_SESSION_SECRET"),
        ({"STS_SESSION_SECRET_PREVIOUS": JWT_SECRET}, "STS_SESSION_SECRET_PREVIOUS"),
        ({"STS_WX_APPID": None}, "STS_WX_APPID"),
        ({"STS_WX_SECRET": None}, "STS_WX_SECRET"),
        ({"STS_WX_ENDPOINT": "http://wechat.example.com/sns"}, "login.wechat_endpoint"),
    ],
)
def test_a_sign_in_without_what_it_needs_fails_at_cold_start(overrides, key):
    env = login_env("http://127.0.0.1:9", "http://127.0.0.1:9/sns/jscode2session", **overrides)
    with pytest.raises(ConfigError) as raised:
        parse_config(login_document(), env)
    assert raised.value.key == key


def test_a_claim_in_the_root_template_cannot_sign_users_in():
    document = login_document()
    document["prefix"] = {"template": "tenants/{claim:tenant}/{uid}/"}
    with pytest.raises(ConfigError, match=r"login\.providers"):
        parse_config(document, login_env("http://127.0.0.1:9", "http://127.0.0.1:9/x"))
