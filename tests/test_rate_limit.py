"""Token buckets in front of STS: per user and global, in Redis (atomic across
instances and processes) or per instance, 429 with Retry-After, and no STS call
over the limit. Fake clocks wherever the code lets them in."""

from __future__ import annotations

import json
import math
import random

import pytest

import index
from sts_core.config_model import Bucket, RateLimitSettings
from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from sts_core.rate_limit import (
    SCRIPT_SHA,
    Decision,
    LocalBuckets,
    RateLimiter,
    RedisBuckets,
)
from sts_core.redis_link import RedisLink
from sts_core.user_digest import user_digest
from sts_tools.support.redis_server import free_port
from tests.support import Clock, body_of, context, event, make_env, shipped_config, token
from tests.support.redis import (
    CACHE_KEY,
    document_with,
    dump,
    far,
    instance,
    log_lines,
    redis_env,
    run_process,
    write_config,
)

SETTINGS = RateLimitSettings(True, Bucket(1.0, 3), Bucket(100.0, 100))


def scoped(user, index_):
    return {"scope": [{"action": "name/cos:PutObject", "prefix": f"users/{user}/{index_}.jpg"}]}


def tight(**per_user):
    """Two new grants per user, then one per 100 s."""
    return document_with(rate_limit={"per_user": {"rate": 0.01, "burst": 2, **per_user}})


# -- the buckets -----------------------------------------------------------------------------


def test_a_users_burst_then_the_rate():
    clock = Clock()
    buckets = LocalBuckets(SETTINGS, clock=clock)
    assert [buckets.take("alice").allowed for _ in range(3)] == [True, True, True]
    assert buckets.take("alice") == Decision(False, 1, "user")
    clock.now += 0.5
    assert buckets.take("alice") == Decision(False, 1, "user")  # half a token: still 1 s
    clock.now += 0.5
    assert buckets.take("alice").allowed
    assert not buckets.take("alice").allowed
    clock.now += 1000  # refills to the burst, never beyond
    assert [buckets.take("alice").allowed for _ in range(4)] == [True, True, True, False]


def test_retry_after_is_whole_seconds_and_at_least_one():
    clock = Clock()
    slow = LocalBuckets(RateLimitSettings(True, Bucket(0.1, 1), Bucket(100.0, 100)), clock=clock)
    assert slow.take("alice").allowed
    assert slow.take("alice").retry_after == 10
    clock.now += 9.5
    assert slow.take("alice").retry_after == 1  # 0.5 s rounds up
    fast = LocalBuckets(RateLimitSettings(True, Bucket(1000.0, 1), Bucket(1e4, 10)), clock=clock)
    assert fast.take("bob").allowed
    assert fast.take("bob").retry_after == 1  # 1 ms still says 1 s


def test_the_global_bucket_is_shared_by_all_users():
    clock = Clock()
    buckets = LocalBuckets(RateLimitSettings(True, Bucket(100.0, 100), Bucket(1.0, 2)), clock)
    assert buckets.take("alice").allowed
    assert buckets.take("bob").allowed
    assert buckets.take("carol") == Decision(False, 1, "global")


def test_both_tokens_or_neither():
    clock = Clock()
    settings = RateLimitSettings(True, Bucket(0.001, 1), Bucket(0.001, 2))
    buckets = LocalBuckets(settings, clock=clock)
    assert buckets.take("alice").allowed
    assert buckets.take("alice").limited == "user"  # refused: the global token stays
    assert buckets.take("bob").allowed  # ... so bob gets it
    assert buckets.take("carol").limited == "global"  # refused: carol's own token stays
    clock.now += 1000  # one global token back
    assert buckets.take("carol").allowed


def test_local_buckets_are_bounded():
    buckets = LocalBuckets(SETTINGS, max_users=2, clock=Clock())
    for user in ("a", "b", "c"):
        buckets.take(user)
    assert list(buckets._users) == ["b", "c"]


def test_defaults_are_never_hit_by_a_normal_app():
    """A user syncing a camera roll with one scoped grant per file, two files a
    second for ten minutes after a burst of 120, is never refused."""
    clock = Clock()
    buckets = LocalBuckets(RateLimitSettings(), clock=clock)
    assert all(buckets.take("alice").allowed for _ in range(120))
    for _ in range(1200):
        clock.now += 0.5
        assert buckets.take("alice").allowed


# -- on Redis ---------------------------------------------------------------------------------


