"""Per-user storage quotas, counted from COS events and kept in Redis.

What Redis holds per user (every name an HMAC, all of one user's under one Redis
Cluster hash tag so a script touches one slot):

- ``u``: usage, bytes ``b`` and files ``f``, changed only by events;
- ``r``: outstanding ticket reservations, ticket id -> ``size:expiry``;
- ``o:<object>``: the last event applied to each object, ``time|kind|size``.

An event is applied only when it is newer than the one recorded for its object
(the same second: a removal beats a creation), so a redelivery changes nothing,
and a removal that overtakes its creation leaves a tombstone the late creation
cannot pass: order does not matter. An event carrying a ticket id ends that
ticket's reservation. Tickets are checked and reserved in one script: exact.
Keys are checked against usage plus reservations: approximate (docs/uploads.md).
Each call is one round trip (EVALSHA; EVAL once after a Redis restart).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Callable, NamedTuple, Optional

if TYPE_CHECKING:
    from .config_model import QuotaSettings
    from .cos_events import ObjectEvent
    from .redis_link import RedisLink

TOMBSTONE_TTL = 7 * 86400  # longer than SCF keeps an event for retries (6 hours)
UNLIMITED = -1

# KEYS: usage, reservations, object. ARGV: time, kind (c|r), size, ticket id, tombstone ttl.
# Returns {bytes, files, applied}.
EVENT_SCRIPT = """
local t, kind, size = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
if ARGV[4] ~= '' then redis.call('HDEL', KEYS[2], ARGV[4]) end
local db, df = 0, 0
local cur = redis.call('GET', KEYS[3])
local applied = 1
if cur then
  local ct, ck, cs = string.match(cur, '^(%d+)|(%a)|(%d+)$')
  ct, cs = tonumber(ct), tonumber(cs)
  if t > ct or (t == ct and kind == 'r' and ck == 'c') then
    if ck == 'c' then
      if kind == 'c' then db = size - cs else db, df = -cs, -1 end
    elseif kind == 'c' then db, df = size, 1 end
  else
    applied = 0
  end
elseif kind == 'c' then db, df = size, 1 end
if applied == 1 then
  if kind == 'c' then
    redis.call('SET', KEYS[3], t .. '|c|' .. size)
  else
    redis.call('SET', KEYS[3], t .. '|r|0', 'EX', ARGV[5])
  end
end
local b = math.max(0, (tonumber(redis.call('HGET', KEYS[1], 'b')) or 0) + db)
local f = math.max(0, (tonumber(redis.call('HGET', KEYS[1], 'f')) or 0) + df)
if db ~= 0 or df ~= 0 then redis.call('HSET', KEYS[1], 'b', b, 'f', f) end
return {b, f, applied}
"""

# KEYS: usage, reservations. ARGV: now, size, expiry, ticket id ('' only checks),
# byte limit, file limit (-1: none). Returns {allowed, bytes, files, reserved bytes,
# reserved files}: allowed when usage + reservations + size stays within both limits
# (a check, with size 0, allows while below them).
TICKET_SCRIPT = """
local now, size, expiry = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lb, lf = tonumber(ARGV[5]), tonumber(ARGV[6])
local u = redis.call('HMGET', KEYS[1], 'b', 'f')
local b, f = tonumber(u[1]) or 0, tonumber(u[2]) or 0
local rb, rf, last = 0, 0, 0
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local s, e = string.match(all[i + 1], '^(%d+):(%d+)$')
  if s == nil or tonumber(e) <= now then
    redis.call('HDEL', KEYS[2], all[i])
  else
    rb, rf, last = rb + tonumber(s), rf + 1, math.max(last, tonumber(e))
  end
end
local files = 1
if ARGV[4] == '' then files = 0 end
local ok = 1
if ARGV[4] == '' then
  if (lb >= 0 and b + rb >= lb) or (lf >= 0 and f + rf >= lf) then ok = 0 end
elseif (lb >= 0 and b + rb + size > lb) or (lf >= 0 and f + rf + files > lf) then
  ok = 0
end
if ok == 1 and ARGV[4] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[4], size .. ':' .. expiry)
  redis.call('EXPIREAT', KEYS[2], math.max(last, expiry))
