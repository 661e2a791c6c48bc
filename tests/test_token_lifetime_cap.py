"""A token's remaining life is capped (far-future or absurd `exp` is 401, no STS
call); the cap admits common identity providers' tokens and is configurable."""

from __future__ import annotations

import json
import time

import pytest

import index
from tests.support import (
    JWT_SECRET,
    body_of,
    context,
    event,
    make_env,
    make_service,
    shipped_config,
    token,
)


@pytest.mark.parametrize(
    "exp", [time.time() + 10 * 365 * 86400, 1e308, 10**40], ids=["ten-years", "1e308", "10**40"]
)
def test_far_future_tokens_are_refused(service, emulator, exp):
    response = index.handle(service, event(token(exp=exp)), context())
    assert response["statusCode"] == 401
    assert body_of(response)["error"]["code"] == "invalid_token"
    assert emulator.calls == []


def test_tokens_of_common_identity_providers_pass_and_the_cap_is_configurable(emulator):
    service = make_service(make_env(emulator.endpoint))
    month = int(time.time()) + 29 * 86400  # Auth0's longest access token is 30 days
    assert index.handle(service, event(token(exp=month)), context())["statusCode"] == 200
    document = shipped_config()
    document["auth"]["max_token_lifetime"] = 3600
    short = make_service(make_env(emulator.endpoint), document)
    assert index.handle(short, event(token(exp=month)), context())["statusCode"] == 401
    hour = int(time.time()) + 3000
    assert index.handle(short, event(token(exp=hour)), context())["statusCode"] == 200


def test_every_secret_stays_out_of_the_response_and_log(service, capsys):
    response = index.handle(service, event(token(exp=1e308)), context())
    out = capsys.readouterr().out
    assert JWT_SECRET not in response["body"] + out
    assert json.loads(out.splitlines()[-1])["status"] == 401
