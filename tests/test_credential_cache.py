"""Reuse of issued keys, and binding them to the caller's address."""

from __future__ import annotations

import json

import pytest

import index
from sts_core.config_validation import parse_config
from sts_core.credential_cache import CredentialCache
from sts_core.issued_credentials import IssuedCredentials
from sts_core.service import service_for
from tests.support import (
    Clock,
    body_of,
    context,
    event,
    make_env,
    make_service,
    shipped_config,
    token,
)

NOW = 1_700_000_000


def issued(expired, request_id="rid"):
    return IssuedCredentials("AKIDx", "key", "token", NOW, expired, "", request_id)


# -- the cache itself ------------------------------------------------------------------


def test_hit_until_the_remaining_life_is_too_short():
    clock = Clock(NOW)
    cache = CredentialCache(clock=clock)
    cache.put("policy", 1800, issued(NOW + 1800))
    assert cache.get("policy", 1800).request_id == "rid"
    clock.now = NOW + 900  # exactly half the duration left: still served
    assert cache.get("policy", 1800) is not None
    clock.now = NOW + 901
    assert cache.get("policy", 1800) is None
    assert len(cache) == 0  # and forgotten


def test_never_under_five_minutes_of_life():
    clock = Clock(NOW)
    cache = CredentialCache(clock=clock)
    cache.put("p", 900, issued(NOW + 900))
    assert cache.required_life(900) == 450
    assert cache.required_life(400) == 300
    small = CredentialCache(min_remaining=100, clock=clock)  # config refuses <300; floor anyway
    assert small.required_life(3600) == 300
    configured = CredentialCache(min_remaining=1200, clock=clock)
    assert configured.required_life(3600) == 1200


def test_miss_on_any_difference_in_policy_or_duration():
    cache = CredentialCache(clock=Clock(NOW))
    cache.put("policy-a", 1800, issued(NOW + 1800))
    assert cache.get("policy-b", 1800) is None
    assert cache.get("policy-a", 3600) is None


def test_least_recently_used_goes_first():
    cache = CredentialCache(max_entries=2, clock=Clock(NOW))
    cache.put("a", 1800, issued(NOW + 1800, "a"))
    cache.put("b", 1800, issued(NOW + 1800, "b"))
    assert cache.get("a", 1800).request_id == "a"  # a is now the most recent
    cache.put("c", 1800, issued(NOW + 1800, "c"))
    assert cache.get("b", 1800) is None
    assert cache.get("a", 1800).request_id == "a"
    assert cache.get("c", 1800).request_id == "c"
    assert len(cache) == 2


# -- through the handler ----------------------------------------------------------------


@pytest.fixture
def cached(emulator):
    return make_service(make_env(emulator.endpoint), cache=True)


