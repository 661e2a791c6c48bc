"""Absurd time claims (exp, nbf, iat far beyond any clock) in a correctly signed
token, through the handler: refused with 401, never a 500 (issue 24).

The tokens are signed here by hand (HMAC over the exact JSON text), so claims no
encoder would write, such as ``1e400`` or a 400-digit integer, reach the function.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import index
from tests.support import (
    JWT_SECRET,
    body_of,
    context,
    event,
    make_env,
    make_service,
    shipped_config,
)

HUGE = 10**400
MAX_AGE = 3600
LIFETIME = 30 * 86400  # the shipped max_token_lifetime


def signed(payload_json: str) -> str:
    """An HS256 token over exactly this payload text, with the function's secret."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(b'{"alg":"HS256","typ":"JWT"}')
    payload = b64(payload_json.encode())
    mac = hmac.new(JWT_SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{b64(mac.digest())}"


def claims_json(**claims: object) -> str:
    """The payload's JSON, each value written as given when it is a str (raw JSON)."""
    parts = ['"sub":"alice"']
    for name, value in claims.items():
        parts.append(f'"{name}":{value if isinstance(value, str) else json.dumps(value)}')
    return "{" + ",".join(parts) + "}"


@pytest.fixture(scope="module")
def services(sts_emulator):
    """The shipped config, and the same with auth.max_age (iat then matters)."""
    env = make_env(sts_emulator.endpoint)
    aged = shipped_config()
    aged["auth"]["max_age"] = MAX_AGE
    return {"plain": make_service(env, cache=True), "max_age": make_service(env, aged, cache=True)}


def answer(service, payload_json: str):
    response = index.handle(service, event(signed(payload_json)), context())
    return response["statusCode"], body_of(response).get("error", {}).get("code")


def now() -> int:
    return int(time.time())


@pytest.mark.parametrize(
    ("which", "claims", "code"),
    [
        ("plain", {"exp": HUGE}, "invalid_token"),
        ("plain", {"exp": "1e400"}, "invalid_token"),
        ("plain", {"exp": -HUGE}, "token_expired"),
        ("plain", {"exp": 300, "nbf": HUGE}, "token_not_yet_valid"),
        ("plain", {"exp": 300, "iat": HUGE}, "token_not_yet_valid"),
        ("max_age", {"exp": 300, "iat": -HUGE}, "token_expired"),
        ("max_age", {"exp": 300, "iat": "-1e400"}, "invalid_token"),
        ("max_age", {"exp": HUGE, "iat": 0}, "invalid_token"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_absurd_time_claims_are_401_not_500(services, which, claims, code):
    # Small exp values are relative to now, so the other claim is the only problem.
    values = {k: (now() + v if k == "exp" and v == 300 else v) for k, v in claims.items()}
    if which == "max_age" and values.get("iat") == 0:
        values["iat"] = now()
    assert answer(services[which], claims_json(**values)) == (401, code)


def test_a_sane_token_still_passes(services, emulator):
    """The same path with ordinary claims answers 200, so the refusals above are the
    claims' doing."""
    for which in ("plain", "max_age"):
        status, _ = answer(services[which], claims_json(exp=now() + 300, iat=now(), nbf=now()))
        assert status == 200


TIMES = st.one_of(
    st.integers(),
    st.integers(min_value=10, max_value=1000).map(lambda digits: 10**digits),
    st.integers(min_value=10, max_value=1000).map(lambda digits: -(10**digits)),
    st.sampled_from(["1e400", "-1e400", "1e308", "-1e308", "NaN", "Infinity", "-Infinity"]),
    st.floats(allow_nan=False, allow_infinity=False),
)


@settings(max_examples=150)
@given(exp=TIMES, nbf=st.one_of(st.none(), TIMES), iat=st.one_of(st.none(), TIMES),
       which=st.sampled_from(["plain", "max_age"]))  # fmt: skip
def test_any_time_claims_give_200_or_401(services, exp, nbf, iat, which):
    claims = {"exp": exp, "nbf": nbf, "iat": iat}
    status, code = answer(
        services[which], claims_json(**{k: v for k, v in claims.items() if v is not None})
    )
    assert status in (200, 401), code
    # An independent bound: an expiry beyond the configured lifetime never passes.
    if isinstance(exp, int) and exp > now() + LIFETIME + 60:
        assert status == 401
