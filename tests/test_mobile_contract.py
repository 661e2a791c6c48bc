"""What the Android and iOS SDKs cannot show here, checked by contract.

Neither SDK can be built on these machines. tests/fixtures/mobile/contract.json
holds the exact requests their credential providers (and the clients/ adapters)
send, bodies byte for byte as they serialise them (org.json's ``\\/``, the bare
scope array, a listing scope without a prefix, Android's own action names), with
the SDK source lines. Each is replayed through the handler on both triggers, and
the answer is checked against the fields and types each SDK's parser reads.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

import index
from sts_tools.support.trigger_events import (
    API_GATEWAY,
    FUNCTION_URL,
    api_gateway_event,
    function_url_event,
)
from tests.support import ROOT, body_of, context, token

with open(
    os.path.join(ROOT, "tests", "fixtures", "mobile", "contract.json"), encoding="utf-8"
) as f:
    CONTRACT = json.load(f)
REQUESTS = {r["id"]: r for r in CONTRACT["requests"]}


def replay(service: Any, recorded: dict[str, Any], kind: str, login: str) -> dict[str, Any]:
    headers = {k: v.replace("<login token>", login) for k, v in recorded["headers"].items()}
    query: dict[str, Any] = {}
    for pair in filter(None, recorded["query"].split("&")):
        name, _, value = pair.partition("=")
        query[name] = value
    build = function_url_event if kind == FUNCTION_URL else api_gateway_event
    event = build(recorded["method"], recorded["path"], headers=headers, body=recorded["body"],
                  query=query)  # fmt: skip
    return index.handle(service, event, context())


def check_sdk_fields(answer: dict[str, Any]) -> None:
    """What the SDKs' parsers read (contract.json "responses"): Android optLong's the
    times and optString's the three credentials (a missing one would be "", accepted),
    iOS takes doubleValue of the times."""
    credentials = answer["credentials"]
    for name in ("tmpSecretId", "tmpSecretKey", "sessionToken"):
        assert isinstance(credentials[name], str)
        assert credentials[name]
    assert isinstance(answer["startTime"], int)
    assert isinstance(answer["expiredTime"], int)
    assert answer["startTime"] < answer["expiredTime"]  # else Android throws
    assert "data" not in answer  # Android would read that object instead
    assert "code" not in answer  # Android's error signal


@pytest.mark.parametrize("kind", [API_GATEWAY, FUNCTION_URL])
@pytest.mark.parametrize("case", sorted(REQUESTS))
def test_every_recorded_sdk_request_gets_the_expected_answer(service, emulator, case, kind):
    recorded = REQUESTS[case]
    response = replay(service, recorded, kind, token("alice"))
    expect = recorded["expect"]
    answer = body_of(response)
    assert response["statusCode"] == expect["status"], (case, answer)
    if expect["status"] == 200:
        check_sdk_fields(answer)
        assert answer["profile"] == expect["profile"]
        assert answer["prefix"] == "users/alice/"
    else:
        assert answer["error"]["code"] == expect["code"]
        assert expect.get("message_has", "") in answer["error"]["message"]
        assert emulator.calls == []


def test_org_json_escapes_are_the_same_scope(service, emulator):
    """org.json writes '/' as '\\/': the policy is for the same key either way."""
    escaped = REQUESTS["android-scope-PutObject"]
    assert "\\/" in escaped["body"]
    replay(service, escaped, API_GATEWAY, token("alice"))
    plain = dict(escaped, body=escaped["body"].replace("\\/", "/"))
    replay(service, plain, API_GATEWAY, token("alice"))
    first, second = (call.policy for call in emulator.calls)
    assert first == second


def test_a_repeated_authorization_header_is_refused(service, emulator):
    """A reused Android builder that only addHeader()s sends the old token and the new
    one (HttpRequest.java:347-352): ambiguous, so 401, never either token."""
    headers = {"Authorization": [f"Bearer {token('mallory')}", f"Bearer {token('alice')}"],
               "Content-Type": "application/json"}  # fmt: skip
    event = api_gateway_event(headers=headers, body='{"profile":"upload"}')
    response = index.handle(service, event, context())
    assert response["statusCode"] == 401
    assert emulator.calls == []


# -- the profile from the URL ---------------------------------------------------------------


@pytest.mark.parametrize("kind", [API_GATEWAY, FUNCTION_URL])
def test_the_profile_may_come_from_the_url_and_the_body_wins(service, kind):
    bare = '[{"action":"name/cos:GetObject","prefix":"users/alice/a.jpg"}]'

    def ask(body, query):
        build = function_url_event if kind == FUNCTION_URL else api_gateway_event
        headers = {"Authorization": f"Bearer {token()}"}
        return index.handle(service, build(body=body, headers=headers, query=query), context())

    assert ask(bare, {})["statusCode"] == 403  # the default profile (upload) cannot read
    assert body_of(ask(bare, {"profile": "download"}))["profile"] == "download"
    named = '{"profile": "read-write"}'
    assert body_of(ask(named, {"profile": "download"}))["profile"] == "read-write"
    for query, code in (({"profile": ["download", "upload"]}, "invalid_field"),
                        ({"profile": "uplaod"}, "unknown_profile")):  # fmt: skip
        response = ask(bare, query)
        assert response["statusCode"] == 400
        assert body_of(response)["error"]["code"] == code
    message = body_of(ask("", {"profile": "uplaod"}))["error"]["message"]
    assert "profiles: upload, download, avatar, read-write" in message
    assert ask("", {"other": "x"})["statusCode"] == 200  # other parameters are left alone
