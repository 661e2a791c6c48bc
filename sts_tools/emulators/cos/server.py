"""The local COS: HTTP in, then parse -> route -> authenticate -> authorize -> serve -> respond.

One bucket, served the way COS serves temporary keys (docs/tencent/cos-api.md): the request
signature is checked against the key the local STS issued (shared `Keyring`),
the key's token must come with it, and the policy STS attached is evaluated by
`cam.decide` for the request's CAM action, resource and condition values. Every
refusal is COS's XML error; every request writes one log line saying what was
asked and which statement or condition decided.

The steps live in their own modules: `request` (parsing), `routes` (which API, which
handler), `auth` (authentication and every CAM decision), `objects` / `multipart` /
`buckets` (the APIs), `responses` (answers and the one error rendering), `records`
(the log line). `CosEmulator.handle` is the whole service without sockets, so most
tests can call it directly; `start()` puts it behind a threaded HTTP/1.1 server.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Optional

from sts_tools.emulators.cos.auth import Gate
from sts_tools.emulators.cos.call import UNSIGNED_OVERRIDES, Call, Site
from sts_tools.emulators.cos.errors import (
    AccessDenied,
    AccessForbidden,
    CosError,
    EntityTooLarge,
    FileAlreadyExists,
    InternalError,
    InvalidAccessKeyId,
    MethodNotAllowed,
    PreconditionFailed,
)
from sts_tools.emulators.cos.notifications import Notifier
from sts_tools.emulators.cos.object_key_reading import DEFAULT_KEY_READING, KEY_READINGS
from sts_tools.emulators.cos.records import Record, short
from sts_tools.emulators.cos.request import (
    LIST_RESOURCE_MODES,
    LIST_RESOURCE_PREFIX,
    Bucket,
    parse,
)
from sts_tools.emulators.cos.responses import Response, error_response
from sts_tools.emulators.cos.routes import route_for
from sts_tools.emulators.cos.store import CosStore
from sts_tools.emulators.keyring import Keyring
from sts_tools.support.loopback import LoopbackServer

MAX_BODY_BYTES = 256 * 1024 * 1024  # in memory: a development store, not a data lake
# Where COS documents no dedicated code (docs/tencent/cos-signing.md §5, open point 1): a missing
# or foreign session token. Both are 403s; the switch picks the code.
TOKEN_ERRORS = {"AccessDenied": AccessDenied, "InvalidAccessKeyId": InvalidAccessKeyId}
# What COS answers a forbidden overwrite is unverified (docs/tencent/direct-upload.md §3).
OVERWRITE_ERRORS = {
    "FileAlreadyExists": FileAlreadyExists,
    "PreconditionFailed": PreconditionFailed,
}
# Which action a copy's destination is checked for is unverified (docs/tencent/cam-policy.md §1).
COPY_ACTIONS = ("name/cos:PutObject", "name/cos:PutObjectCopy")
CORS_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD")
# What browser SDKs must be able to read (docs/tencent/cos-api.md §6).
CORS_EXPOSE = (
    "ETag", "Content-Length", "Content-Range", "Date", "x-cos-request-id",
    "x-cos-next-append-position", "x-cos-version-id", "x-cos-delete-marker", "x-cos-acl",
    "x-cos-server-side-encryption", "x-cos-object-type",
)  # fmt: skip
# Chromium answers a HEAD from its cache after a GET otherwise (docs/tencent/cos-api.md §6):
# every answer but an object's own gets this; an object's carries its stored Cache-Control.
NO_STORE = "no-store"


class CosEmulator:
    """A one-bucket COS on loopback. `start()`/`stop()`, or use as a context manager."""

    def __init__(
        self,
        keyring: Keyring,
        *,
        bucket: str = "examplebucket-1250000000",
        region: str = "ap-guangzhou",
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        list_resource: str = LIST_RESOURCE_PREFIX,
        token_error: str = "AccessDenied",
        cors_origins: Sequence[str] = ("*",),
        log: Optional[Callable[[str], None]] = None,
        log_format: str = "json",
        max_body_bytes: int = MAX_BODY_BYTES,
        header_signed_forms: bool = True,
        overwrite_error: str = "FileAlreadyExists",
        reasons: bool = True,
        unset_cache_control: Optional[str] = NO_STORE,
        copy_action: str = "name/cos:PutObject",
        unsigned_overrides: str = "honour",
        key_reading: str = DEFAULT_KEY_READING,
    ) -> None:
        if list_resource not in LIST_RESOURCE_MODES:
            raise ValueError(f"list_resource must be one of {LIST_RESOURCE_MODES}")
        if token_error not in TOKEN_ERRORS:
            raise ValueError(f"token_error must be one of {sorted(TOKEN_ERRORS)}")
        if copy_action not in COPY_ACTIONS:
            raise ValueError(f"copy_action must be one of {COPY_ACTIONS}")
        if unsigned_overrides not in UNSIGNED_OVERRIDES:
            raise ValueError(f"unsigned_overrides must be one of {UNSIGNED_OVERRIDES}")
        # Keys with '.', '..' or empty segments (docs/tencent/cos-api.md §9, open point 10).
        if key_reading not in KEY_READINGS:
            raise ValueError(f"key_reading must be one of {KEY_READINGS}")
        if overwrite_error not in OVERWRITE_ERRORS:
            raise ValueError(f"overwrite_error must be one of {sorted(OVERWRITE_ERRORS)}")
        self.keyring = keyring
        self.bucket = Bucket(bucket, region)
        self.clock = clock
        self.list_resource = list_resource
        self.cors_origins = tuple(cors_origins)
        self.log = log if log is not None else _stderr
        self._text_log = log_format == "text"
        self.max_body_bytes = max_body_bytes
        # A local-only aid: the decision's reason appended to the error's <Message>, so
        # an SDK's error says why (real COS says only "Access Denied.").
        self.reasons = reasons
        self.store = CosStore(clock=clock)
        # cos-wx-sdk-v5's postObject form (a header-style `Signature` field, no policy):
        # verified like a signed request, the key decided by CAM alone (unverified
        # against COS; off, such a form is refused as MalformedPOSTRequest).
        self.gate = Gate(
            keyring, self.bucket, clock, list_resource=list_resource,
            token_error=TOKEN_ERRORS[token_error], header_signed_forms=header_signed_forms,
            copy_action=copy_action, key_reading=key_reading,
        )  # fmt: skip
        # `unset_cache_control`: what a GET or HEAD of an object stored without
        # Cache-Control answers (COS sends none; "no-store" by default here, a local aid
        # so a browser's HEAD after a GET reaches the local COS; None: as COS).
        self.site = Site(
            self.bucket,
            self.store,
            OVERWRITE_ERRORS[overwrite_error],
            unset_cache_control,
            clock,
            unsigned_overrides,
            Notifier(None, bucket, region),
        )
        self.records: deque[Record] = deque(maxlen=1000)
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._server: Optional[LoopbackServer] = None

    # -- lifecycle ------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the local COS is not started")
        return self._server.url

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    # The readings a test may switch on a running emulator (the gate and the site own them).
    @property
    def key_reading(self) -> str:
        return self.gate.key_reading

    @key_reading.setter
    def key_reading(self, reading: str) -> None:
        if reading not in KEY_READINGS:
            raise ValueError(f"key_reading must be one of {KEY_READINGS}")
        self.gate.key_reading = reading

    @property
    def notify(self) -> Notifier:
        """Where object events go (tests and the local stack set a deliverer)."""
        assert self.site.notify is not None  # noqa: S101 - set in __init__
        return self.site.notify

    @notify.setter
    def notify(self, notifier: Notifier) -> None:
        self.site.notify = notifier

    @property
    def unsigned_overrides(self) -> str:
        return self.site.unsigned_overrides

    @unsigned_overrides.setter
    def unsigned_overrides(self, reading: str) -> None:
        if reading not in UNSIGNED_OVERRIDES:
            raise ValueError(f"unsigned_overrides must be one of {UNSIGNED_OVERRIDES}")
        self.site.unsigned_overrides = reading

    def start(self) -> CosEmulator:
        self._server = LoopbackServer(_Handler, self, self._host, self._port, name="local-cos")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None

    def __enter__(self) -> CosEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Empty the bucket and forget the request log (between tests)."""
        self.store.reset()
        self.gate.forget()
        with self._lock:
            self.records.clear()

    # -- the service ----------------------------------------------------------------

    def handle(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        client_ip: str = "127.0.0.1",
    ) -> Response:
        """Answer one request: what the HTTP front writes back."""
        request_id = base64.b64encode(secrets.token_bytes(18)).decode("ascii")
        origin = _header(headers, "origin")
        api_name, key, access_key = "-", "", ""
        caller = None
        try:
            if method.upper() == "OPTIONS":
                api_name = "OptionsObject"
                response = self._preflight(headers)
            else:
                # 1. parse  2. route  3. authenticate  4. authorize  5. serve
                request = parse(method, target, headers, body, client_ip, self.bucket)
                key = request.key
                route = route_for(request)
                if route is None:
                    raise MethodNotAllowed(detail=f"the local COS does not serve {method} {target}")
                api = route.api
                api_name = api.name
                admitted = self.gate.admit(request, api)
                caller, key = admitted.caller, admitted.key
                access_key = short(caller.key.secret_id)
                if api.action is not None:
                    decision = caller.check_request(
                        api, admitted.evaluated_key, request.param("prefix")
                    )
                    if not decision.allowed:
                        raise AccessDenied(detail=decision.reason)
                response = route.handler(Call(request, key, admitted.form, caller, self.site))
            code = ""
            decision_text, reason = caller.verdict() if caller else ("-", "")
            if api_name == "OptionsObject":
                reason = "CORS preflight allowed (unsigned; no key to evaluate)"
        except CosError as error:
            said = error.detail or error.message
            decision_text, reason = caller.verdict() if caller else ("-", "")
            if decision_text == "allow":  # the policy allowed it; the object API refused
                reason = f"{reason}; then {error.code}: {said}"
            elif decision_text != "deny":
                reason = said
            message = f"{error.message} (local COS: {reason})" if self.reasons and reason else None
            resource = f"{_header(headers, 'host')}/{key}"
            response = error_response(
                error, resource, request_id, message, head=method.upper() == "HEAD"
            )
            code = error.code
        record = Record(
            self.clock(), request_id, method.upper(), api_name, key, response.status, code,
            decision_text, reason, access_key,
        )  # fmt: skip
        with self._lock:
            self.records.append(record)
        self.log(record.text() if self._text_log else record.line())
        return self._finish(response, request_id, origin)

    def _finish(self, response: Response, request_id: str, origin: Optional[str]) -> Response:
        headers = [
            *response.headers,
            ("x-cos-request-id", request_id),
            ("Date", formatdate(self.clock(), usegmt=True)),
            ("Server", "tencent-cos-local"),
        ]
        if not response.object_answer:
            headers.append(("Cache-Control", NO_STORE))
        if origin and self._origin_allowed(origin):
            headers += [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Expose-Headers", ", ".join(CORS_EXPOSE)),
                ("Vary", "Origin"),
            ]
        return Response(response.status, headers, response.body)

    # -- CORS -----------------------------------------------------------------------

    def _origin_allowed(self, origin: str) -> bool:
        return "*" in self.cors_origins or origin in self.cors_origins

    def _preflight(self, headers: Mapping[str, str]) -> Response:
        origin = _header(headers, "origin")
        method = (_header(headers, "access-control-request-method") or "").upper()
        if not origin or not self._origin_allowed(origin) or method not in CORS_METHODS:
            raise AccessForbidden(
                detail=f"CORS preflight refused: origin {origin!r}, method {method!r}"
            )
        requested = _header(headers, "access-control-request-headers") or ""
        allow = [
            ("Access-Control-Allow-Methods", ",".join(CORS_METHODS)),
            ("Access-Control-Max-Age", "600"),
            ("Access-Control-Allow-Credentials", "true"),
        ]
        if requested:
            allow.append(("Access-Control-Allow-Headers", requested))
        return Response(200, allow)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


