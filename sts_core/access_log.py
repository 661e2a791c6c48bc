"""One structured JSON line per request, for SCF's log service (CLS parses flat JSON).

Fields are chosen, never dumped: the user ID appears only as a hash unless
``logging.raw_user_id`` is set, and no token, key or credential is ever a field.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, Optional

from .sts_client import user_digest

LOGGER_NAME = "cos_sts.access"


class _StdoutHandler(logging.Handler):
    """Writes to the *current* sys.stdout, which SCF (and pytest) may replace."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def access_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        logger.addHandler(_StdoutHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False  # SCF's root handler would print every line twice
    return logger


class RequestLog:
    """Collects the fields of one request and writes them once."""

    def __init__(self, request_id: str, raw_user_id: bool = False) -> None:
        self.fields: dict[str, Any] = {"msg": "request", "requestId": request_id}
        self._raw_user_id = raw_user_id

    def set(self, **fields: Any) -> None:
        self.fields.update(fields)

    def user(self, user_id: Optional[str]) -> None:
        if user_id is not None:
            self.fields["user"] = user_id if self._raw_user_id else user_digest(user_id)

    def write(self, outcome: str, status: int, latency_ms: float) -> None:
        self.fields.update(outcome=outcome, status=status, latencyMs=round(latency_ms, 2))
        access_logger().info(json.dumps(self.fields, separators=(",", ":"), default=str))


def log_event(msg: str, **fields: Any) -> None:
    """A one-off structured line (startup, configuration)."""
    access_logger().info(json.dumps({"msg": msg, **fields}, separators=(",", ":"), default=str))