end
return {ok, b, f, rb, rf}
"""
EVENT_SHA = hashlib.sha1(EVENT_SCRIPT.encode("utf-8")).hexdigest()  # noqa: S324 - script id
TICKET_SHA = hashlib.sha1(TICKET_SCRIPT.encode("utf-8")).hexdigest()  # noqa: S324 - script id


class Usage(NamedTuple):
    bytes: int
    files: int
    reserved_bytes: int = 0
    reserved_files: int = 0


class Check(NamedTuple):
    allowed: bool
    usage: Usage


class Quota:
    """The user quotas on Redis; every method raises link.Error on Redis trouble."""

    def __init__(
        self, link: RedisLink, settings: QuotaSettings, clock: Callable[[], float]
    ) -> None:
        self.link = link
        self.settings = settings
        self._clock = clock

    def _names(self, user_id: str) -> tuple[str, str, str]:
        digest = self.link.name("q", user_id.encode("utf-8")).rsplit(":", 1)[1]
        base = f"{self.link.key_prefix}q:{{{digest}}}:"
        return base + "u", base + "r", base

    def _limits(self) -> tuple[int, int]:
        limits = self.settings
        return (
            UNLIMITED if limits.bytes is None else limits.bytes,
            UNLIMITED if limits.files is None else limits.files,
        )

    def reserve(
        self, user_id: str, ticket_id: str, size: int, expires: int, deadline: float
    ) -> Check:
        """A ticket of `size` bytes: reserved until its event or `expires`, if it fits."""
        return self._ticket_script(user_id, ticket_id, size, expires, deadline)

    def check(self, user_id: str, deadline: float) -> Check:
        """Keys: allowed while usage and reservations are below both limits."""
        return self._ticket_script(user_id, "", 0, 0, deadline)

    def _ticket_script(
        self, user_id: str, ticket_id: str, size: int, expires: int, deadline: float
    ) -> Check:
        usage_key, reserved_key, _ = self._names(user_id)
        args = (int(self._clock()), size, expires, ticket_id, *self._limits())
        reply = self.link.script(
            deadline, TICKET_SHA, TICKET_SCRIPT, (usage_key, reserved_key), args
        )
        ok, used, files, reserved, reserved_files = (int(v) for v in reply)
        return Check(ok == 1, Usage(used, files, reserved, reserved_files))

    def apply(self, user_id: str, event: ObjectEvent, deadline: float) -> tuple[Usage, bool]:
        """Count one event (idempotent, order-independent); the usage after it."""
        usage_key, reserved_key, base = self._names(user_id)
        object_digest = self.link.name("o", f"{event.bucket}\n{event.key}".encode())
        keys = (usage_key, reserved_key, base + "o:" + object_digest.rsplit(":", 1)[1])
        kind = "c" if event.kind == "created" else "r"
        args = (event.time, kind, event.size or 0, event.ticket_id or "", TOMBSTONE_TTL)
        reply = self.link.script(deadline, EVENT_SHA, EVENT_SCRIPT, keys, args)
        used, files, applied = (int(v) for v in reply)
        return Usage(used, files), applied == 1

    def usage(self, user_id: str, deadline: float) -> Usage:
        return self.check(user_id, deadline).usage

    def reset(self, user_id: str, deadline: float) -> None:
        """Forget a user's usage and reservations (objects' records stay: a redelivered
        event still changes nothing)."""
        usage_key, reserved_key, _ = self._names(user_id)
        self.link.command(deadline, "DEL", usage_key, reserved_key)

    def limits_text(self, usage: Usage) -> str:
        limits = self.settings
        parts = []
        if limits.bytes is not None:
            parts.append(f"{usage.bytes + usage.reserved_bytes} of {limits.bytes} bytes")
        if limits.files is not None:
            parts.append(f"{usage.files + usage.reserved_files} of {limits.files} files")
        return " and ".join(parts) + " used or reserved"

    def bytes_left(self, usage: Optional[Usage]) -> Optional[int]:
        if usage is None or self.settings.bytes is None:
            return None
        return max(0, self.settings.bytes - usage.bytes - usage.reserved_bytes)
