"""Stopping a user through the public handler: from the config (a redeploy), and
with Redis from `python -m sts_tools revoke` (no redeploy, in force within
revocation.refresh seconds on every instance), log out everywhere (tokens issued
before T), un-revoking, cached keys never handed out again, and the bucket-policy
statement the command prints."""

from __future__ import annotations

import json
import time

import pytest

import index
from sts_core.revocation import REVOKED, Revocations
from sts_tools.commands import cli
from sts_tools.emulators.wechat import WxEmulator, make_code
from tests.support import Clock, body_of, context, event, make_env, shipped_config, token
from tests.support.login import login_document, login_env, login_service, sign_in_event
from tests.support.redis import CACHE_KEY, instance, write_config


def call(service, bearer, body=None):
    return index.handle(service, event(bearer, body if body is not None else {}), context())


def code_of(response):
    return response["statusCode"], body_of(response).get("error", {}).get("code")


def with_revocation(**values):
    document = shipped_config()
    document["revocation"] = values
    return document


def test_a_user_revoked_in_the_config_gets_nothing(emulator):
    service = instance(make_env(emulator.endpoint), with_revocation(users=["alice"]))
    assert code_of(call(service, token("alice"))) == (403, "user_revoked")
    ticket = {"profile": "avatar", "ticket": {"method": "post", "extension": "png"}}
    assert code_of(call(service, token("alice"), ticket)) == (403, "user_revoked")
    assert call(service, token("bob"))["statusCode"] == 200
    assert len(emulator.calls) == 1  # bob's only


def test_log_out_everywhere_refuses_older_tokens_only(emulator):
    cut = int(time.time())
    service = instance(make_env(emulator.endpoint), with_revocation(not_before={"alice": cut}))
    old = token("alice", iat=cut - 10)
    assert code_of(call(service, old)) == (401, "token_revoked")
    assert code_of(call(service, token("alice", iat=None))) == (401, "token_revoked")  # no iat
    assert call(service, token("alice", iat=cut + 1))["statusCode"] == 200


def test_a_revoked_user_cannot_sign_in(emulator):
    with WxEmulator() as wx:
        document = login_document()
        document["revocation"] = {"users": ["oBanned"]}
        service = login_service(login_env(emulator.endpoint, wx.endpoint), document)
        response = index.handle(service, sign_in_event(make_code("oBanned")), context())
        assert code_of(response) == (403, "user_revoked")
        assert index.handle(service, sign_in_event(make_code("oFine")), context())[
            "statusCode"] == 200  # fmt: skip


@pytest.fixture
def redis_stack(emulator, redis_server, redis_db, tmp_path, monkeypatch):
    """Two instances on one Redis, with settable clocks for the refresh, and the
    operator's shell (the same variables) for the command."""
    env = make_env(emulator.endpoint, STS_REDIS_URL=redis_server.url, STS_CACHE_KEY=CACHE_KEY)
    document = shipped_config()
    document["cache"] = {"enabled": True}
    clock = Clock(1000.0)
    services = []
    for _ in range(2):
        service = instance(env, document)
        services.append(service._replace(
            revocations=Revocations(service.config.revocation, service.shared.link, monotonic=clock)
        ))  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STS_CONFIG", write_config(tmp_path, document))
    return services, clock


def revoke(capsys, *args):
    capsys.readouterr()  # the requests' log lines so far
    assert cli.main(["revoke", *args]) == 0
    return capsys.readouterr().out


def test_revoke_without_redeploy_within_the_refresh(redis_stack, capsys, emulator):
    (first, second), clock = redis_stack
    alice = token("alice")
    assert call(first, alice)["statusCode"] == 200
    assert call(second, alice)["statusCode"] == 200
    out = revoke(capsys, "alice")
    assert "revoked" in out
    statement = json.loads(out[out.index("\n{") :])
    assert statement["effect"] == "deny"
    assert statement["resource"] == [
        "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/users/alice/*"
    ]
    clock.now += 30  # revocation.refresh
    for service in (first, second):
        assert code_of(call(service, alice)) == (403, "user_revoked")
        assert code_of(call(service, token("alice"))) == (403, "user_revoked")
    assert call(first, token("bob"))["statusCode"] == 200


def test_undo_lets_the_user_back_with_fresh_keys_only(redis_stack, capsys, emulator):
    (first, second), clock = redis_stack
    alice = token("alice", iat=int(time.time()) - 5)
    before = body_of(call(first, alice))["credentials"]
    assert body_of(call(second, alice))["credentials"] == before  # reused across instances
    revoke(capsys, "alice")
    clock.now += 30
    assert code_of(call(first, alice)) == (403, "user_revoked")
    out = revoke(capsys, "alice", "--undo")
    assert "un-revoked" in out
    assert "deny" not in out
    clock.now += 30
    assert code_of(call(first, alice)) == (401, "token_revoked")  # older tokens stay refused
    fresh = token("alice", iat=int(time.time()) + 1)
    after = body_of(call(first, fresh))["credentials"]
    assert after != before  # the keys cached before the revocation are never handed out
    assert body_of(call(second, fresh))["credentials"] == after
    revoke(capsys, "alice", "--forget")
    clock.now += 30
    assert call(first, alice)["statusCode"] == 200


def test_log_out_everywhere_with_the_command(redis_stack, capsys):
    (first, _), clock = redis_stack
    old = token("alice", iat=int(time.time()) - 5)
    assert call(first, old)["statusCode"] == 200
    revoke(capsys, "alice", "--logout")
    assert call(first, old)["statusCode"] == 200  # not before this instance's refresh
    clock.now += 30
    assert code_of(call(first, old)) == (401, "token_revoked")
    assert call(first, token("alice", iat=int(time.time()) + 1))["statusCode"] == 200


def test_the_list_in_redis_names_no_user(redis_stack, capsys, redis_db):
    revoke(capsys, "alice")
    dumped = b" ".join(k + b" " + b" ".join(redis_db.hgetall(k)) for k in redis_db.keys("*{rv}*"))
    assert dumped
    assert b"alice" not in dumped
    assert str(REVOKED).encode() in b"".join(redis_db.hvals(redis_db.keys("*{rv}*")[0]))


def test_without_redis_the_command_prints_the_config_change(capsys, monkeypatch):
    monkeypatch.delenv("STS_REDIS_URL", raising=False)
    out = revoke(capsys, "alice", "--logout")
    assert "not_before" in out
    assert '"alice":' in out
    assert "deny" in out


def test_the_command_needs_the_functions_cache_key_with_redis(capsys, monkeypatch):
    monkeypatch.setenv("STS_REDIS_URL", "redis://127.0.0.1:9/0")
    monkeypatch.delenv("STS_CACHE_KEY", raising=False)
    assert cli.main(["revoke", "alice"]) == 2
    assert "STS_CACHE_KEY" in capsys.readouterr().err


def test_while_redis_fails_an_instance_keeps_the_list_it_read(redis_stack, capsys):
    from sts_core.redis_link import RedisLink
    from tests.support import free_port

    (first, _), clock = redis_stack
    revoke(capsys, "alice")
    clock.now += 30
    assert code_of(call(first, token("alice"))) == (403, "user_revoked")
    dead = RedisLink(f"redis://127.0.0.1:{free_port()}/0", CACHE_KEY.encode())
    first.revocations.link = dead  # Redis goes away
    clock.now += 30
    response = call(first, token("alice"))
    assert code_of(response) == (403, "user_revoked")  # the list last read still holds
    assert call(first, token("bob"))["statusCode"] == 200
