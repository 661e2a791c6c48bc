"""EdDSA (Ed25519, JWK kty OKP) tokens from a key set, through the handler (issue 24):
accepted when the operator lists EdDSA, refused (before any fetch) when not; and the
configuration's refusals say what is actually wrong with an algorithm.

Tokens are signed with jwcrypto (tests/support/idp.py) and verified by the function
with PyJWT and cryptography: two independent implementations of RFC 8037.
"""

from __future__ import annotations

import base64
import json

import pytest

import index
from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from tests.support import body_of, context, event, make_service, shipped_config
from tests.support.idp import FakeIdP, Key, key_set_env


@pytest.fixture(scope="module")
def keys():
    return {"ed": Key("ed-1", "OKP"), "ed2": Key("ed-2", "OKP"), "rsa": Key("rsa-1", "RSA")}


@pytest.fixture
def idp(keys):
    provider = FakeIdP()
    provider.keys = [keys["ed"], keys["rsa"]]
    yield provider
    provider.stop()


def with_algorithms(*algorithms):
    document = shipped_config()
    document["auth"]["algorithms"] = list(algorithms)
    return document


def answer(service, token):
    response = index.handle(service, event(token), context())
    error = body_of(response).get("error", {})
    return response["statusCode"], error.get("code"), error.get("message", "")


def test_an_ed25519_token_is_accepted_when_eddsa_is_listed(emulator, idp, keys):
    service = make_service(key_set_env(emulator.endpoint, idp), with_algorithms("RS256", "EdDSA"))
    status, _, message = answer(service, idp.token(keys["ed"], "alice"))
    assert status == 200, message
    assert emulator.calls[-1].action == "GetFederationToken"
    assert answer(service, idp.token(keys["rsa"], "bob"))[0] == 200  # RS256 still works


def test_eddsa_tokens_are_refused_before_any_fetch_unless_listed(emulator, idp, keys):
    service = make_service(key_set_env(emulator.endpoint, idp))  # the default RS256, ES256
    assert answer(service, idp.token(keys["ed"])) == (
        401, "invalid_token", "the token's algorithm is not accepted"
    )  # fmt: skip
    assert idp.hits["jwks"] == 0


def test_a_forged_or_misattributed_ed25519_token_is_refused(emulator, idp, keys):
    service = make_service(key_set_env(emulator.endpoint, idp), with_algorithms("EdDSA"))
    token = idp.token(keys["ed"])
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert answer(service, f"{header}.{forged}.{signature}")[:2] == (401, "invalid_token")
    # Signed by another Ed25519 key that claims ed-1's kid.
    assert answer(service, idp.token(keys["ed2"], kid="ed-1"))[:2] == (401, "invalid_token")


def test_an_x25519_key_under_the_tokens_kid_never_verifies(emulator, idp, keys):
    """OKP also holds X25519, a key-agreement curve: not a key for EdDSA."""
    idp.keys = []
    idp.extra = [{**keys["ed"].public, "crv": "X25519"}]
    service = make_service(key_set_env(emulator.endpoint, idp), with_algorithms("EdDSA"))
    status, code, message = answer(service, idp.token(keys["ed"]))
    assert (status, code) == (401, "invalid_token")
    assert "Ed25519" in message


@pytest.mark.parametrize(
    ("algorithms", "words"),
    [
        (["HS256"], "shared-secret (HMAC) algorithm"),
        (["RS256", "none"], "unsigned"),
        (["Ed448"], "not an algorithm this function verifies"),
    ],
)
def test_refusals_say_what_is_wrong(emulator, idp, algorithms, words):
    with pytest.raises(ConfigError) as refused:
        parse_config(with_algorithms(*algorithms), key_set_env(emulator.endpoint, idp))
    assert refused.value.key == "auth.algorithms"
    assert words in str(refused.value)


def test_eddsa_without_a_key_set_says_a_key_set_is_needed(emulator):
    from tests.support import make_env

    with pytest.raises(ConfigError, match="needs a key set"):
        parse_config(with_algorithms("EdDSA"), make_env(emulator.endpoint))


def test_eddsa_alone_is_a_valid_key_set_configuration(emulator, idp):
    config = parse_config(with_algorithms("EdDSA"), key_set_env(emulator.endpoint, idp))
    assert config.auth.algorithms == ("EdDSA",)
