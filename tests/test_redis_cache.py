"""Key reuse across instances on a real redis-server: the same rules as the
per-instance cache, what Redis holds (nothing readable), TTLs, and Redis down,
hung, flushed or restarted: requests still succeed within the time limit."""

from __future__ import annotations

import json
import sys
import time

import pytest

import index
from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from sts_core.issued_credentials import IssuedCredentials
from sts_core.redis_link import RedisLink, SharedError
from sts_core.shared_cache import SharedCache
from sts_core.user_digest import user_digest
from sts_tools.emulators import sts as emu
from sts_tools.support.redis_server import RedisServer, free_port
from tests.support import (
    BUCKET,
    JWT_SECRET,
    Clock,
    body_of,
    context,
    event,
    make_env,
    shipped_config,
    token,
)
from tests.support.redis import (
    CACHE_KEY,
    SilentRedis,
    document_with,
    dump,
    far,
    instance,
    log_lines,
    redis_env,
    run_process,
    write_config,
)
from tests.support.tools import require_executable

NOW = 1_700_000_000


def issued(expired, request_id="rid"):
    return IssuedCredentials(
        "AKIDshared", "shared-key", "shared-token", NOW, expired, "", request_id
    )


@pytest.fixture
def env(emulator, redis_server, redis_db):
    return redis_env(emulator.endpoint, redis_server.url)


# For tests that count STS calls across instances: Redis's 0.1 s per operation is
# the product's bound (tests below hold it), but a loaded machine can stall a fresh
# process's first Redis call past it, and the miss becomes an extra STS call.
PATIENT = document_with(redis={"timeout": 2})


@pytest.fixture
def patient_env(env, tmp_path):
    return {**env, "STS_CONFIG": write_config(tmp_path, PATIENT)}


def scoped(user, name):
    return {"scope": [{"action": "name/cos:PutObject", "prefix": f"users/{user}/{name}"}]}


# -- shared between instances ----------------------------------------------------------


def test_keys_are_reused_across_instances(emulator, env, capsys):
    first, second = instance(env), instance(env)
    a = body_of(index.handle(first, event(token("alice")), context()))
    b = body_of(index.handle(second, event(token("alice")), context()))
    c = body_of(index.handle(second, event(token("alice")), context()))
    assert len(emulator.calls) == 1
    assert a == b == c  # the same keys, with their true startTime and expiredTime
    assert [line["cache"] for line in log_lines(capsys)] == ["miss", "shared-hit", "hit"]


def test_the_ticket_signing_key_is_shared_too(emulator, env, capsys):
    """Instances share the function's own signing key (encrypted like callers' keys):
    one STS call for tickets from any number of instances."""
    wanted = {"profile": "avatar", "ticket": {"method": "post", "extension": "jpg"}}
    first, second = instance(env, PATIENT), instance(env, PATIENT)
    tickets = [
        body_of(index.handle(service, event(token(user), wanted), context()))["ticket"]
        for service, user in ((first, "alice"), (second, "bob"), (second, "carol"))
    ]
    assert len(emulator.calls) == 1
    assert len({t["fields"]["q-ak"] for t in tickets}) == 1
    assert [line["signer"] for line in log_lines(capsys)] == ["issued", "shared", "reused"]


def test_reuse_across_two_separate_processes(emulator, patient_env):
    first = run_process(patient_env, [event(token("alice"))])
    second = run_process(patient_env, [event(token("alice")), event(token("bob"))])
    assert len(emulator.calls) == 2  # alice once, bob once
    mine, theirs = first["results"][0], second["results"][0]
    assert mine["response"]["statusCode"] == theirs["response"]["statusCode"] == 200
    assert json.loads(mine["response"]["body"]) == json.loads(theirs["response"]["body"])
    assert (mine["log"]["cache"], theirs["log"]["cache"]) == ("miss", "shared-hit")
    assert second["results"][1]["log"]["cache"] == "miss"
    assert "redis" not in mine["log"]  # no Redis failure anywhere
    assert {"redis", "cryptography", "sts_core.shared_cache"} <= set(first["modules"])


@pytest.mark.parametrize(
    "second",
    [
        {"user": "bob"},
        {"body": {"profile": "download"}},
        {"body": {"durationSeconds": 3600}},
        {"body": scoped("alice", "a.jpg")},
    ],
)
def test_any_policy_shaping_difference_misses(emulator, env, second):
    index.handle(instance(env), event(token("alice")), context())
    user = second.get("user", "alice")
    response = index.handle(instance(env), event(token(user), second.get("body", "")), context())
    assert response["statusCode"] == 200
    assert len(emulator.calls) == 2
    assert body_of(response)["prefix"] == f"users/{user}/"


def test_the_token_is_still_verified_on_a_shared_hit(env):
    index.handle(instance(env), event(token("alice")), context())
    forged = token("alice", secret="x" * 40)
    assert index.handle(instance(env), event(forged), context())["statusCode"] == 401


def test_another_cache_key_shares_nothing(emulator, env):
    index.handle(instance(env), event(token()), context())
    other = {**env, "STS_CACHE_KEY": "another-cache-key-0123456789abcdefghijklmn"}
    index.handle(instance(other), event(token()), context())
    assert len(emulator.calls) == 2  # other names: after a key rotation, entries just expire


# -- what Redis holds --------------------------------------------------------------------


def test_redis_holds_nothing_readable(emulator, env, redis_db):
    service = instance(env)
    secrets = [CACHE_KEY, JWT_SECRET, emu.DEV_SECRET_KEY, emu.DEV_SECRET_ID, BUCKET,
               "1250000000", "name/cos:", "statement", "qcs::cos", "users/"]  # fmt: skip
    for user, body in [
        ("alice", ""),
        ("bob@example.com", {"profile": "download"}),
        ("carol", scoped("carol", "photo.jpg")),
    ]:
        caller = token(user)
        answer = body_of(index.handle(service, event(caller, body), context()))
        credentials = answer["credentials"]
        secrets += [caller, user, user_digest(user), answer["requestId"], *credentials.values()]
    for call in emulator.calls:
        secrets.append(json.dumps(call.policy, separators=(",", ":")))
    contents = dump(redis_db)
    assert len(redis_db.keys("cos-sts:k:*")) == 3  # the three cached grants
    raw = b"\n".join(contents)
    for secret in secrets:
        assert secret.encode() not in raw, secret
    for text in (secret.lower() for secret in secrets):
        assert text.encode() not in raw.lower()


def test_values_are_encrypted_and_bound_to_their_name(link, redis_db):
    cache = SharedCache(link, clock=Clock(NOW))
    cache.put("alice-policy", 1800, issued(NOW + 1800, "rid-a"), far())
    cache.put("bob-policy", 1800, issued(NOW + 1800, "rid-b"), far())
    alice, bob = cache.name("alice-policy", 1800), cache.name("bob-policy", 1800)
    assert redis_db.get(alice)[:1] == b"\x01"
    redis_db.set(bob, redis_db.get(alice))  # alice's keys moved under bob's name
    with pytest.raises(SharedError) as caught:
        cache.get("bob-policy", 1800, far())
    assert caught.value.kind == "bad_value"
    sealed = bytearray(redis_db.get(alice))
    for tampered in (
        bytes(sealed[:-1]) + bytes([sealed[-1] ^ 1]),  # one bit of the tag
        bytes(sealed[:20]),
        b"",
        b"\x02" + bytes(sealed[1:]),  # an unknown format
        b"not encrypted",
    ):
        redis_db.set(alice, tampered)
        with pytest.raises(SharedError, match="bad_value"):
            cache.get("alice-policy", 1800, far())
    # A bad value is not a Redis failure: the next call is made at once.
    assert cache.get("carol-policy", 1800, far()) is None


