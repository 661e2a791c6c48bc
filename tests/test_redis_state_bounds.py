"""Redis state is bounded: a tampered or out-of-bounds rate-limit bucket cannot
lock users out for longer than one token's refill."""

from __future__ import annotations

import time

import index
from sts_core.rate_limit import RateLimiter
from tests.support import (
    context,
    event,
    token,
)
from tests.support.redis import document_with, instance, redis_env


def test_a_tampered_rate_limit_bucket_cannot_lock_users_out(emulator, redis_server, redis_db):
    env = redis_env(emulator.endpoint, redis_server.url)
    document = document_with(rate_limit={"per_user": {"rate": 1, "burst": 2}})
    service = instance(env, document)
    limiter: RateLimiter = service.limiter
    user_key = limiter.shared.user_key("alice")
    far_future = int(time.time() * 1000) + 10**9
    redis_db.hset(user_key, mapping={"t": -(10**15), "s": far_future})
    redis_db.hset("cos-sts:{rl}:g", mapping={"t": -(10**15), "s": far_future})
    response = index.handle(service, event(token("alice")), context())
    assert response["statusCode"] == 429
    assert int(response["headers"]["Retry-After"]) <= 1  # one token's refill, not 11 days


def test_rate_limit_replies_out_of_bounds_are_bad_values(emulator, redis_server, redis_db):
    """A reply no honest bucket gives (a script someone replaced) is refused; the
    request then falls back to this instance's buckets."""
    env = redis_env(emulator.endpoint, redis_server.url)
    service = instance(env, document_with(rate_limit={"per_user": {"rate": 1, "burst": 2}}))
    limiter: RateLimiter = service.limiter
    link = limiter.shared.link
    replies = iter([[0, 2_000_000_000, 0]])
    link.script = lambda *args: next(replies)  # the one stand-in: what Redis answered
    response = index.handle(service, event(token("alice")), context())
    assert response["statusCode"] == 200  # the local buckets admitted it
