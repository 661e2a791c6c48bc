"""Tokens from an OIDC provider's key set, through the handler and at the cache level."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

import index
from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from sts_core.jwks import STALE_GRACE, JwksKeys, KeysUnavailable
from sts_core.tokens import TokenVerifier
from tests.support import body_of, context, event, make_env, make_service, shipped_config
from tests.support.idp import AUDIENCE, FakeIdP, Key
from tests.support.verifiers import user_id_of


@pytest.fixture(scope="module")
def keys():
    return {"rsa": Key("rsa-1", "RSA"), "ec": Key("ec-1", "EC"), "rsa2": Key("rsa-2", "RSA")}


@pytest.fixture
def idp(keys):
    provider = FakeIdP()
    provider.keys = [keys["rsa"], keys["ec"]]
    yield provider
    provider.stop()


def jwks_env(emulator, idp, **overrides):
    env = make_env(emulator.endpoint, STS_JWT_SECRET=None, STS_JWKS_URL=idp.jwks_url,
                   STS_JWT_ISSUER=idp.issuer, STS_JWT_AUDIENCE=AUDIENCE)  # fmt: skip
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


@pytest.fixture
def service(emulator, idp):
    return make_service(jwks_env(emulator, idp))


def call(service, token, ctx=None):
    return index.handle(service, event(token), context() if ctx is None else ctx)


def status_and_code(response):
    body = body_of(response)
    return response["statusCode"], body.get("error", {}).get("code")


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def keyset(idp, clock, **kwargs):
    options = {"jwks_url": idp.jwks_url, "ttl": 600, "refetch_interval": 60, "timeout": 2.0}
    options.update(kwargs)
    return JwksKeys(monotonic=clock, **options)


# -- through the handler --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_valid_rs256_and_es256_tokens(service, idp, keys, kind, emulator):
    response = call(service, idp.token(keys[kind], "alice"))
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["prefix"] == "users/alice/"
    assert emulator.calls[-1].action == "GetFederationToken"


def test_keys_are_fetched_once_per_ttl(service, idp, keys):
    for _ in range(5):
        assert call(service, idp.token(keys["rsa"]))["statusCode"] == 200
    assert idp.hits["jwks"] == 1


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"iss": "https://evil.example.com"}, "invalid_issuer"),
        ({"aud": "another-app"}, "invalid_audience"),
        ({"exp": int(time.time()) - 3600}, "token_expired"),
        ({"nbf": int(time.time()) + 3600}, "token_not_yet_valid"),
        ({"exp": None}, "invalid_token"),
    ],
)
def test_claims_are_checked(service, idp, keys, overrides, code):
    response = call(service, idp.token(keys["rsa"], **overrides))
    assert status_and_code(response) == (401, code)
    assert response["headers"]["WWW-Authenticate"].startswith("Bearer")


def test_hs256_signed_with_the_public_key_is_refused_without_any_fetch(service, idp, keys):
    """Algorithm confusion: an HMAC 'signed' with the provider's public key."""

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode())
    claims = {"sub": "alice", "iss": idp.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 300}
    payload = b64(json.dumps(claims).encode())
    mac = hmac.new(keys["rsa"].public_pem, f"{header}.{payload}".encode(), hashlib.sha256)
    forged = f"{header}.{payload}.{b64(mac.digest())}"
    assert status_and_code(call(service, forged)) == (401, "invalid_token")
    assert idp.hits["jwks"] == 0  # a disallowed algorithm never costs a fetch


def test_tampered_and_wrongly_signed_tokens(service, idp, keys):
    token = idp.token(keys["rsa"])
    header, payload, signature = token.split(".")
    other = json.loads(base64.urlsafe_b64decode(payload + "=="))
    other["sub"] = "admin"
    tampered = base64.urlsafe_b64encode(json.dumps(other).encode()).decode().rstrip("=")
    forged = f"{header}.{tampered}.{signature}"
    assert status_and_code(call(service, forged)) == (401, "invalid_token")
    # Signed by another key but claiming rsa-1's kid.
    impostor = idp.token(keys["rsa2"], kid="rsa-1")
    assert status_and_code(call(service, impostor)) == (401, "invalid_token")


def test_unknown_kid_flood_is_bounded(service, idp, keys):
    assert call(service, idp.token(keys["rsa"]))["statusCode"] == 200
    for index_ in range(50):
        token = idp.token(keys["rsa2"], kid=f"random-{index_}")
        assert status_and_code(call(service, token)) == (401, "invalid_token")
    # At most one fetch per refetch interval (10 s by default), whatever asks for it:
    # the first request's fetch already used this interval, so the flood caused none.
    assert idp.hits["jwks"] == 1