def test_a_cached_key_living_longer_than_asked_is_a_bad_value(link, redis_db):
    """Even a sealed entry is bounded: keys asked for 1800 s cannot live ten years
    (whoever holds STS_CACHE_KEY could seal one; the bound keeps it out of use)."""
    cache = SharedCache(link, clock=Clock(NOW))
    cache.put("p", 1800, issued(NOW + 1800 + 300), far())  # clock skew: still fine
    assert cache.get("p", 1800, far()) is not None
    cache.put("p", 1800, issued(NOW + 10 * 365 * 86400), far())
    with pytest.raises(SharedError, match="bad_value"):
        cache.get("p", 1800, far())


def test_a_bad_value_is_replaced_by_fresh_keys(emulator, env, redis_db, capsys):
    index.handle(instance(env), event(token()), context())
    (name,) = redis_db.keys("cos-sts:k:*")
    redis_db.set(name, b"\x01" + b"\x00" * 60)
    response = index.handle(instance(env), event(token()), context())
    assert response["statusCode"] == 200
    line = log_lines(capsys)[-1]
    assert (line["cache"], line["redis"], line["limit"]) == ("shared-error", "bad_value", "shared")
    index.handle(instance(env), event(token()), context())
    assert log_lines(capsys)[-1]["cache"] == "shared-hit"  # the entry was overwritten
    assert len(emulator.calls) == 2


# -- the rules and the TTL ------------------------------------------------------------------


def test_the_same_rules_as_the_local_cache(link, redis_db):
    clock = Clock(NOW)
    cache = SharedCache(link, clock=clock)
    cache.put("policy", 1800, issued(NOW + 1800), far())
    assert cache.get("policy", 1800, far()) == issued(NOW + 1800)
    assert cache.get("policy", 3600, far()) is None
    assert cache.get("other", 1800, far()) is None
    clock.now = NOW + 900  # exactly half the duration left: still served
    assert cache.get("policy", 1800, far()) is not None
    clock.now = NOW + 901  # the rule decides, even before Redis's TTL runs out
    assert cache.get("policy", 1800, far()) is None


def test_ttl_is_the_remaining_life_less_the_margin(link, redis_db):
    clock = Clock(NOW)
    cache = SharedCache(link, clock=clock)
    cache.put("p", 1800, issued(NOW + 1800), far())
    assert redis_db.ttl(cache.name("p", 1800)) == 900
    configured = SharedCache(link, min_remaining=1200, clock=clock)
    configured.put("q", 3600, issued(NOW + 3600), far())
    assert redis_db.ttl(configured.name("q", 3600)) == 2400
    clock.now = NOW + 1000  # 800 s left, 900 needed: never stored
    cache.put("late", 1800, issued(NOW + 1800), far())
    assert redis_db.exists(cache.name("late", 1800)) == 0
    cache.put("floor", 400, issued(NOW + 1000 + 299), far())  # under the 300 s floor
    assert redis_db.exists(cache.name("floor", 400)) == 0


def test_ttl_through_the_handler(emulator, env, redis_db):
    index.handle(instance(env), event(token(), {"durationSeconds": 3600}), context())
    (name,) = redis_db.keys("cos-sts:k:*")
    assert 1800 - 5 <= redis_db.ttl(name) <= 1800


def test_keys_stay_out_of_redis_when_sharing_is_off(emulator, env, redis_db):
    service = instance(env, document_with(cache={"shared": False}))
    assert service.shared is None
    index.handle(service, event(token()), context())
    index.handle(service, event(token()), context())
    assert len(emulator.calls) == 1  # still reused within the instance
    assert redis_db.keys("cos-sts:k:*") == []
    assert redis_db.keys("cos-sts:{rl}:*")  # the limits still live in Redis


# -- Redis down, hung, flushed, restarted -----------------------------------------------------


