"""One line per request: what was asked, what decided, never a secret."""

from __future__ import annotations

import json
from typing import NamedTuple


class Record(NamedTuple):
    """One request as the log line and the playground show it (no secrets)."""

    time: float
    request_id: str
    method: str
    api: str
    key: str
    status: int
    code: str  # COS error code, or "" on success
    decision: str  # "allow", "deny" or "-" (not evaluated)
    reason: str
    access_key: str  # the SecretId's last 6 characters only

    def line(self) -> str:
        """The JSON log line (tests and log shippers read this one)."""
        return json.dumps({"service": "cos", **self._asdict()}, ensure_ascii=False)

    def text(self) -> str:
        """The line a developer reads in the terminal of `make run`."""
        verdict = {"allow": "ALLOWED", "deny": "DENIED"}.get(self.decision, "refused")
        if self.decision == "allow" and self.code:
            verdict = "allowed, then failed"
        elif not self.code:
            verdict = "ALLOWED" if self.decision == "allow" else "ok"
        outcome = f"{self.status} {self.code}".rstrip()
        return f"cos: {outcome} {self.api} /{self.key} {verdict} - {self.reason}"


def short(secret_id: str) -> str:
    """What of a SecretId a log line may show: its last 6 characters."""
    return "..." + secret_id[-6:] if secret_id else ""
