"""Token buckets in front of STS: one per user, one for the whole function.

STS allows an account about 600 calls a second (docs/tencent/sts.md §1);
past that every user gets throttled. One signed-in user who varies a scope can
make every request a cache miss, so the buckets are checked exactly when a
request is about to call STS: a reused key costs no quota. A call needs a token
from the user's bucket and from the global one, and takes both or neither; over
either limit the request is answered 429 ``rate_limited`` with ``Retry-After``
(whole seconds, at least 1) and STS is not called.

- With Redis, both buckets live there and one Lua script checks and takes them
  atomically for all instances. The user's bucket is named by an HMAC of the user
  ID (never the ID itself); both keys share a Redis Cluster hash tag, and expire
  once they would be full again (an absent bucket is a full one).
- Without Redis, or while Redis fails (the request falls back, never fails), the
  same buckets live in this instance's memory. That is weaker: N instances allow
  up to N times the limits, and a new instance starts with full buckets.

Both sides do the same integer arithmetic (milliseconds, micro-tokens), so they
decide alike. A bucket read back from Redis is clamped (tokens within the bucket,
a time no later than now) and a wait longer than one token's refill is refused
as a bad value: whoever can write to Redis cannot lock users out for long. Times
come from the instance's clock: the instances' clocks are NTP-synchronised, and a
bucket never refills backwards.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Callable, NamedTuple, Optional

from .config_model import Bucket, RateLimitSettings
from .errors import ApiError
from .user_digest import user_digest

if TYPE_CHECKING:
    from .redis_link import RedisLink

MICRO = 1_000_000  # micro-tokens per token
LOCAL_MAX_USERS = 10000  # per-instance buckets kept; the least recently used goes first
USER = "user"
GLOBAL = "global"

# KEYS: the user's bucket, the global bucket. ARGV: now (ms), then rate
# (micro-tokens per ms) and size (micro-tokens) of each bucket. Returns
# {1, 0, 0} when both tokens were taken, else {0, user wait ms, global wait ms}.
SCRIPT = """
local now = tonumber(ARGV[1])
local tokens, stamps, waits = {}, {}, {0, 0}
for i = 1, 2 do
  local rate, size = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local saved = redis.call('HMGET', KEYS[i], 't', 's')
  local t, s = tonumber(saved[1]), tonumber(saved[2])
  if t == nil or s == nil then t, s = size, now end
  t, s = math.max(0, math.min(size, t)), math.min(s, now)
  if now > s then
    t = math.min(size, t + math.floor((now - s) * rate))
    s = now
  end
  tokens[i], stamps[i] = t, s
  if t < 1000000 then waits[i] = math.ceil((1000000 - t) / rate) end
end
if waits[1] > 0 or waits[2] > 0 then return {0, waits[1], waits[2]} end
for i = 1, 2 do
  local rate, size = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('HSET', KEYS[i], 't', tokens[i] - 1000000, 's', stamps[i])
  redis.call('PEXPIRE', KEYS[i], math.ceil(size / rate) + 1000)
