"""What the local jscode2session holds: the mini programs it knows (AppID and
AppSecret), the codes already used, the exchanges it served, and faults scripted
for the next requests. No HTTP here.

A code is self-describing, so ``python -m sts_tools wx-code`` in another process can
print one this stand-in accepts: ``wxdev.<base64url JSON>.<MAC>``, the JSON naming
the openid (and unionid, or an errcode to answer with) and a random nonce, the MAC
an HMAC under a public development key (a made-up code fails it: 40029). Each code
works once (a second use: 40163), as WeChat's do; a code that asks for an errcode
answers with it every time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Optional

DEV_WX_APPID = "wx00000000000000dev"
DEV_WX_SECRET = "local-wx-appsecret-not-a-real-secret"
DEV_QQ_APPID = "1100000000"
DEV_QQ_SECRET = "local-qq-appsecret-not-a-real-secret"
CODE_KEY = b"cos-sts local jscode2session: public, development only"
PREFIX = "wxdev"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(payload: str) -> str:
    return _b64(hmac.new(CODE_KEY, payload.encode("ascii"), hashlib.sha256).digest()[:12])


def make_code(openid: str, unionid: Optional[str] = None, errcode: Optional[int] = None) -> str:
    """A one-time code the stand-in exchanges for `openid` (or answers `errcode` to)."""
    fields: dict[str, Any] = {"o": openid, "n": secrets.token_hex(6)}
    if unionid:
        fields["u"] = unionid
    if errcode is not None:
        fields["e"] = errcode
    payload = _b64(json.dumps(fields, separators=(",", ":")).encode("utf-8"))
    return f"{PREFIX}.{payload}.{_mac(payload)}"


def read_code(code: str) -> Optional[dict[str, Any]]:
    """The fields of a code this stand-in made, or None for any other string."""
    parts = code.split(".")
    if len(parts) != 3 or parts[0] != PREFIX or not hmac.compare_digest(_mac(parts[1]), parts[2]):
        return None
    try:
        fields = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return fields if isinstance(fields, dict) and isinstance(fields.get("o"), str) else None


@dataclass(frozen=True)
class WxFault:
    """One scripted misbehaviour, consumed by the next request: an errcode answer, an
    HTTP status, a delay before answering, or a dropped connection."""

    kind: str  # "errcode", "http", "delay", "drop"
    errcode: int = 0
    status: int = 200
    seconds: float = 0.0


@dataclass(frozen=True)
class Exchange:
    appid: str
    code: str
    answer: dict[str, Any]


class WxBackend:
    def __init__(self, apps: Optional[dict[str, str]] = None) -> None:
        self.apps = dict(apps or {DEV_WX_APPID: DEV_WX_SECRET, DEV_QQ_APPID: DEV_QQ_SECRET})
        self.used: set[str] = set()
        self.exchanges: list[Exchange] = []
        self.requests_seen = 0
        self._faults: deque[WxFault] = deque()
        self._lock = threading.Lock()

    def script(self, *faults: WxFault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def next_fault(self) -> Optional[WxFault]:
        with self._lock:
            self.requests_seen += 1
            return self._faults.popleft() if self._faults else None

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.exchanges.clear()
            self.requests_seen = 0

    def redeem(self, code: str) -> Optional[dict[str, Any]]:
        """The code's fields, the first time a made code is redeemed; else None (or the
        string "used")."""
        fields = read_code(code)
        if fields is None or "e" in fields:
            return fields
        with self._lock:
            if fields["n"] in self.used:
                return {"used": True}
            self.used.add(fields["n"])
        return fields

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)
