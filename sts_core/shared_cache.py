"""Reuse of issued keys across all instances, on Redis.

The same rules as `credential_cache` (this instance's cache, which stays in front
of this one): keys are shared only for an identical policy text and duration, and
only while they have at least the required life left. What Redis holds:

- the name: the prefix, ``k:`` and an HMAC-SHA256 of (duration, policy text)
  under a key derived from ``STS_CACHE_KEY``: it reveals neither the user nor the
  policy (the policy holds the user's root);
- the value: the credentials, AES-256-GCM encrypted under another derived key,
  with the name as associated data: without the key nothing can be read, forged,
  or moved to another user's name;
- the TTL: the keys' remaining life less the required margin, so Redis drops an
  entry exactly when it could no longer be served.

Every call goes through `RedisLink` (bounded, never retried) and raises
``link.Error`` on failure; the handler falls back to STS and logs it.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Callable, Optional

from .credential_cache import required_life
from .issued_credentials import IssuedCredentials

if TYPE_CHECKING:
    from .redis_link import RedisLink

VERSION = b"\x01"
NONCE_BYTES = 12
CLOCK_SLACK = 300  # seconds instances' clocks may differ by, for the sanity bound


class SharedCache:
    def __init__(
        self,
        link: RedisLink,
        min_remaining: Optional[int] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # ImportError here means the package was built without the redis extra.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.link = link
        self.min_remaining = min_remaining
        self._aead = AESGCM(link.cache_key)
        self._clock = clock

    def name(self, policy_text: str, duration: int) -> str:
        return self.link.name("k", f"{duration}\n{policy_text}".encode())

    def get(self, policy_text: str, duration: int, deadline: float) -> Optional[IssuedCredentials]:
        name = self.name(policy_text, duration)
        blob = self.link.command(deadline, "GET", name)
        if blob is None:
            return None
        issued = self.open(name, blob)
        if issued is None:
            # Not ours, or tampered with: a miss (STS will be asked and the entry
            # overwritten), reported without cooling Redis down.
            raise self.link.Error("bad_value")
        life = issued.expired_time - self._clock()
        if life > duration + CLOCK_SLACK:
            raise self.link.Error("bad_value")  # no key asked for `duration` lives longer
        if life < required_life(duration, self.min_remaining):
            return None  # clocks differ between instances: the rule, not the TTL, decides
        return issued

    def put(
        self, policy_text: str, duration: int, issued: IssuedCredentials, deadline: float
    ) -> None:
        life = issued.expired_time - self._clock()
        ttl = int(life) - required_life(duration, self.min_remaining)
        if ttl < 1:
            return  # too short-lived to be served again
        name = self.name(policy_text, duration)
        self.link.command(deadline, "SET", name, self.seal(name, issued), "EX", ttl)

    # -- the value --------------------------------------------------------------------

    def seal(self, name: str, issued: IssuedCredentials) -> bytes:
        fields = [
            issued.tmp_secret_id,
            issued.tmp_secret_key,
            issued.session_token,
            issued.start_time,
            issued.expired_time,
            issued.expiration,
            issued.request_id,
        ]
        plain = json.dumps(fields, separators=(",", ":")).encode("utf-8")
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plain, name.encode("ascii"))

    def open(self, name: str, blob: bytes) -> Optional[IssuedCredentials]:
        from cryptography.exceptions import InvalidTag

        if not isinstance(blob, bytes) or blob[:1] != VERSION:
            return None
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            fields = json.loads(self._aead.decrypt(nonce, sealed, name.encode("ascii")))
            secret_id, secret_key, token, start, expired, expiration, request_id = fields
        except (InvalidTag, ValueError, TypeError):
            return None
        return IssuedCredentials(
            str(secret_id), str(secret_key), str(token), int(start), int(expired),
            str(expiration), str(request_id),
        )  # fmt: skip