def logs(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_second_request_reuses_the_keys(cached, emulator, capsys):
    caller = token("alice")
    first = body_of(index.handle(cached, event(caller), context()))
    second = body_of(index.handle(cached, event(token("alice")), context()))  # a new token
    assert len(emulator.calls) == 1
    assert second == first  # the same keys, with their true startTime and expiredTime
    assert [line["cache"] for line in logs(capsys)] == ["miss", "hit"]


def test_the_token_is_still_verified_on_a_hit(cached):
    index.handle(cached, event(token("alice")), context())
    response = index.handle(cached, event(token("alice", secret="x" * 40)), context())
    assert response["statusCode"] == 401


@pytest.mark.parametrize(
    "second",
    [
        {"user": "alice2"},
        {"user": "bob"},
        {"body": {"profile": "download"}},
        {"body": {"durationSeconds": 3600}},
        {"body": {"scope": [{"action": "name/cos:PutObject", "prefix": "users/alice/a.jpg"}]}},
    ],
)
def test_any_policy_shaping_difference_misses(cached, emulator, second):
    index.handle(cached, event(token("alice")), context())
    user = second.get("user", "alice")
    response = index.handle(cached, event(token(user), second.get("body", "")), context())
    assert response["statusCode"] == 200
    assert len(emulator.calls) == 2
    assert body_of(response)["prefix"] == f"users/{user}/"


def test_switched_off(emulator, capsys):
    service = make_service(make_env(emulator.endpoint), cache=False)
    for _ in range(2):
        index.handle(service, event(token()), context())
    assert len(emulator.calls) == 2
    assert [line["cache"] for line in logs(capsys)] == ["off", "off"]


def test_shipped_config_reuses_keys_by_default(emulator):
    env = make_env(emulator.endpoint)
    service = service_for(parse_config(shipped_config(), env), env)  # the file as shipped
    assert service.cache is not None
    assert (service.cache.max_entries, service.cache.min_remaining) == (1000, None)


# -- binding keys to the caller's address ----------------------------------------------------


@pytest.fixture
def bound(emulator):
    """bind_ip, on a deployment that trusts the Function URL's x-scf-remote-addr."""
    document = shipped_config()
    document["profiles"]["upload"]["bind_ip"] = True
    document["function_url"] = {"trust_remote_addr": True}
    return make_service(make_env(emulator.endpoint), document, cache=True)


def test_an_untrusted_function_url_address_binds_nothing(emulator):
    """By default x-scf-remote-addr is not trusted (whether SCF overwrites a client's
    copy is unverified): a bind_ip profile fails closed there, and API Gateway's
    requestContext address still binds."""
    document = shipped_config()
    document["profiles"]["upload"]["bind_ip"] = True
    service = make_service(make_env(emulator.endpoint), document)
    url_event = event(token(), sample="function_url.json")
    response = index.handle(service, url_event, context())
    assert response["statusCode"] == 400
    assert body_of(response)["error"]["code"] == "no_source_ip"
    assert emulator.calls == []
    response = index.handle(service, event(token()), context())
    assert response["statusCode"] == 200
    assert all(c["ip_equal"] == {"qcs:ip": ["10.0.2.14/32"]} for c in conditions(emulator))


def conditions(emulator):
    return [s.get("condition", {}) for s in emulator.calls[-1].policy["statement"]]


@pytest.mark.parametrize(
    ("sample", "address", "cidr"),
    [
        ("apigw_official.json", None, "10.0.2.14/32"),  # requestContext.sourceIp
        ("function_url.json", None, "111.206.96.145/32"),  # x-scf-remote-addr
        ("function_url.json", "2001:db8::7", "2001:db8::7/128"),
    ],
)
def test_every_statement_is_bound_to_the_callers_address(bound, emulator, sample, address, cidr):
    headers = {"x-scf-remote-addr": address} if address else None
    response = index.handle(bound, event(token(), sample=sample, headers=headers), context())
    assert response["statusCode"] == 200, response["body"]
    for condition in conditions(emulator):
        assert condition["ip_equal"] == {"qcs:ip": [cidr]}


def test_no_address_means_no_bound_keys(bound, emulator):
    evt = event(token(), sample="function_url.json")
    evt["headers"].pop("x-scf-remote-addr")
    response = index.handle(bound, evt, context())
    assert response["statusCode"] == 400
    assert body_of(response)["error"]["code"] == "no_source_ip"
    evt["headers"]["x-scf-remote-addr"] = "not-an-address"
    assert index.handle(bound, evt, context())["statusCode"] == 400
    assert emulator.calls == []


def test_bound_keys_are_reused_only_from_the_same_address(bound, emulator):
    def from_address(address):
        headers = {"x-scf-remote-addr": address}
        evt = event(token(), sample="function_url.json", headers=headers)
        return index.handle(bound, evt, context())

    from_address("198.51.100.1")
    from_address("198.51.100.1")
    assert len(emulator.calls) == 1
    from_address("198.51.100.2")
    assert len(emulator.calls) == 2


def test_other_profiles_are_not_bound(bound, emulator):
    response = index.handle(bound, event(token(), {"profile": "download"}), context())
    assert response["statusCode"] == 200
    assert all("ip_equal" not in c for c in conditions(emulator))