def down_env(emulator):
    return redis_env(emulator.endpoint, f"redis://127.0.0.1:{free_port()}/0")


def test_redis_down_falls_back_to_sts_and_cools_down(emulator, capsys):
    service = instance(down_env(emulator))
    started = time.monotonic()
    response = index.handle(service, event(token("alice")), context())
    assert response["statusCode"] == 200
    assert time.monotonic() - started < 1.0
    line = log_lines(capsys)[-1]
    assert (line["cache"], line["redis"], line["limit"]) == ("shared-error", "unavailable", "local")
    attempted = service.shared.link.calls
    assert attempted == 1  # once failed, the request asks Redis nothing more
    response = index.handle(service, event(token("bob")), context())
    assert response["statusCode"] == 200
    assert log_lines(capsys)[-1]["redis"] == "cooldown"
    assert service.shared.link.calls == attempted  # no new attempt while cooling down
    assert len(emulator.calls) == 2


def test_a_hung_redis_costs_one_timeout_within_the_time_limit(emulator, capsys):
    silent = SilentRedis()
    try:
        service = instance(redis_env(emulator.endpoint, silent.url))
        started = time.monotonic()
        response = index.handle(service, event(token("alice")), context(3000))
        elapsed = time.monotonic() - started
        assert response["statusCode"] == 200
        assert 0.09 <= elapsed < 0.6  # redis.timeout is 0.1 s
        line = log_lines(capsys)[-1]
        assert (line["cache"], line["redis"]) == ("shared-error", "timeout")
        started = time.monotonic()
        assert index.handle(service, event(token("bob")), context(3000))["statusCode"] == 200
        assert time.monotonic() - started < 0.09  # cooling down: no second timeout
    finally:
        silent.close()


def test_redis_never_eats_the_sts_calls_time(emulator, capsys):
    """Even with a long redis.timeout, a Redis call ends where STS still has its
    minimum attempt time before the invocation's deadline."""
    silent = SilentRedis()
    try:
        env = redis_env(emulator.endpoint, silent.url)
        service = instance(env, document_with(redis={"timeout": 5.0, "cooldown": 0}))
        started = time.monotonic()
        # 1000 ms limit - 0.3 s margin: STS must answer by 0.7 s and may start no later
        # than 0.4 s; Redis gets up to 0.35 s (a slack of 0.05 s).
        response = index.handle(service, event(token()), context(1000))
        elapsed = time.monotonic() - started
        assert response["statusCode"] == 200, response["body"]
        assert 0.3 <= elapsed < 0.7
        assert log_lines(capsys)[-1]["redis"] == "timeout"
        assert service.shared.link.calls == 1  # cooldown 0, yet one Redis failure per request
    finally:
        silent.close()


def test_a_flush_mid_run_only_costs_sts_calls(emulator, env, redis_db, capsys):
    index.handle(instance(env), event(token()), context())
    redis_db.flushall()
    redis_db.script_flush()  # the rate-limit script too: EVALSHA falls back to EVAL
    response = index.handle(instance(env), event(token()), context())
    assert response["statusCode"] == 200
    line = log_lines(capsys)[-1]
    assert (line["cache"], line["limit"]) == ("miss", "shared")
    assert "redis" not in line
    index.handle(instance(env), event(token()), context())
    assert log_lines(capsys)[-1]["cache"] == "shared-hit"
    assert len(emulator.calls) == 2


def test_redis_restarted_mid_run(emulator, capsys):
    require_executable("redis-server", "apt-get install redis-server")
    server = RedisServer().start()
    port = server.port
    try:
        env = redis_env(emulator.endpoint, server.url)
        service = instance(env, document_with(redis={"cooldown": 0}))
        assert index.handle(service, event(token("alice")), context())["statusCode"] == 200
        server.stop()
        assert index.handle(service, event(token("bob")), context())["statusCode"] == 200
        assert log_lines(capsys)[-1]["redis"] == "unavailable"
        server = RedisServer(port=port).start()  # empty: nothing was persisted
        assert index.handle(service, event(token("carol")), context())["statusCode"] == 200
        line = log_lines(capsys)[-1]
        assert (line["cache"], line["limit"]) == ("miss", "shared")  # reconnected
        assert "redis" not in line
    finally:
        server.stop()