def test_provider_down_is_503_not_401(service, idp, keys):
    idp.status = 500
    response = call(service, idp.token(keys["rsa"]))
    assert status_and_code(response) == (503, "jwks_unavailable")
    assert response["headers"]["Retry-After"] == "1"


def test_provider_unreachable_is_503(emulator, keys):
    gone = FakeIdP()
    gone.stop()
    service = make_service(jwks_env(emulator, gone))
    assert status_and_code(call(service, gone.token(keys["rsa"]))) == (503, "jwks_unavailable")


def test_key_set_fetch_stays_within_the_invocation(service, idp, keys):
    idp.delay = 5.0
    started = time.monotonic()
    response = call(service, idp.token(keys["rsa"]), context(time_limit_ms=1000))
    assert status_and_code(response) == (503, "jwks_unavailable")
    # Bounded by the 1 s time limit, not the 2 s fetch timeout nor the 5 s stall.
    assert time.monotonic() - started < 2.5


def test_discovery_from_the_configured_issuer(emulator, idp, keys):
    env = jwks_env(emulator, idp, STS_JWKS_URL=None)
    document = shipped_config()
    document["auth"]["discovery"] = True
    service = make_service(env, document)
    assert call(service, idp.token(keys["ec"]))["statusCode"] == 200
    assert idp.hits == {"jwks": 1, "discovery": 1}


def test_discovery_naming_another_issuer_is_refused(emulator, idp, keys):
    idp.discovery_issuer = "https://evil.example.com"
    document = shipped_config()
    document["auth"]["discovery"] = True
    service = make_service(jwks_env(emulator, idp, STS_JWKS_URL=None), document)
    assert status_and_code(call(service, idp.token(keys["rsa"]))) == (503, "jwks_unavailable")


def test_shared_secret_keys_in_a_key_set_are_never_used(service, idp, keys):
    idp.keys = []
    idp.extra = [{"kty": "oct", "kid": "rsa-1", "k": "c2VjcmV0", "alg": "HS256"}]
    assert status_and_code(call(service, idp.token(keys["rsa"]))) == (401, "invalid_token")


def test_token_without_kid(emulator, service, idp, keys):
    # One RSA and one EC key: an RS256 token without a kid has exactly one candidate.
    assert call(service, idp.token(keys["rsa"], kid=None))["statusCode"] == 200
    # Two RSA keys: without a kid the choice would be a guess, so it is refused.
    idp.keys = [keys["rsa"], keys["rsa2"]]
    ambiguous = make_service(jwks_env(emulator, idp))
    token = idp.token(keys["rsa"], kid=None)
    assert status_and_code(call(ambiguous, token)) == (401, "invalid_token")


# -- the key set cache, with a fake clock ------------------------------------------------


def test_rotation_is_picked_up_on_an_unknown_kid(idp, keys):
    clock = FakeClock()
    keys_cache = keyset(idp, clock)
    assert keys_cache.key_for("rsa-1", "RS256", clock() + 5)
    idp.keys.append(keys["rsa2"])  # the provider rotates
    with pytest.raises(Exception, match="not known"):
        keys_cache.key_for("rsa-2", "RS256", clock() + 5)  # within the refetch interval
    clock.now += 61
    assert keys_cache.key_for("rsa-2", "RS256", clock() + 5)
    assert idp.hits["jwks"] == 2


def test_a_rotated_key_is_accepted_within_ten_seconds_by_default(emulator, idp, keys):
    config = parse_config(shipped_config(), jwks_env(emulator, idp))
    assert config.auth.jwks_refetch_interval == 10
    clock = FakeClock()
    keys_cache = JwksKeys(jwks_url=idp.jwks_url, monotonic=clock)  # the class's defaults
    assert keys_cache.refetch_interval == 10
    assert keys_cache.key_for("rsa-1", "RS256", clock() + 5)
    idp.keys.append(keys["rsa2"])  # the provider rotates
    for _ in range(20):  # a flood of the new kid within the interval: no fetch
        with pytest.raises(Exception, match="not known"):
            keys_cache.key_for("rsa-2", "RS256", clock() + 5)
        clock.now += 0.45
    assert idp.hits["jwks"] == 1
    clock.now += 1  # 10 s after the first fetch
    assert keys_cache.key_for("rsa-2", "RS256", clock() + 5)
    assert idp.hits["jwks"] == 2