def test_redis_and_local_buckets_decide_alike(link):
    """The Lua script and the in-process buckets do the same arithmetic."""
    settings = RateLimitSettings(True, Bucket(0.7, 3), Bucket(2.5, 5))
    rng = random.Random(7)
    clock = Clock()
    local = LocalBuckets(settings, clock=clock)
    shared = RedisBuckets(link, settings, clock)
    seen = set()
    for _ in range(500):
        clock.now += rng.choice([0, 0.001, 0.013, 0.3, 0.77, 2.0, 9.0])
        user = rng.choice(["alice", "bob", "carol", "dave"])
        decision = shared.take(user, far())
        assert decision == local.take(user_digest(user))
        seen.add(decision.limited)
    assert seen == {"", "user", "global"}


def test_redis_names_and_expiry(link, redis_db):
    clock = Clock()
    shared = RedisBuckets(link, SETTINGS, clock)
    shared.take("alice@example.com", far())
    alice = shared.user_key("alice@example.com")
    assert alice.startswith("cos-sts:{rl}:u:")  # one hash tag with the global key
    assert "alice" not in alice
    assert alice != shared.user_key("bob")
    assert set(redis_db.keys("*")) == {alice.encode(), b"cos-sts:{rl}:g"}
    # An absent bucket is a full one: keys expire once they would be full again.
    assert 3000 < redis_db.pttl(alice) <= 3000 + 1000  # 3 tokens at 1/s, plus 1 s
    assert 1000 < redis_db.pttl("cos-sts:{rl}:g") <= 1000 + 1000
    assert b"alice" not in b"".join(dump(redis_db))


def test_the_script_is_loaded_again_when_redis_lost_it(link, redis_db):
    shared = RedisBuckets(link, SETTINGS, Clock())
    redis_db.script_flush()
    before = link.calls
    assert shared.take("alice", far()).allowed
    assert link.calls == before + 2  # EVALSHA: NOSCRIPT, then EVAL (which caches it)
    assert redis_db.script_exists(SCRIPT_SHA) == [True]
    assert shared.take("alice", far()).allowed
    assert link.calls == before + 3


def test_a_redis_failure_falls_back_to_local_buckets():
    clock = Clock()
    down = RedisLink(f"redis://127.0.0.1:{free_port()}/0", CACHE_KEY.encode())
    limiter = RateLimiter(SETTINGS, down, clock)
    admission = limiter.admit("alice", far())
    assert (admission.decision.allowed, admission.where, admission.failure) == (
        True, "local", "unavailable",
    )  # fmt: skip
    assert limiter.admit("alice", far()).failure == "cooldown"
    assert limiter.admit("alice", far()).decision.allowed
    assert not limiter.admit("alice", far()).decision.allowed  # the local burst (3) is spent
    assert limiter.admit("bob", far(), use_shared=False).failure == "skipped"


# -- through the handler ----------------------------------------------------------------------


def test_over_the_limit_is_429_with_retry_after_and_no_sts_call(emulator, capsys):
    service = instance(make_env(emulator.endpoint), tight())
    for n in range(2):
        assert (
            index.handle(service, event(token(), scoped("alice", n)), context())["statusCode"]
            == 200
        )
    response = index.handle(service, event(token(), scoped("alice", 2)), context())
    assert response["statusCode"] == 429
    assert body_of(response)["error"]["code"] == "rate_limited"
    assert response["headers"]["Retry-After"] == "100"  # one token at 0.01/s
    assert len(emulator.calls) == 2
    line = log_lines(capsys)[-1]
    assert (line["outcome"], line["error"], line["limited"], line["limit"]) == (
        "rejected", "rate_limited", "user", "local",
    )  # fmt: skip
    # Reused keys cost no quota; other users have their own buckets.
    assert index.handle(service, event(token(), scoped("alice", 0)), context())["statusCode"] == 200
    assert index.handle(service, event(token("bob")), context())["statusCode"] == 200
    assert len(emulator.calls) == 3


def test_the_global_limit(emulator):
    document = document_with(rate_limit={"global": {"rate": 0.5, "burst": 1}})
    service = instance(make_env(emulator.endpoint), document)
    assert index.handle(service, event(token("alice")), context())["statusCode"] == 200
    response = index.handle(service, event(token("bob")), context())
    assert response["statusCode"] == 429
    assert response["headers"]["Retry-After"] == "2"
    assert len(emulator.calls) == 1


def test_retry_after_reaches_browsers(emulator):
    document = tight()
    document["cors"]["allowed_origins"] = ["https://app.example.com"]
    service = instance(make_env(emulator.endpoint), document)
    origin = {"Origin": "https://app.example.com"}
    for n in range(3):
        response = index.handle(
            service, event(token(), scoped("alice", n), headers=origin), context()
        )
    assert response["statusCode"] == 429
    assert "Retry-After" in response["headers"]["Access-Control-Expose-Headers"]


