"""An identity-provider outage during a key rotation, through the handler (issue 24):
a warm instance holds the provider's keys, the key set then answers 500 (or stalls),
and a token names a key the instance has not seen. That is 503 jwks_unavailable
with Retry-After (retry, the key may be new), never 401 (sign in again), and the
log line says the key set failed. Keys seen before still verify.

The instance's key set runs on a clock the test moves (time.monotonic plus a
shift), so the refetch interval passes without sleeping.
"""

from __future__ import annotations

import json
import time

import pytest

import index
from sts_core.jwks import JwksKeys
from sts_core.tokens import TokenVerifier
from tests.support import body_of, context, event, make_service
from tests.support.idp import FakeIdP, Key, key_set_env

REFETCH = 10


class ShiftedClock:
    """time.monotonic, moved forward on demand. It starts an hour behind: the handler's
    deadline is in real time, and the key set must still see time left before it."""

    def __init__(self) -> None:
        self.shift = -3600.0

    def __call__(self) -> float:
        return time.monotonic() + self.shift


@pytest.fixture(scope="module")
def keys():
    return {"old": Key("old-key", "RSA"), "new": Key("new-key", "RSA")}


@pytest.fixture
def idp(keys):
    provider = FakeIdP()
    provider.keys = [keys["old"]]
    yield provider
    provider.stop()


@pytest.fixture
def clock():
    return ShiftedClock()


@pytest.fixture
def service(emulator, idp, clock):
    built = make_service(key_set_env(emulator.endpoint, idp))
    key_set = JwksKeys(jwks_url=idp.jwks_url, ttl=600, refetch_interval=REFETCH, timeout=0.5,
                       monotonic=clock)  # fmt: skip
    return built._replace(verifier=TokenVerifier(built.config.auth, key_set, monotonic=clock))


def call(service, token, capsys):
    response = index.handle(service, event(token), context())
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    code = body_of(response).get("error", {}).get("code")
    return response, code, lines[-1]


def warm(service, idp, keys, capsys):
    """The instance has fetched the key set once and verified a token with it."""
    response, _, _ = call(service, idp.token(keys["old"]), capsys)
    assert response["statusCode"] == 200
    assert idp.hits["jwks"] == 1


@pytest.mark.parametrize("outage", ["http-500", "timeout"])
def test_an_unseen_key_during_an_outage_is_503_with_retry_after(
    service, idp, keys, clock, capsys, outage
):
    warm(service, idp, keys, capsys)
    idp.keys.append(keys["new"])  # the provider rotates ...
    if outage == "http-500":  # ... and its key set fails
        idp.status = 500
    else:
        idp.delay = 2.0  # beyond the instance's 0.5 s fetch timeout
    clock.shift += REFETCH + 1  # the instance may fetch again
    response, code, line = call(service, idp.token(keys["new"]), capsys)
    assert (response["statusCode"], code) == (503, "jwks_unavailable")
    assert response["headers"]["Retry-After"] == "1"
    assert "WWW-Authenticate" not in response["headers"]  # not a token problem
    assert idp.hits["jwks"] == 2, line["detail"]  # it did try the key set
    assert (line["status"], line["error"]) == (503, "jwks_unavailable")
    assert "key set fetch failed" in line["detail"]
    why = "HTTP 500" if outage == "http-500" else "Timeout"
    assert why in line["detail"], line["detail"]

    # Within the refetch interval the same holds, without another fetch.
    response, code, _ = call(service, idp.token(keys["new"], sub="bob"), capsys)
    assert (response["statusCode"], code) == (503, "jwks_unavailable")
    assert idp.hits["jwks"] == 2

    # Keys seen before the outage still verify (the cached set is within its TTL).
    response, _, _ = call(service, idp.token(keys["old"]), capsys)
    assert response["statusCode"] == 200


def test_the_rotated_key_is_accepted_once_the_key_set_answers_again(
    service, idp, keys, clock, capsys
):
    warm(service, idp, keys, capsys)
    idp.keys.append(keys["new"])
    idp.status = 500
    clock.shift += REFETCH + 1
    assert call(service, idp.token(keys["new"]), capsys)[1] == "jwks_unavailable"
    idp.status = 200
    clock.shift += REFETCH + 1
    response, _, line = call(service, idp.token(keys["new"]), capsys)
    assert response["statusCode"] == 200
    assert line["outcome"] == "issued"


def test_an_unknown_key_while_the_key_set_answers_is_still_401(service, idp, keys, clock, capsys):
    """The outage rule does not turn a forged kid into a retry: with a healthy key set
    that lacks the key, the answer stays 401 invalid_token."""
    warm(service, idp, keys, capsys)
    clock.shift += REFETCH + 1
    response, code, _ = call(service, idp.token(keys["new"]), capsys)
    assert (response["statusCode"], code) == (401, "invalid_token")
    assert idp.hits["jwks"] == 2
