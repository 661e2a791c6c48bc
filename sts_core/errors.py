"""Errors that end a request with a specific status and a message safe to show.

Messages are written for the app developer reading the response. They never
contain the caller's token, a secret, or a raw exception text.
"""

from __future__ import annotations

from typing import Optional

# The only methods the function answers (the rest get 405 with this Allow header).
ALLOWED_METHODS = "POST, OPTIONS"


class ApiError(Exception):
    status = 500

    def __init__(
        self,
        code: str,
        message: str,
        headers: Optional[dict[str, str]] = None,
        status: Optional[int] = None,
        detail: Optional[str] = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        if status is not None:
            self.status = status
        self.code = code
        self.detail = detail  # for the log line only, never the response
        self.message = message
        self.headers = dict(headers or {})


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401

    def __init__(self, code: str, message: str) -> None:
        # RFC 6750 §3: a presented but unusable token is "invalid_token"; a missing
        # one gets the bare challenge.
        challenge = 'Bearer realm="cos-sts"'
        if code != "missing_token":
            challenge += ', error="invalid_token"'
        super().__init__(code, message, {"WWW-Authenticate": challenge})


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405

    def __init__(self, method: str) -> None:
        super().__init__(
            "method_not_allowed",
            f"{method or 'this method'} is not allowed; use POST",
            {"Allow": ALLOWED_METHODS},
        )


class PayloadTooLarge(ApiError):
    status = 413


class Misconfigured(ApiError):
    """The function's own configuration is unusable; details go to the log only."""

    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__("misconfigured", "the credential service is misconfigured", detail=detail)


class QuotaUnavailable(ApiError):
    """A quota is configured but its usage cannot be read (Redis): fail closed."""

    status = 503

    def __init__(self) -> None:
        super().__init__(
            "quota_unavailable",
            "upload usage cannot be checked right now; try again later",
            {"Retry-After": "5"},
        )
