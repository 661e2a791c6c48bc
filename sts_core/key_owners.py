"""Whose temporary key is this? ``tmpSecretId`` -> user ID, for the key's life.

Every key the function issues to a user is remembered here until it expires: in
this instance's memory, and with Redis in Redis too, so the instance that handles
a COS event (whose ``q-ak`` names the signer, cos_events.py) can say who uploaded.
A SecretId the function did not issue to a user (the ticket signer's, someone
else's) is simply unknown.

In Redis the name is an HMAC of the SecretId and the value the user ID sealed with
AES-256-GCM (the key cache's key, the name as associated data), as the shared key
cache does: Redis reveals neither. Entries expire with the key.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from .redis_link import RedisLink

MAX_LOCAL = 20000  # an instance issues far fewer live keys; beyond it the oldest go
VERSION = b"\x02"
NONCE_BYTES = 12


class KeyOwners:
    def __init__(
        self, link: Optional[RedisLink] = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.link = link
        self._clock = clock
        self._local: dict[str, tuple[str, float]] = {}
        self._aead = None
        if link is not None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(link.cache_key)

    def remember(self, secret_id: str, user_id: str, expires: float, deadline: float) -> None:
        """Note an issued key; Redis trouble raises link.Error (the caller logs it)."""
        now = self._clock()
        if expires <= now:
            return
        if len(self._local) >= MAX_LOCAL:
            self._prune(now)
        self._local[secret_id] = (user_id, expires)
        if self.link is not None and self._aead is not None:
            name = self.link.name("ak", secret_id.encode("utf-8"))
            nonce = os.urandom(NONCE_BYTES)
            sealed = VERSION + nonce + self._aead.encrypt(nonce, user_id.encode(), name.encode())
            self.link.command(deadline, "SET", name, sealed, "EX", max(1, int(expires - now)))

    def owner(self, secret_id: str, deadline: float) -> Optional[str]:
        """The user the function issued `secret_id` to, while it lives; else None."""
        found = self._local.get(secret_id)
        if found is not None and found[1] > self._clock():
            return found[0]
        if self.link is None or self._aead is None:
            return None
        from cryptography.exceptions import InvalidTag

        name = self.link.name("ak", secret_id.encode("utf-8"))
        blob = self.link.command(deadline, "GET", name)
        if not isinstance(blob, bytes) or blob[:1] != VERSION:
            return None
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, name.encode()).decode("utf-8")
        except (InvalidTag, ValueError):
            return None

    def _prune(self, now: float) -> None:
        self._local = {k: v for k, v in self._local.items() if v[1] > now}
        while len(self._local) >= MAX_LOCAL:
            self._local.pop(next(iter(self._local)))
