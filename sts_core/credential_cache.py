"""Reuse of issued keys within one warm instance.

Apps ask for keys far more often than keys expire. An entry is keyed by what
shapes the grant: the exact policy text (which holds the user's root, the
profile's actions and conditions, the scope and any bound IP) and the duration,
so two requests share keys only if STS would have been asked for the same thing.
An entry is served only while it has at least `min_remaining` seconds of life
(by default half the requested duration, and never under 5 minutes, because
client SDKs refresh 60 s before expiry). The least recently used entry goes first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Optional

from .issued_credentials import IssuedCredentials

MIN_REMAINING_FLOOR = 300

CacheKey = tuple[str, int]


def required_life(duration: int, min_remaining: Optional[int] = None) -> int:
    """Seconds of life a reused key must still have (the shared cache's rule too)."""
    return max(min_remaining or duration // 2, MIN_REMAINING_FLOOR)


class CredentialCache:
    def __init__(
        self,
        max_entries: int = 1000,
        min_remaining: Optional[int] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_entries = max_entries
        self.min_remaining = min_remaining
        self._clock = clock
        self._entries: OrderedDict[CacheKey, IssuedCredentials] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def required_life(self, duration: int) -> int:
        return required_life(duration, self.min_remaining)

    def get(self, policy_text: str, duration: int) -> Optional[IssuedCredentials]:
        key = (policy_text, duration)
        with self._lock:
            issued = self._entries.get(key)
            if issued is None:
                return None
            if issued.expired_time - self._clock() < self.required_life(duration):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return issued

    def put(self, policy_text: str, duration: int, issued: IssuedCredentials) -> None:
        with self._lock:
            self._entries[(policy_text, duration)] = issued
            self._entries.move_to_end((policy_text, duration))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