def test_ttl_refresh_and_stale_grace(idp, keys):
    clock = FakeClock()
    keys_cache = keyset(idp, clock)
    keys_cache.key_for("rsa-1", "RS256", clock() + 5)
    clock.now += 600  # the TTL ran out: refetched
    keys_cache.key_for("rsa-1", "RS256", clock() + 5)
    assert idp.hits["jwks"] == 2
    idp.status = 500
    clock.now += 600
    assert keys_cache.key_for("rsa-1", "RS256", clock() + 5)  # stale but within grace
    clock.now += STALE_GRACE
    with pytest.raises(KeysUnavailable):
        keys_cache.key_for("rsa-1", "RS256", clock() + 5)


def test_failures_are_not_retried_on_every_request(idp, keys):
    clock = FakeClock()
    idp.status = 500
    keys_cache = keyset(idp, clock)
    for _ in range(10):
        with pytest.raises(KeysUnavailable):
            keys_cache.key_for("rsa-1", "RS256", clock() + 5)
    assert idp.hits["jwks"] == 1
    idp.status = 200
    clock.now += 60
    assert keys_cache.key_for("rsa-1", "RS256", clock() + 5)


def test_no_fetch_without_time_left(idp):
    clock = FakeClock()
    with pytest.raises(KeysUnavailable):
        keyset(idp, clock).key_for("rsa-1", "RS256", clock() + 0.01)
    assert idp.hits["jwks"] == 0


def test_algorithm_and_key_type_must_agree(idp, keys):
    clock = FakeClock()
    keys_cache = keyset(idp, clock)
    with pytest.raises(Exception, match="not known"):
        keys_cache.key_for("ec-1", "RS256", clock() + 5)  # an EC key for RS256
    with pytest.raises(Exception, match="not known"):
        keys_cache.key_for("rsa-1", "ES256", clock() + 5)


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "env", "key", "words"),
    [
        (lambda d: None, {"STS_JWT_ISSUER": None}, "auth.issuer", "must be set"),
        (lambda d: None, {"STS_JWT_AUDIENCE": None}, "auth.audience", "must be set"),
        (lambda d: d["auth"].update(algorithms=["HS256"]), {}, "auth.algorithms", "confusion"),
        (lambda d: d["auth"].update(algorithms=["RS256", "none"]), {}, "auth.algorithms",
         "unsigned"),
        (lambda d: None, {"STS_JWKS_URL": "http://idp.example.com/jwks"}, "auth.jwks_url",
         "https"),
        (lambda d: d["auth"].update(discovery=True), {}, "auth.discovery", "either"),
    ],
)  # fmt: skip
def test_key_set_configuration_fails_closed(emulator, idp, mutate, env, key, words):
    document = shipped_config()
    mutate(document)
    with pytest.raises(ConfigError) as caught:
        parse_config(document, jwks_env(emulator, idp, **env))
    assert caught.value.key == key
    assert words in str(caught.value)


def test_key_set_defaults(emulator, idp):
    config = parse_config(shipped_config(), jwks_env(emulator, idp))
    assert config.auth.mode == "jwks"
    assert config.auth.algorithms == ("RS256", "ES256")
    hmac_config = parse_config(shipped_config(), make_env())
    assert (hmac_config.auth.mode, hmac_config.auth.algorithms) == ("hmac", ("HS256",))


def test_verifier_checks_the_algorithm_before_the_key_set(idp, keys):
    clock = FakeClock()
    env = {
        "COS_BUCKET": "examplebucket-1250000000",
        "COS_REGION": "ap-guangzhou",
        "STS_JWKS_URL": idp.jwks_url,
        "STS_JWT_ISSUER": idp.issuer,
        "STS_JWT_AUDIENCE": AUDIENCE,
    }
    config = parse_config(shipped_config(), env)
    verifier = TokenVerifier(config.auth, keyset(idp, clock), monotonic=clock)
    token = idp.token(keys["rsa"], alg="RS256")
    assert user_id_of(verifier, f"Bearer {token}", clock() + 5) == "alice"
    restricted = config.auth._replace(algorithms=("ES256",))
    with pytest.raises(Exception, match="algorithm"):
        user_id_of(
            TokenVerifier(restricted, keyset(idp, clock), monotonic=clock), f"Bearer {token}"
        )