def test_the_link_cools_down_and_never_runs_into_the_reserve(redis_server, redis_db):
    clock = Clock(1000.0)
    down = RedisLink(f"redis://127.0.0.1:{free_port()}/0", b"k" * 32, monotonic=clock)
    with pytest.raises(SharedError, match="unavailable"):
        down.command(clock() + 5, "PING")
    with pytest.raises(SharedError, match="cooldown"):
        down.command(clock() + 5, "PING")
    assert down.calls == 1
    clock.now += 5  # the cooldown is over: tried again
    with pytest.raises(SharedError, match="unavailable"):
        down.command(clock() + 5, "PING")
    assert down.calls == 2

    up = RedisLink(redis_server.url, b"k" * 32, monotonic=clock)
    with pytest.raises(SharedError, match="no_time"):
        up.command(clock() + 0.35, "PING")  # all that is left belongs to STS (reserve)
    assert up.calls == 0
    assert up.command(clock() + 5, "PING") == b"PONG"  # no_time is not a failure of Redis
    up.close()


# -- TLS and passwords -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory):
    trustme = pytest.importorskip("trustme")
    require_executable("redis-server", "apt-get install redis-server")
    directory = tmp_path_factory.mktemp("redis-tls")
    authority = trustme.CA()
    issued_cert = authority.issue_cert("127.0.0.1")
    paths = {name: str(directory / f"{name}.pem") for name in ("ca", "cert", "key")}
    authority.cert_pem.write_to_path(paths["ca"])
    issued_cert.cert_chain_pems[0].write_to_path(paths["cert"])
    issued_cert.private_key_pem.write_to_path(paths["key"])
    with RedisServer(password="redis-PASSWORD-for-tests", tls=paths) as server:
        yield server, paths["ca"]


def test_rediss_with_a_password(emulator, tls_redis, capsys):
    server, ca = tls_redis
    env = redis_env(emulator.endpoint, f"{server.url}?ssl_ca_certs={ca}")
    index.handle(instance(env), event(token("tls-user")), context())
    index.handle(instance(env), event(token("tls-user")), context())
    assert [line["cache"] for line in log_lines(capsys)] == ["miss", "shared-hit"]
    assert len(emulator.calls) == 1


@pytest.mark.parametrize("case", ["untrusted-server", "wrong-password"])
def test_untrusted_or_refused_tls_falls_back(emulator, tls_redis, capsys, case):
    server, ca = tls_redis
    if case == "untrusted-server":  # no CA given: the server's certificate is not trusted
        url = server.url
    else:
        url = (
            server.url.replace("redis-PASSWORD-for-tests", "wrong-PASSWORD") + f"?ssl_ca_certs={ca}"
        )
    env = redis_env(emulator.endpoint, url)
    response = index.handle(instance(env), event(token()), context())
    assert response["statusCode"] == 200
    line = log_lines(capsys)[-1]
    assert line["cache"] == "shared-error"
    assert line["redis"] in ("unavailable", "refused")
    assert "PASSWORD" not in json.dumps(line)


