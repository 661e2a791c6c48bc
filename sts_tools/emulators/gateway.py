"""A local stand-in for API Gateway: HTTP in, API Gateway event to the handler,
integration response back out (docs/tencent/scf.md §2, §3.1).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

from sts_tools.support.loopback import LoopbackServer
from sts_tools.support.trigger_events import api_gateway_event

Handler = Callable[[Any, Any], Any]
MAX_EVENT_BODY = 6 * 1024 * 1024  # SCF's synchronous event limit
INVALID_RESPONSE = (
    b'{"errno":403,"error":"Invalid scf response format. please check your scf response format."}'
)


def to_event(
    method: str, target: str, headers: Mapping[str, str], body: bytes, client_ip: str
) -> dict[str, Any]:
    """The API Gateway trigger event for one HTTP request."""
    parts = urlsplit(target)
    query: dict[str, Any] = {}
    for name, values in parse_qs(parts.query, keep_blank_values=True).items():
        query[name] = values[0] if len(values) == 1 else values
    return api_gateway_event(
        method, parts.path or "/", headers=headers, body=body, source_ip=client_ip, query=query
    )


def local_context(time_limit_ms: int) -> dict[str, Any]:
    return {
        "memory_limit_in_mb": 128,
        "time_limit_in_ms": time_limit_ms,
        "request_id": str(uuid.uuid4()),
        "environment": '{"SCF_NAMESPACE":"default"}',
        "environ": "SCF_NAMESPACE=default",
        "function_version": "$LATEST",
        "function_name": "cos-sts-local",
        "namespace": "default",
        "tencentcloud_region": "ap-guangzhou",
        "tencentcloud_appid": "1250000000",
        "tencentcloud_uin": "100000000001",
    }


def _integration_response(result: Any) -> Optional[tuple[int, list[tuple[str, str]], bytes]]:
    """(status, headers, body) as API Gateway builds them, or None when malformed."""
    if not isinstance(result, Mapping):
        return None
    status, headers, body = (
        result.get("statusCode"),
        result.get("headers") or {},
        result.get("body"),
    )
    if not isinstance(status, int) or not isinstance(headers, Mapping) or not isinstance(body, str):
        return None
    pairs = []
    for name, value in headers.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((str(name), str(item)))
    data = base64.b64decode(body) if result.get("isBase64Encoded") is True else body.encode()
    return status, pairs, data


class DevServer:
    """HTTP on loopback -> API Gateway events -> `handler` (index.handle or main_handler)."""

    def __init__(
        self, handler: Handler, host: str = "127.0.0.1", port: int = 9000, time_limit_ms: int = 3000
    ) -> None:
        self.handler = handler
        self.time_limit_ms = time_limit_ms
        self._server = LoopbackServer(_RequestHandler, self, host, port, name="gateway")

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> DevServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def respond(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, client_ip: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        event = to_event(method, target, headers, body, client_ip)
        result = self.handler(event, local_context(self.time_limit_ms))
        response = _integration_response(result)
        if response is None:  # what API Gateway answers for a malformed function result
            return 502, [("Content-Type", "application/json")], INVALID_RESPONSE
        return response


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write (flushed per request): separate small
    # writes meet the client's delayed ACK and cost ~40 ms per keep-alive request.
    wbufsize = 1 << 16

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the handler logs one JSON line per request already

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_EVENT_BODY:
            self._write(413, [("Content-Type", "application/json")], b'{"error":"too large"}')
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        server: DevServer = self.server.owner  # type: ignore[attr-defined]
        headers = dict(self.headers.items())
        status, pairs, data = server.respond(
            self.command, self.path, headers, body, self.client_address[0]
        )
        self._write(status, pairs, data)

    def _write(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve
