"""The connection to Redis shared by the key cache and the rate limits.

Built only when ``STS_REDIS_URL`` is set (``redis://`` or ``rediss://`` for TLS);
the redis package is imported here and nowhere else, so a deployment without
Redis never loads it.

- One connection per warm instance (an event function runs one request at a
  time), opened on first use and reopened after a failure. redis-py's own retries
  are off: a failed call is never repeated within a request.
- Every call is bounded twice: each socket operation (connect, TLS handshake,
  send, read) by ``timeout``, and all of it by the invocation's deadline less
  ``reserve``, the time an STS call needs: Redis can never eat the budget of the
  STS call that falls back for it.
- A failure raises `SharedError` with a ``kind`` for the log (timeout,
  unavailable, refused, error) and, for ``cooldown`` seconds, this instance
  leaves Redis alone (calls fail at once with kind ``cooldown``): a dead or
  hanging Redis costs one timeout per instance, not one per request. A call that
  would leave STS too little time is not made (kind ``no_time``, no cooldown).
- Names: every key is the configured prefix plus an HMAC-SHA256 under a key
  derived from ``STS_CACHE_KEY``, so a key in Redis reveals neither a user nor a
  policy. Error messages never carry the URL (it may hold a password).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
import time
from typing import Any, Callable

# The shortest bound worth trying a call with; below it, STS gets the time.
MIN_CALL_TIME = 0.002
# Kept back on top of `reserve`: socket timeouts overrun a little, and the request
# still has code to run between a timed-out Redis call and the STS call.
SLACK = 0.05
NAME_DIGEST_CHARS = 32  # 128 bits of HMAC-SHA256: no collisions among any real key count


class SharedError(Exception):
    """Redis did not answer usefully; ``kind`` says how (safe to log)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so each use of STS_CACHE_KEY is independent."""
    return hmac.new(secret, b"cos-sts/" + purpose.encode("ascii"), hashlib.sha256).digest()


class RedisLink:
    Error = SharedError  # callers catch `link.Error` without importing this module

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        timeout: float = 0.1,
        cooldown: float = 5.0,
        reserve: float = 0.3,
        key_prefix: str = "cos-sts:",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        # ImportError here means the package was built without the redis extra.
        from redis import exceptions
        from redis.backoff import NoBackoff
        from redis.connection import ConnectionPool
        from redis.retry import Retry

        self._exceptions = exceptions
        pool = ConnectionPool.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=0,
            lib_name=None,  # no CLIENT SETINFO round trips on connect
            lib_version=None,
        )
        self._connection = pool.make_connection()
        self._connection.retry = Retry(NoBackoff(), 0)  # whatever the URL's options say
        self.timeout = timeout
        self.cooldown = cooldown
        self.reserve = reserve
        self.key_prefix = key_prefix
        self._names_key = derive_key(secret, "names")
        self._cache_key = derive_key(secret, "cache-aes-gcm")
        self._monotonic = monotonic
        self._down_until = float("-inf")
        self._lock = threading.Lock()  # the local dev server is threaded; SCF is not
        self.calls = 0  # round trips attempted (tests, benchmark)

    def __repr__(self) -> str:
        return f"RedisLink(timeout={self.timeout}, key_prefix={self.key_prefix!r})"

    @property
    def cache_key(self) -> bytes:
        """The AES-256-GCM key for cached credentials."""
        return self._cache_key

    def name(self, kind: str, material: bytes) -> str:
        """The Redis key for `material` (a user ID, a policy): prefix, kind, HMAC."""
        digest = hmac.new(self._names_key, kind.encode("ascii") + b"\0" + material, "sha256")
        return f"{self.key_prefix}{kind}:{digest.hexdigest()[:NAME_DIGEST_CHARS]}"

    # -- calls ----------------------------------------------------------------------

    def command(self, deadline: float, *args: Any) -> Any:
        """One Redis command, its raw reply (bytes, int, list or None)."""
        with self._lock:
            return self._round_trip(deadline, args)

    def script(
        self, deadline: float, sha: str, source: str, keys: tuple[str, ...], args: tuple[Any, ...]
    ) -> Any:
        """EVALSHA, or EVAL (which also caches the script) when Redis lacks it:
        after a restart, a flush of the script cache, or on first use."""
        with self._lock:
            try:
                return self._round_trip(deadline, ("EVALSHA", sha, len(keys), *keys, *args))
            except self._exceptions.NoScriptError:
                return self._round_trip(deadline, ("EVAL", source, len(keys), *keys, *args))

    def close(self) -> None:
        with self._lock:
            self._connection.disconnect()

    def _bound(self, deadline: float) -> float:
        """Seconds this call may take; SharedError when Redis is cooling down or
        STS needs all the time that is left."""
        now = self._monotonic()
        if now < self._down_until:
            raise SharedError("cooldown")
        seconds = min(self.timeout, deadline - self.reserve - SLACK - now)
        if seconds < MIN_CALL_TIME:
            raise SharedError("no_time")
        return seconds

    def _round_trip(self, deadline: float, args: tuple[Any, ...]) -> Any:
        seconds = self._bound(deadline)
        connection = self._connection
        errors = self._exceptions
        connection.socket_timeout = seconds  # for a (re)connect and what follows it
        connection.socket_connect_timeout = seconds
        connection.update_current_socket_timeout(seconds)  # an open socket
        self.calls += 1
        try:
            connection.send_command(*args, check_health=False)
            return connection.read_response()
        except errors.NoScriptError:
            raise
        except errors.ResponseError:  # Redis answered with an error (OOM, NOPERM...)
            raise self._failed("refused") from None
        except (errors.TimeoutError, TimeoutError):
            raise self._failed("timeout") from None
        except (errors.RedisError, OSError, ValueError):  # refused, reset, TLS, garbage
            raise self._failed("unavailable") from None
        except Exception:  # anything else from the client: still never the request's end
            raise self._failed("error") from None

    def _failed(self, kind: str) -> SharedError:
        # The reply may be half read: start over on a fresh connection next time.
        with contextlib.suppress(Exception):  # closing a broken socket may fail too
            self._connection.disconnect()
        self._down_until = self._monotonic() + self.cooldown
        return SharedError(kind)
