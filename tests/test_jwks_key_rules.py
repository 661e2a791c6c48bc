"""Which keys of a key set may verify a token, and which key-set URL may be fetched,
through the handler (issue 24, "Rules no test guards"):

- a key whose ``use`` is ``enc`` never verifies, even when it signed the token;
- a key published with another ``alg`` than the token's never verifies it;
- a discovery document naming a plain ``http://`` key-set URL is not fetched.

Each case has a twin that passes, so the refusal is the rule's doing. The tokens are
signed with jwcrypto (tests/support/idp.py), independently of PyJWT.
"""

from __future__ import annotations

import json

import pytest

import index
from tests.support import body_of, context, event, make_service, shipped_config
from tests.support.idp import FakeIdP, Key, key_set_env


@pytest.fixture(scope="module")
def keys():
    return {"RSA": Key("rsa-1", "RSA"), "EC": Key("ec-1", "EC")}


@pytest.fixture
def idp():
    provider = FakeIdP()
    yield provider
    provider.stop()


def publish(idp, key, **fields):
    """The key set holds exactly this key, its JWK fields changed as given (None drops one)."""
    jwk = {**key.public, **fields}
    idp.keys = []
    idp.extra = [{name: value for name, value in jwk.items() if value is not None}]


def answer(service, token, capsys):
    response = index.handle(service, event(token), context())
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    error = body_of(response).get("error", {})
    return response["statusCode"], error.get("code"), error.get("message", ""), lines[-1]


@pytest.mark.parametrize("kind", ["RSA", "EC"])
@pytest.mark.parametrize(
    ("fields", "allowed", "words"),
    [
        ({"use": "sig"}, True, ""),
        ({"use": None}, True, ""),  # no use: any use, signatures included (RFC 7517 §4.2)
        ({"use": "enc"}, False, "not a signing key"),
        ({"alg": "same"}, True, ""),
        ({"alg": "other"}, False, "another algorithm"),
    ],
    ids=["use-sig", "no-use", "use-enc", "alg-same", "alg-other"],
)
def test_only_a_signing_key_for_the_tokens_algorithm_verifies(
    emulator, idp, keys, capsys, kind, fields, allowed, words
):
    key = keys[kind]
    other = {"RSA": "RS384", "EC": "ES384"}[kind]  # the same key type, another algorithm
    if "alg" in fields:
        fields = {**fields, "alg": key.alg if fields["alg"] == "same" else other}
    publish(idp, key, **fields)
    service = make_service(key_set_env(emulator.endpoint, idp))
    status, code, message, _ = answer(service, idp.token(key), capsys)
    if allowed:
        assert status == 200, message
        assert emulator.calls  # keys were issued
    else:
        assert (status, code) == (401, "invalid_token")
        assert words in message
        assert emulator.calls == []


def test_a_discovery_document_naming_a_plain_http_key_set_is_not_fetched(
    emulator, idp, keys, capsys
):
    """127.1 reaches this machine's IdP, but is not one of the loopback names plain
    http is allowed for (tests run the IdP on http://127.0.0.1): were the https rule
    skipped, the key set would be fetched and the token accepted."""
    idp.keys = [keys["RSA"]]
    port = idp.jwks_url.rsplit(":", 1)[1].split("/")[0]
    idp.discovery_jwks_uri = f"http://127.1:{port}/jwks.json"
    document = shipped_config()
    document["auth"]["discovery"] = True
    service = make_service(key_set_env(emulator.endpoint, idp, STS_JWKS_URL=None), document)
    status, code, _, line = answer(service, idp.token(keys["RSA"]), capsys)
    assert (status, code) == (503, "jwks_unavailable")
    assert idp.hits == {"discovery": 1, "jwks": 0}  # the document was read, the URL not used
    assert "not https" in line["detail"]
    assert emulator.calls == []

    # The twin: the same document naming the https-exempt loopback URL is followed.
    idp.discovery_jwks_uri = None
    service = make_service(key_set_env(emulator.endpoint, idp, STS_JWKS_URL=None), document)
    assert answer(service, idp.token(keys["RSA"]), capsys)[0] == 200
    assert idp.hits == {"discovery": 2, "jwks": 1}
