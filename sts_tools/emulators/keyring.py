"""What the local STS issued, so the local COS can check it: one shared record.

STS and COS are separate services that share a key database; here they share a
`Keyring` object (same process). The STS emulator adds every key it mints with
the exact policy text it received; the COS emulator looks keys up by SecretId
to verify signatures, match the session token and evaluate that policy.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class IssuedKey:
    """One temporary key as STS minted it. Secrets stay out of repr (and so logs)."""

    secret_id: str
    secret_key: str = field(repr=False)
    token: str = field(repr=False)
    expired_time: int = 0
    # The decoded JSON text of the Policy parameter; None when AssumeRole was
    # called without one (the role's own rights, which the local COS cannot know).
    policy_text: Optional[str] = field(default=None, repr=False)
    action: str = "GetFederationToken"


class Keyring:
    """Thread-safe map SecretId -> IssuedKey, shared by the STS and COS emulators."""

    def __init__(self) -> None:
        self._keys: dict[str, IssuedKey] = {}
        self._lock = threading.Lock()

    def add(self, key: IssuedKey) -> None:
        with self._lock:
            self._keys[key.secret_id] = key

    def get(self, secret_id: str) -> Optional[IssuedKey]:
        with self._lock:
            return self._keys.get(secret_id)

    def reset(self) -> None:
        with self._lock:
            self._keys.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)
