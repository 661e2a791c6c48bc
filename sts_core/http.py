"""Integration responses (docs/tencent/scf.md §3) and CORS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Optional

from .errors import ALLOWED_METHODS, ApiError

BASE_HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
ALLOWED_HEADERS = "Authorization, Content-Type"
# Not CORS-safelisted: a browser app reads them only if exposed (429/503 say when to retry).
EXPOSED_HEADERS = "Retry-After, X-Request-Id"


def json_response(
    status: int, payload: Any, headers: Optional[Mapping[str, str]] = None
) -> dict[str, Any]:
    return {
        "isBase64Encoded": False,
        "statusCode": status,
        "headers": {**BASE_HEADERS, **(headers or {})},
        # ASCII escapes: any text a message quotes (a lone surrogate included) is
        # still a body every client and SCF itself can encode.
        "body": json.dumps(payload, separators=(",", ":")),
    }


def error_response(
    error: ApiError, request_id: str, headers: Optional[Mapping[str, str]] = None
) -> dict[str, Any]:
    body = {"error": {"code": error.code, "message": error.message}, "requestId": request_id}
    return json_response(error.status, body, {**(headers or {}), **error.headers})


class Cors:
    """Exact-match origin allow-list; `*` must be configured explicitly."""

    def __init__(self, origins: tuple[str, ...], max_age: int) -> None:
        self.any_origin = "*" in origins
        self.origins = frozenset(origins)
        self.max_age = max_age

    def allowed(self, origin: Optional[str]) -> bool:
        return bool(origin) and (self.any_origin or origin in self.origins)

    def headers(self, origin: Optional[str]) -> dict[str, str]:
        """Headers for any response to a request from `origin`."""
        if not self.origins:
            return {}
        if not self.allowed(origin):
            return {"Vary": "Origin"}
        if self.any_origin:
            return {
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Expose-Headers": EXPOSED_HEADERS,
            }
        return {
            "Access-Control-Allow-Origin": origin or "",
            "Access-Control-Expose-Headers": EXPOSED_HEADERS,
            "Vary": "Origin",
        }

    def preflight(self, origin: Optional[str], extra: Mapping[str, str]) -> dict[str, Any]:
        headers = {"Allow": ALLOWED_METHODS, **extra, **self.headers(origin)}
        if self.allowed(origin):
            headers.update(
                {
                    "Access-Control-Allow-Methods": ALLOWED_METHODS,
                    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                    "Access-Control-Max-Age": str(self.max_age),
                }
            )
        response = json_response(204, None, headers)
        response["body"] = ""
        return response
