"""Typed view of the two HTTP event shapes SCF delivers (docs/tencent/scf.md §2, §4).

- API Gateway trigger: has ``requestContext`` (source IP, gateway request id).
- Function URL: no ``requestContext``; the client IP is the ``x-scf-remote-addr`` header.

Both may carry header names in any case, a body that is Base64 (``isBase64Encoded``
as a bool or the string "true"), and ``queryString`` values that are strings,
``true`` or lists. Anything structurally wrong is a `BadRequest`, never a crash.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional

from .errors import BadRequest, PayloadTooLarge

API_GATEWAY = "apigw"
FUNCTION_URL = "function_url"
# A request id from an event or a header is echoed in X-Request-Id and the log: a
# client may have sent it, so only a short id of a safe alphabet is kept (Tencent's
# published samples mask theirs with '*').
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:*-]{0,127}", re.ASCII)


def safe_request_id(value: Any) -> Optional[str]:
    """`value` if it is a plausible request id, else None (never reflected)."""
    text = value.strip() if isinstance(value, str) else ""
    return text if _REQUEST_ID.fullmatch(text) else None


class HttpRequest(NamedTuple):
    kind: str
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, tuple[str, ...]]
    raw_body: str
    base64_body: bool
    source_ip: Optional[str]
    gateway_request_id: Optional[str]  # safe_request_id of the trigger's own id

    def __repr__(self) -> str:  # headers carry the caller's token, the body its request
        return f"HttpRequest({self.method} {self.path}, kind={self.kind})"

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    def client_ip(self, trust_function_url: bool) -> Optional[str]:
        """The caller's address, where the platform establishes it: API Gateway's
        requestContext; on a Function URL the x-scf-remote-addr header only when the
        config trusts it (whether SCF overwrites a client-sent copy is unverified)."""
        if self.kind == FUNCTION_URL and not trust_function_url:
            return None
        return self.source_ip

    def body(self, limit: int) -> bytes:
        """The request body, refusing anything longer than `limit` bytes."""
        # Bound the text first so a huge body is never decoded: N characters are at
        # least N UTF-8 bytes, and Base64 spends 4 characters per 3 bytes.
        encoded_limit = (limit + 2) // 3 * 4 if self.base64_body else limit
        too_large = PayloadTooLarge("body_too_large", f"the body must not exceed {limit} bytes")
        if len(self.raw_body) > encoded_limit:
            raise too_large
        if self.base64_body:
            try:
                data = base64.b64decode(self.raw_body, validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest("invalid_event", "the body is not valid Base64") from None
        else:
            data = self.raw_body.encode("utf-8", "surrogatepass")
        if len(data) > limit:
            raise too_large
        return data


def _flag(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", ""):
        return value.strip().lower() == "true"
    raise BadRequest("invalid_event", "isBase64Encoded must be true or false")


def _headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadRequest("invalid_event", "headers must be an object")
    headers: dict[str, str] = {}
    for name, raw in value.items():
        if not isinstance(name, str):
            continue
        if isinstance(raw, list):
            # Repeated headers: an Authorization that arrives twice is ambiguous
            # and is rejected later, so keep every value visible.
            text = ", ".join(str(item) for item in raw)
        elif raw is None:
            continue
        else:
            text = str(raw)
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _query(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        return {}
    query: dict[str, tuple[str, ...]] = {}
    for name, raw in value.items():
        if raw is True:  # ?flag with no value
            items: tuple[str, ...] = ("",)
        elif isinstance(raw, list):
            items = tuple(str(item) for item in raw)
        else:
            items = (str(raw),)
        query[str(name)] = items
    return query


def parse_event(event: Any) -> HttpRequest:
    if not isinstance(event, Mapping):
        raise BadRequest("invalid_event", "the event is not an HTTP trigger event")
    method = event.get("httpMethod")
    if not isinstance(method, str) or not method:
        raise BadRequest("invalid_event", "the event has no httpMethod")
    body = event.get("body")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise BadRequest("invalid_event", "the event body must be a string")
    path = event.get("path")
    headers = _headers(event.get("headers"))
    context = event.get("requestContext")
    if isinstance(context, Mapping):
        kind = API_GATEWAY
        source_ip = context.get("sourceIp")
        request_id = context.get("requestId") or headers.get("x-api-requestid")
    else:
        kind = FUNCTION_URL
        source_ip = headers.get("x-scf-remote-addr")
        request_id = headers.get("x-scf-request-id")
    return HttpRequest(
        kind=kind,
        method=method.strip().upper(),
        path=path if isinstance(path, str) and path else "/",
        headers=headers,
        query=_query(event.get("queryString")),
        raw_body=body,
        base64_body=_flag(event.get("isBase64Encoded")),
        source_ip=str(source_ip).strip() if source_ip else None,
        gateway_request_id=safe_request_id(request_id),
    )