end
return {1, 0, 0}
"""
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode("utf-8")).hexdigest()  # noqa: S324 - Redis's script id


class Decision(NamedTuple):
    allowed: bool
    retry_after: int = 0  # seconds, at least 1 when refused
    limited: str = ""  # USER or GLOBAL when refused


class RateLimited(ApiError):
    status = 429

    def __init__(self, retry_after: int, what: str = "too many new credentials requested") -> None:
        super().__init__(
            "rate_limited", f"{what}; retry in {retry_after} s", {"Retry-After": str(retry_after)}
        )


def _rates(bucket: Bucket) -> tuple[float, int]:
    """(micro-tokens per millisecond, size in micro-tokens)."""
    return bucket.rate * 1000, bucket.burst * MICRO


def decide(wait_user_ms: int, wait_global_ms: int) -> Decision:
    if wait_user_ms <= 0 and wait_global_ms <= 0:
        return Decision(True)
    seconds = max(1, math.ceil(max(wait_user_ms, wait_global_ms) / 1000))
    return Decision(False, seconds, USER if wait_user_ms > 0 else GLOBAL)


class LocalBuckets:
    """The buckets in this instance's memory: the same arithmetic as SCRIPT."""

    def __init__(
        self,
        settings: RateLimitSettings,
        clock: Callable[[], float] = time.time,
        max_users: int = LOCAL_MAX_USERS,
    ) -> None:
        self._rates = (_rates(settings.per_user), _rates(settings.overall))
        self.max_users = max_users
        self._clock = clock
        self._users: OrderedDict[str, list[float]] = OrderedDict()
        self._global: Optional[list[float]] = None
        self._lock = threading.Lock()

    def take(self, user_key: str) -> Decision:
        now = int(self._clock() * 1000)
        with self._lock:
            states = [self._users.get(user_key), self._global]
            waits = [0, 0]
            for i, ((rate, size), state) in enumerate(zip(self._rates, states)):
                tokens, stamp = (size, now) if state is None else state
                tokens, stamp = max(0, min(size, tokens)), min(stamp, now)
                if now > stamp:
                    tokens = min(size, tokens + math.floor((now - stamp) * rate))
                    stamp = now
                states[i] = [tokens, stamp]
                if tokens < MICRO:
                    waits[i] = math.ceil((MICRO - tokens) / rate)
            decision = decide(*waits)
            if decision.allowed:
                for state in states:
                    state[0] -= MICRO
                self._users[user_key] = states[0]
                self._users.move_to_end(user_key)
                self._global = states[1]
                while len(self._users) > self.max_users:
                    self._users.popitem(last=False)
            return decision


class RedisBuckets:
    """The buckets on Redis, shared by every instance."""

    def __init__(
        self,
        link: RedisLink,
        settings: RateLimitSettings,
        clock: Callable[[], float] = time.time,
        namespace: str = "",
    ) -> None:
        self.link = link
        # Another set of buckets (sign-in attempts: "login") gets its own hash tag.
        self._tag = f"{{rl{namespace}}}"
        self._global_key = f"{link.key_prefix}{self._tag}:g"
        user_rate, user_size = _rates(settings.per_user)
        global_rate, global_size = _rates(settings.overall)
        self._args = (repr(user_rate), user_size, repr(global_rate), global_size)
        # The longest honest wait: one token's refill from an empty bucket.
        self._max_waits = (math.ceil(MICRO / user_rate), math.ceil(MICRO / global_rate))
        self._clock = clock

    def user_key(self, user_id: str) -> str:
        return self.link.name(f"{self._tag}:u", user_id.encode("utf-8"))

    def take(self, user_id: str, deadline: float) -> Decision:
        """Raises ``link.Error`` when Redis cannot decide."""
        keys = (self.user_key(user_id), self._global_key)
        now = int(self._clock() * 1000)
        reply = self.link.script(deadline, SCRIPT_SHA, SCRIPT, keys, (now, *self._args))
        try:
            allowed, wait_user, wait_global = (int(value) for value in reply)
        except (TypeError, ValueError):
            raise self.link.Error("bad_value") from None
        bounded = all(0 <= w <= m + 1 for w, m in zip((wait_user, wait_global), self._max_waits))
        if allowed not in (0, 1) or not bounded:
            raise self.link.Error("bad_value")
        return Decision(True) if allowed == 1 else decide(wait_user, wait_global)


class Admission(NamedTuple):
    decision: Decision
    where: str  # "shared" (Redis) or "local" (this instance's buckets)
    failure: Optional[str] = None  # the Redis failure that sent it to the local buckets


class RateLimiter:
    def __init__(
        self,
        settings: RateLimitSettings,
        link: Optional[RedisLink] = None,
        clock: Callable[[], float] = time.time,
        namespace: str = "",
    ) -> None:
        self.settings = settings
        self.local = LocalBuckets(settings, clock=clock)
        self.shared = RedisBuckets(link, settings, clock, namespace) if link is not None else None

    def admit(self, user_id: str, deadline: float, use_shared: bool = True) -> Admission:
        """Take a token from the user's and the global bucket, or say how long to wait.
        `use_shared` is False once Redis failed earlier in the same request."""
        failure = None
        if self.shared is not None:
            if use_shared:
                try:
                    return Admission(self.shared.take(user_id, deadline), "shared")
                except self.shared.link.Error as error:
                    failure = error.kind
            else:
                failure = "skipped"
        return Admission(self.local.take(user_digest(user_id)), "local", failure)
