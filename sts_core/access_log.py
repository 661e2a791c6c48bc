"""One structured JSON line per request, for SCF's log service (CLS parses flat JSON).

Fields are chosen, never dumped: the user ID appears only as a hash unless
``logging.raw_user_id`` is set, and no token, key or credential is ever a field.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

from .user_digest import user_digest

# Every field a request's line may carry, declared once (as Powertools' Logger
# declares its keys): setting any other is a bug the tests catch. None of them
# holds a secret, a token or a credential.
FIELDS = {
    "msg": "always 'request'",
    "requestId": "SCF's request id (else the trigger's, bounded), as in X-Request-Id",
    "gatewayRequestId": "the trigger's own id, when it differs",
    "trigger": "apigw or function_url",
    "method": "the HTTP method",
    "user": "SHA-256 prefix of the user ID (the ID itself with logging.raw_user_id)",
    "profile": "the profile asked for",
    "durationSeconds": "the keys' asked-for lifetime",
    "cache": "off, hit, miss, shared-hit or shared-error",
    "limit": "where the rate limit was checked: shared (Redis) or local",
    "limited": "which bucket refused: user or global",
    "redis": "the first Redis failure of the request (timeout, unavailable, ...)",
    "stsRequestId": "STS's RequestId for the keys (issued now or reused)",
    "stsRetries": "STS attempts after the first",
    "stsCode": "STS's error code, when it refused",
    "detail": "why the request failed, for the operator (never shown to the caller)",
    "error": "the error code the caller got",
    "exception": "the exception type of a bug (never its text)",
    "where": "file:line of a bug",
    "ticket": "the ticket's method (post, put, get), for a ticket request",
    "signer": "where the ticket's signing key came from: reused, shared (Redis) or issued",
    "login": "the sign-in route's platform (wechat, qq)",
    "loginAttempts": "jscode2session attempts of a sign-in (2: one retry)",
    "tmpSecretId": "the issued keys' public SecretId (never the key or token)",
    "objectKey": "the object key a ticket is for",
    "ticketId": "an upload ticket's id, as the object's events carry it",
    "quota": "reserved (a ticket's size) or refused",
    "outcome": "issued, ticket, signed_in, preflight, rejected (4xx) or failed (5xx)",
    "status": "the HTTP status",
    "latencyMs": "milliseconds spent in the handler",
}


def emit(fields: dict[str, Any]) -> None:
    """One JSON line on stdout, which SCF ships to its log service.

    Written directly rather than through `logging`: one line per request needs no
    handler chain, and SCF's root handler would otherwise duplicate it. The stream
    is looked up on every call because SCF (and pytest) may replace sys.stdout.
    """
    try:
        sys.stdout.write(json.dumps(fields, separators=(",", ":"), default=str) + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):  # a closed or broken stream must never fail a request
        pass


class RequestLog:
    """Collects the fields of one request and writes them once."""

    def __init__(self, request_id: str, raw_user_id: bool = False) -> None:
        self.fields: dict[str, Any] = {"msg": "request", "requestId": request_id}
        self._raw_user_id = raw_user_id

    def set(self, **fields: Any) -> None:
        undeclared = set(fields) - FIELDS.keys()
        if undeclared:
            raise ValueError(f"undeclared log fields {sorted(undeclared)}")
        self.fields.update(fields)

    def user(self, user_id: Optional[str]) -> None:
        if user_id is not None:
            self.fields["user"] = user_id if self._raw_user_id else user_digest(user_id)

    def redis_failed(self, kind: str) -> None:
        """Note a Redis failure: the first of a request is logged, once."""
        self.fields.setdefault("redis", kind)

    @property
    def redis_ok(self) -> bool:
        """No Redis failure yet in this request (after one, Redis is not asked again;
        an entry that would not decrypt is not a failure of Redis)."""
        return self.fields.get("redis") in (None, "bad_value")

    def write(self, outcome: str, status: int, latency_ms: float) -> None:
        self.fields.update(outcome=outcome, status=status, latencyMs=round(latency_ms, 2))
        emit(self.fields)


def log_event(msg: str, **fields: Any) -> None:
    """A one-off structured line (startup, configuration)."""
    emit({"msg": msg, **fields})
