"""What the local STS holds: the keys it accepts, the calls it served, the faults
scripted for the next requests, and every key it minted (the keyring the local
COS reads). No HTTP and no parsing here."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from sts_tools.emulators.keyring import IssuedKey, Keyring

# Development keys the emulator accepts out of the box. They are not secrets:
# they only ever unlock this emulator.
DEV_SECRET_ID = "AKIDEMULATORDEVKEY00000000000000000"
DEV_SECRET_KEY = "emulator-dev-secret-key-not-a-real-key"
DEV_ROLE_SECRET_ID = "AKIDEMULATORROLEKEY0000000000000000"
DEV_ROLE_SECRET_KEY = "emulator-role-secret-key-not-real"
DEV_ROLE_TOKEN = "emulator-role-session-token"


def dev_key_env(endpoint: str) -> dict[str, str]:
    """The variables that send the function's STS calls here, with the dev key."""
    return {
        "STS_ENDPOINT": endpoint,
        "STS_SECRET_ID": DEV_SECRET_ID,
        "STS_SECRET_KEY": DEV_SECRET_KEY,
    }


def function_env(
    endpoint: str,
    jwt_secret: str,
    bucket: str = "examplebucket-1250000000",
    region: str = "ap-guangzhou",
) -> dict[str, str]:
    """A complete environment for running the credential function against here."""
    env = {"COS_BUCKET": bucket, "COS_REGION": region, "STS_JWT_SECRET": jwt_secret}
    env.update(dev_key_env(endpoint))
    return env


@dataclass(frozen=True)
class EmulatorKey:
    secret_key: str = field(repr=False)
    token: Optional[str] = field(default=None, repr=False)  # set: a temporary (role) key

    @property
    def temporary(self) -> bool:
        return self.token is not None


def default_keys() -> dict[str, EmulatorKey]:
    return {
        DEV_SECRET_ID: EmulatorKey(DEV_SECRET_KEY),
        DEV_ROLE_SECRET_ID: EmulatorKey(DEV_ROLE_SECRET_KEY, DEV_ROLE_TOKEN),
    }


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, consumed by the next request."""

    kind: str
    code: str = ""
    message: str = ""
    status: int = 200
    body: bytes = b""
    seconds: float = 0.0

    @classmethod
    def error(cls, code: str, message: str = "scripted error") -> Fault:
        return cls("error", code=code, message=message)

    @classmethod
    def http(cls, status: int, body: bytes = b"") -> Fault:
        return cls("http", status=status, body=body)

    @classmethod
    def raw(cls, body: bytes) -> Fault:
        """HTTP 200 with this exact body (malformed answers)."""
        return cls("http", status=200, body=body)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Sleep, then answer normally (timeouts)."""
        return cls("delay", seconds=seconds)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")


@dataclass(frozen=True)
class Call:
    """A request that passed signature verification."""

    action: str
    secret_id: str
    region: str
    params: dict[str, Any]
    policy: Optional[dict[str, Any]]
    token_sent: bool


class StsBackend:
    def __init__(
        self,
        keys: Optional[Mapping[str, EmulatorKey]] = None,
        *,
        clock: Callable[[], float] = time.time,
        root_account: bool = False,
        max_policy_chars: int = 6144,
        keyring: Optional[Keyring] = None,
    ) -> None:
        self.keys = dict(default_keys() if keys is None else keys)
        # Every minted key is recorded here, with its policy, for the local COS.
        self.keyring = Keyring() if keyring is None else keyring
        self.clock = clock
        self.max_federation_duration = 7200 if root_account else 129600
        self.max_policy_chars = max_policy_chars
        self.calls: list[Call] = []
        # Bumped by every reset: a request that began before it (a stalled one a
        # test's client gave up on) belongs to a finished test and is not served.
        self.generation = 0
        self.requests_seen = 0
        self.connections = 0
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget recorded calls, pending faults and minted keys (between tests)."""
        with self._lock:
            self.calls.clear()
            self._faults.clear()
            self.generation += 1
        self.keyring.reset()

    def script(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def next_fault(self) -> Optional[Fault]:
        with self._lock:
            self.requests_seen += 1
            return self._faults.popleft() if self._faults else None

    def connected(self) -> None:
        with self._lock:
            self.connections += 1

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def mint(self, duration: int, policy_text: Optional[str], action: str) -> IssuedKey:
        key = IssuedKey(
            secret_id="AKIDEMULATOR" + secrets.token_hex(12).upper(),
            secret_key="EMULATOR-" + secrets.token_urlsafe(24),
            token="EMULATOR-TOKEN-" + secrets.token_urlsafe(96),
            expired_time=int(self.clock()) + duration,
            policy_text=policy_text,
            action=action,
        )
        self.keyring.add(key)
        return key