def test_limits_are_shared_by_instances_on_redis(emulator, redis_server, redis_db, capsys):
    """The abuse case: one user varying the scope on every request, spread over five
    instances. On Redis, STS sees the user's burst and no more; per instance, each
    instance grants its own burst (the weaker fallback)."""
    shared_env = redis_env(emulator.endpoint, redis_server.url)
    document = tight(rate=0.001, burst=5)
    for env, expected in ((shared_env, 5), (make_env(emulator.endpoint), 25)):
        emulator.reset()
        instances = [instance(env, document) for _ in range(5)]
        statuses = [
            index.handle(instances[n % 5], event(token("mallory"), scoped("mallory", n)),
                         context())["statusCode"]
            for n in range(50)
        ]  # fmt: skip
        assert len(emulator.calls) == expected
        assert statuses.count(200) == expected
        assert statuses.count(429) == 50 - expected
    capsys.readouterr()


def test_limits_with_retry_after_across_processes(emulator, redis_server, redis_db, tmp_path):
    path = write_config(tmp_path, tight())
    env = redis_env(emulator.endpoint, redis_server.url, STS_CONFIG=path)
    first = run_process(
        env, [event(token(), scoped("alice", 0)), event(token(), scoped("alice", 1))]
    )
    second = run_process(env, [event(token(), scoped("alice", 2)), event(token("bob"))])
    assert [r["response"]["statusCode"] for r in first["results"]] == [200, 200]
    refused, other = second["results"]
    assert refused["response"]["statusCode"] == 429
    assert refused["response"]["headers"]["Retry-After"] == "100"
    assert json.loads(refused["response"]["body"])["error"]["code"] == "rate_limited"
    assert (refused["log"]["limit"], refused["log"]["limited"]) == ("shared", "user")
    assert other["response"]["statusCode"] == 200
    assert len(emulator.calls) == 3
    # Without Redis each process has its own buckets: the same request passes.
    alone = run_process({**env, "STS_REDIS_URL": ""}, [event(token(), scoped("alice", 2))])
    assert alone["results"][0]["response"]["statusCode"] == 200


def test_limits_still_hold_locally_while_redis_is_down(emulator, capsys):
    env = redis_env(emulator.endpoint, f"redis://127.0.0.1:{free_port()}/0")
    service = instance(env, tight())
    statuses = [
        index.handle(service, event(token(), scoped("alice", n)), context())["statusCode"]
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]
    lines = log_lines(capsys)
    assert [line["limit"] for line in lines] == ["local"] * 3
    assert [line["redis"] for line in lines] == ["unavailable", "cooldown", "cooldown"]


def test_switched_off(emulator):
    document = tight()
    document["rate_limit"]["enabled"] = False
    service = instance(make_env(emulator.endpoint), document)
    assert service.limiter is None
    for n in range(5):
        assert (
            index.handle(service, event(token(), scoped("alice", n)), context())["statusCode"]
            == 200
        )


# -- configuration ------------------------------------------------------------------------------


def test_shipped_defaults():
    settings = parse_config(shipped_config(), make_env()).rate_limit
    assert settings == RateLimitSettings(True, Bucket(2.0, 120), Bucket(500.0, 500))
    assert parse_config({k: v for k, v in shipped_config().items() if k != "rate_limit"},
                        make_env()).rate_limit == settings  # fmt: skip


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"per_user": {"rate": 0}}, "rate_limit.per_user.rate"),
        ({"per_user": {"rate": "fast"}}, "rate_limit.per_user.rate"),
        ({"per_user": {"burst": 0}}, "rate_limit.per_user.burst"),
        ({"per_user": {"burst": 1.5}}, "rate_limit.per_user.burst"),
        ({"per_user": {"per_minute": 5}}, "rate_limit.per_user.per_minute"),
        ({"global": {"rate": -1}}, "rate_limit.global.rate"),
        ({"global": {"burst": 10**7}}, "rate_limit.global.burst"),
        ({"global": 5}, "rate_limit.global"),
        ({"enabled": "yes"}, "rate_limit.enabled"),
        ({"per_ip": {}}, "rate_limit.per_ip"),
    ],
)
def test_limits_fail_closed_naming_the_key(values, key):
    with pytest.raises(ConfigError) as caught:
        parse_config(document_with(rate_limit=values), make_env())
    assert caught.value.key == key


def test_retry_after_matches_the_refill_time():
    for rate in (0.01, 0.3, 1.0, 2.0, 7.0):
        clock = Clock()
        buckets = LocalBuckets(RateLimitSettings(True, Bucket(rate, 1), Bucket(1e5, 10**6)), clock)
        buckets.take("alice")
        retry_after = buckets.take("alice").retry_after
        assert retry_after == max(1, math.ceil(1 / rate))
        clock.now += retry_after
        assert buckets.take("alice").allowed  # waiting Retry-After is always enough