# -- configuration and the cold path ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "key", "words"),
    [
        ({"STS_REDIS_URL": "http://:hunter2-secret@cache:6379"}, "STS_REDIS_URL", "redis://"),
        ({"STS_REDIS_URL": "unix:///tmp/redis.sock"}, "STS_REDIS_URL", "redis://"),
        ({"STS_REDIS_URL": "redis://:hunter2-secret@/0"}, "STS_REDIS_URL", "host"),
        ({"STS_REDIS_URL": "redis://:hunter2-secret@cache:port/0"}, "STS_REDIS_URL", "port"),
        ({"STS_REDIS_URL": "redis://:hunter2-secret@cache:6379/x"}, "STS_REDIS_URL", "database"),
        ({"STS_CACHE_KEY": None}, "STS_CACHE_KEY", "32 random bytes"),
        ({"STS_CACHE_KEY": "too-short"}, "STS_CACHE_KEY", "32 random bytes"),
        ({"STS_CACHE_KEY": JWT_SECRET}, "STS_CACHE_KEY", "STS_JWT_SECRET"),
    ],
)
def test_redis_variables_fail_closed_naming_the_variable(env, key, words):
    with pytest.raises(ConfigError) as caught:
        parse_config(
            shipped_config(), redis_env("http://127.0.0.1:9", "redis://cache:6379/0", **env)
        )
    assert caught.value.key == key
    assert words in str(caught.value)
    assert "hunter2" not in str(caught.value)  # the URL's password is never repeated


@pytest.mark.parametrize(
    ("section", "values", "key"),
    [
        ("redis", {"timeout": 0}, "redis.timeout"),
        ("redis", {"timeout": "fast"}, "redis.timeout"),
        ("redis", {"cooldown": -1}, "redis.cooldown"),
        ("redis", {"key_prefix": "{tag}:"}, "redis.key_prefix"),
        ("redis", {"key_prefix": "has space"}, "redis.key_prefix"),
        ("redis", {"url": "redis://x"}, "redis.url"),  # URLs hold passwords: env only
        ("cache", {"shared": "yes"}, "cache.shared"),
    ],
)
def test_redis_settings_fail_closed_naming_the_key(section, values, key):
    with pytest.raises(ConfigError) as caught:
        parse_config(document_with(**{section: values}), make_env())
    assert caught.value.key == key


def test_redis_defaults_and_no_redis_without_the_url(emulator):
    config = parse_config(shipped_config(), make_env())
    assert config.redis.enabled is False
    assert (config.redis.timeout, config.redis.cooldown, config.redis.key_prefix) == (
        0.1, 5.0, "cos-sts:",
    )  # fmt: skip
    assert config.cache_shared is True
    service = instance(make_env(emulator.endpoint))
    assert service.shared is None
    assert service.limiter.shared is None  # limits per instance


def test_a_bad_redis_setting_fails_the_cold_start_closed(emulator):
    env = redis_env(emulator.endpoint, "redis://cache:6379/0", STS_CACHE_KEY=None)
    started = index.start(env, index.CONFIG_PATH)
    assert isinstance(started, ConfigError)
    assert started.key == "STS_CACHE_KEY"
    response = index.handle(started, event(token()), context())
    assert response["statusCode"] == 500
    assert body_of(response)["error"]["code"] == "misconfigured"


@pytest.mark.parametrize("module", ["redis", "cryptography.hazmat.primitives.ciphers.aead"])
def test_a_package_without_the_redis_extra_fails_closed(emulator, monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    with pytest.raises(ConfigError) as caught:
        instance(redis_env(emulator.endpoint, "redis://cache:6379/0"))
    assert caught.value.key == "STS_REDIS_URL"
    assert "make package REDIS=1" in str(caught.value)


def test_the_cold_path_without_redis_imports_no_redis_code(emulator):
    """As in an HS256 package (built without the extras): neither redis nor
    cryptography can be imported, and a request still works. (In this virtualenv
    PyJWT would load cryptography by itself; the package test checks the real thing.)"""
    report = run_process(
        make_env(emulator.endpoint), [event(token())], block=("redis", "cryptography")
    )
    (result,) = report["results"]
    assert result["response"]["statusCode"] == 200
    loaded = set(report["modules"])
    assert not loaded & {"sts_core.redis_link", "sts_core.shared_cache"}
    assert result["log"]["limit"] == "local"  # limits still apply, per instance
    assert "redis" not in result["log"]