# -- HTTP front -------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write (flushed per request): separate small
    # writes meet the client's delayed ACK and cost ~40 ms per keep-alive request.
    wbufsize = 1 << 16

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the emulator writes its own line per request

    def _read_body(self) -> Optional[bytes]:
        """The request body, or None after answering 413 for an oversized one."""
        limit = self.server.owner.max_body_bytes
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > limit:
                    return self._too_large()
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            return self._too_large()
        return self.rfile.read(length) if length else b""

    def _too_large(self) -> None:
        emulator = self.server.owner
        error = EntityTooLarge(detail="larger than the local COS keeps in memory")
        self._write(error_response(error, self.headers.get("Host", ""), "local"))
        self.close_connection = True
        emulator.log(json.dumps({"service": "cos", "status": 400, "code": "EntityTooLarge"}))

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400)
            return
        if body is None:
            return
        try:
            response = self.server.owner.handle(
                self.command, self.path, dict(self.headers.items()), body, self.client_address[0]
            )
        except Exception:  # a bug in the emulator: a 500 InternalError, details in the log
            import traceback

            traceback.print_exc()
            response = error_response(InternalError(), "", "")
        self._write(response)

    def _write(self, response: Response) -> None:
        # send_response_only: BaseHTTPRequestHandler would add its own Server and Date
        # beside ours, and a client that reads Date to correct its clock (the wx SDK)
        # cannot tell which is meant.
        self.log_request(response.status)
        self.send_response_only(response.status)
        length_given = False
        for name, value in response.headers:
            if name.lower() == "content-length":
                length_given = True
            self.send_header(name, value)
        if not length_given and response.status not in (204, 304):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _serve
