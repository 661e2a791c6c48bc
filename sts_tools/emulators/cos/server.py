"""The local COS: HTTP in, then parse -> authenticate -> authorize -> store -> respond.

One bucket, served the way COS serves temporary keys (docs/tencent/cos-api.md): the request
signature is checked against the key the local STS issued (shared `Keyring`),
the key's token must come with it, and the policy STS attached is evaluated by
`cam.decide` for the request's CAM action, resource and condition values. Every
refusal is COS's XML error; every request writes one log line saying what was
asked and which statement or condition decided.

`CosEmulator.handle` is the whole service without sockets, so most tests can
call it directly; `start()` puts it behind a threaded HTTP/1.1 server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, NamedTuple, Optional
from urllib.parse import quote

from sts_tools.emulators.cos import cam, cosxml
from sts_tools.emulators.cos.actions import Api
from sts_tools.emulators.cos.errors import (
    AccessDenied,
    AccessForbidden,
    BadDigest,
    CosError,
    EntityTooLarge,
    ExpiredToken,
    FileAlreadyExists,
    InternalError,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidDigest,
    InvalidRequest,
    MalformedPOSTRequest,
    MethodNotAllowed,
    MissingContentLength,
    PreconditionFailed,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    error_xml,
)
from sts_tools.emulators.cos.notifications import Notifier
from sts_tools.emulators.cos.post_policy import (
    PostForm,
    check_post,
    field,
    form_fields,
    form_token,
    header_form_values,
    header_signed_fields,
    is_header_signed,
    object_key,
    parse_form,
)
from sts_tools.emulators.cos.request import (
    LIST_RESOURCE_MODES,
    LIST_RESOURCE_PREFIX,
    Bucket,
    CosRequest,
    condition_values,
    parse,
    resource_for,
)
from sts_tools.emulators.cos.signature import (
    AuthFields,
    MalformedAuthorization,
    parse_authorization,
    query_fields,
    verify,
)
from sts_tools.emulators.cos.store import CosStore, StoredObject, byte_range
from sts_tools.emulators.keyring import IssuedKey, Keyring
from sts_tools.support.loopback import LoopbackServer

MAX_BODY_BYTES = 256 * 1024 * 1024  # in memory: a development store, not a data lake
TOKEN_HEADER = "x-cos-security-token"
# Where COS documents no dedicated code (docs/tencent/cos-signing.md §5, open point 1): a missing
# or foreign session token. Both are 403s; the switch picks the code.
TOKEN_ERRORS = {"AccessDenied": AccessDenied, "InvalidAccessKeyId": InvalidAccessKeyId}
# What COS answers a forbidden overwrite is unverified (docs/tencent/direct-upload.md §3).
OVERWRITE_ERRORS = {
    "FileAlreadyExists": FileAlreadyExists,
    "PreconditionFailed": PreconditionFailed,
}
CORS_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD")
# What browser SDKs must be able to read (docs/tencent/cos-api.md §6).
CORS_EXPOSE = (
    "ETag", "Content-Length", "Content-Range", "Date", "x-cos-request-id",
    "x-cos-next-append-position", "x-cos-version-id", "x-cos-delete-marker", "x-cos-acl",
    "x-cos-server-side-encryption", "x-cos-object-type",
)  # fmt: skip
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


class Response(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


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


class _Authorized(NamedTuple):
    key: IssuedKey
    decision: cam.Decision


def _short(secret_id: str) -> str:
    return "..." + secret_id[-6:] if secret_id else ""


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
    ) -> None:
        if list_resource not in LIST_RESOURCE_MODES:
            raise ValueError(f"list_resource must be one of {LIST_RESOURCE_MODES}")
        if token_error not in TOKEN_ERRORS:
            raise ValueError(f"token_error must be one of {sorted(TOKEN_ERRORS)}")
        self.keyring = keyring
        self.bucket = Bucket(bucket, region)
        self.clock = clock
        self.list_resource = list_resource
        self.token_error = TOKEN_ERRORS[token_error]
        self.cors_origins = tuple(cors_origins)
        self.log = log if log is not None else _stderr
        self._text_log = log_format == "text"
        self.max_body_bytes = max_body_bytes
        # cos-wx-sdk-v5's postObject form (a header-style `Signature` field, no policy):
        # verified like a signed request, the key decided by CAM alone (unverified
        # against COS; off, such a form is refused as MalformedPOSTRequest).
        self.header_signed_forms = header_signed_forms
        if overwrite_error not in OVERWRITE_ERRORS:
            raise ValueError(f"overwrite_error must be one of {sorted(OVERWRITE_ERRORS)}")
        self.overwrite_error = OVERWRITE_ERRORS[overwrite_error]
        # A local-only aid: the decision's reason appended to the error's <Message>, so
        # an SDK's error says why (real COS says only "Access Denied.").
        self.reasons = reasons
        self.store = CosStore(clock=clock)
        # Object events to the function, as the COS trigger (notifications.py); off until set.
        self.notify = Notifier(None, bucket, region)
        self.records: deque[Record] = deque(maxlen=1000)
        self._policies: dict[str, Any] = {}  # SecretId -> Policy or PolicyError
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
        with self._lock:
            self.records.clear()
            self._policies.clear()

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
        api_name, key, decision, reason, access_key = "-", "", "-", "", ""
        try:
            if method.upper() == "OPTIONS":
                api_name = "OptionsObject"
                response = self._preflight(headers)
                reason = "CORS preflight allowed (unsigned; no key to evaluate)"
            else:
                request = parse(method, target, headers, body, client_ip, self.bucket)
                key, api = request.key, request.api
                if api is None:
                    raise MethodNotAllowed(detail=f"the local COS does not serve {method} {target}")
                api_name = api.name
                authorized, key = self._authorize(request, api)
                access_key = _short(authorized.key.secret_id)
                decision = "allow" if authorized.decision.allowed else "deny"
                reason = authorized.decision.reason
                if not authorized.decision.allowed:
                    raise AccessDenied(detail=reason)
                response = self._serve(request, api, key)
            code = ""
        except CosError as error:
            said = error.detail or error.message
            if decision == "allow":  # the policy allowed it; the object API refused
                reason = f"{reason}; then {error.code}: {said}"
            elif decision != "deny":
                reason = said
            resource = f"{_header(headers, 'host')}/{key}"
            message = f"{error.message} (local COS: {reason})" if self.reasons and reason else None
            body_out = (
                b"" if method.upper() == "HEAD"
                else error_xml(error, resource, request_id, message)
            )  # fmt: skip
            response = Response(error.status, [("Content-Type", "application/xml")], body_out)
            code = error.code
        record = Record(
            self.clock(), request_id, method.upper(), api_name, key, response.status, code,
            decision, reason, access_key,
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
            # Chromium answers a HEAD from its cache after a GET otherwise (docs/tencent/cos-api.md
            # §6).
            ("Cache-Control", "no-store"),
        ]
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

    # -- authentication and authorization -----------------------------------------------

    def _authorize(self, request: CosRequest, api: Api) -> tuple[_Authorized, str]:
        """The key that signed `request` and the allowing decision, plus the object key
        (PostObject's comes from its form). Raises the CosError COS would answer."""
        form: Optional[PostForm] = None
        if api.name == "PostObject":
            form = parse_form(request.headers.get("content-type", ""), request.body)
        header_signed = form is not None and is_header_signed(form)
        if form is not None and header_signed:
            if not self.header_signed_forms:
                raise MalformedPOSTRequest(
                    detail="the form carries a header-style Signature field and no policy "
                    "(cos-wx-sdk-v5's postObject); this local COS runs with "
                    "header_signed_forms=False"
                )
            # Signed like a request to "/" (the key is not in the path, so the
            # signature does not bind it: CAM below is what confines the key).
            fields = header_signed_fields(form, request.headers)
            key = self._issued_key(fields.ak)
            token = form_token(form, request.headers)
            self._check_signature(request, fields, key, token=token)
            stored_key = object_key(form)
        elif form is not None:
            fields = form_fields(form)
            key = self._issued_key(fields.ak)
            stored_key = check_post(form, key.secret_key, self.bucket.name, self.clock())
            self._check_key_life(key)
            self._check_token(key, field(form, TOKEN_HEADER))
        else:
            fields = self._signature_fields(request)
            key = self._issued_key(fields.ak)
            self._check_signature(request, fields, key)
            stored_key = request.key
        values = condition_values(request)
        if form is not None and header_signed:
            # What COS would apply: the file's size, the form's type, ACL, storage class.
            values.pop("cos:content-type", None)
            values.update(header_form_values(form, request.headers))
        elif form is not None:
            # A form upload's type is its Content-Type field; its length the whole body
            # (docs/tencent/cos-api.md §2: the exact length COS compares is unverified).
            values.pop("cos:content-type", None)
            form_type = field(form, "content-type")
            if form_type is not None:
                values["cos:content-type"] = form_type
            # The form's ACL and storage class are fields; COS lists both keys for
            # PostObject, but how it reads them from a form is unverified: the
            # stricter reading (the field, else the header) is taken here.
            for name, condition_key in FORM_CONDITION_FIELDS.items():
                value = field(form, name)
                if value is not None:
                    values[condition_key] = value
        resource = resource_for(
            self.bucket, api, stored_key, request.param("prefix"), self.list_resource
        )
        decision = cam.decide(self._policy(key), api.action, resource, values)
        return _Authorized(key, decision), stored_key

    def _signature_fields(self, request: CosRequest) -> AuthFields:
        header = request.headers.get("authorization")
        try:
            fields = parse_authorization(header) if header else query_fields(request.query)
        except MalformedAuthorization as exc:
            raise AccessDenied(detail=f"the signature fields are malformed: {exc}") from None
        if fields is None:
            raise AccessDenied(
                detail="the request is not signed: the bucket is private (anonymous access off)"
            )
        return fields

    def _issued_key(self, secret_id: str) -> IssuedKey:
        key = self.keyring.get(secret_id)
        if key is None:
            raise InvalidAccessKeyId(
                detail=f"SecretId {_short(secret_id)} was not issued by the local STS"
            )
        return key

    def _check_key_life(self, key: IssuedKey) -> None:
        if self.clock() >= key.expired_time:
            raise ExpiredToken(detail=f"the temporary key expired at {key.expired_time}")

    def _check_token(self, key: IssuedKey, token: Optional[str]) -> None:
        if not token:
            raise self.token_error(detail="the key is temporary but no x-cos-security-token came")
        if not secrets.compare_digest(token.encode("utf-8"), key.token.encode("utf-8")):
            raise self.token_error(detail="x-cos-security-token does not belong to this SecretId")

    def _check_signature(
        self,
        request: CosRequest,
        fields: AuthFields,
        key: IssuedKey,
        token: Optional[str] = None,
    ) -> None:
        """The request's signature, the key's life, its token, then the time window.
        `token`: where the caller found it (a form field); else the header or query."""
        checked = verify(
            request.method, request.path, request.query, request.headers, fields,
            key.secret_key, self.clock(),
        )  # fmt: skip
        if checked.problem == "malformed":
            raise AccessDenied(detail=f"the signature fields are malformed: {checked.detail}")
        if checked.problem == "mismatch":
            raise SignatureDoesNotMatch(
                # The strings the local COS signed (token values redacted), so a
                # developer can diff them against what their client signed.
                detail=f"signature mismatch ({checked.detail}); the local COS signed "
                + json.dumps(
                    {"HttpString": checked.http_string, "StringToSign": checked.string_to_sign}
                )
            )  # fmt: skip
        self._check_key_life(key)
        if token is None:
            token = request.headers.get(TOKEN_HEADER) or request.param(TOKEN_HEADER)
        self._check_token(key, token)
        if checked.problem == "expired":
            raise AccessDenied("Request has expired", detail="now is past the q-sign-time window")
        if checked.problem == "not_yet_valid":
            raise RequestTimeTooSkewed(detail="q-sign-time starts in the future")
        if checked.problem is not None:
            raise AccessDenied(detail=f"signature check failed: {checked.problem}")

    def _policy(self, key: IssuedKey) -> cam.Policy:
        with self._lock:
            parsed = self._policies.get(key.secret_id)
        if parsed is None:
            if key.policy_text is None:
                parsed = cam.PolicyError(
                    "the key was issued without a policy (AssumeRole without Policy grants the "
                    "role's own rights, which the local COS does not know)"
                )
            else:
                try:
                    parsed = cam.parse_policy(key.policy_text)
                except cam.PolicyError as exc:
                    parsed = exc
            with self._lock:
                self._policies[key.secret_id] = parsed
        if isinstance(parsed, cam.PolicyError):
            # Fails closed: a policy COS would not understand allows nothing.
            raise AccessDenied(detail=f"the key's policy cannot be evaluated: {parsed}")
        return parsed

    # -- the object APIs --------------------------------------------------------------

    def _serve(self, request: CosRequest, api: Api, key: str) -> Response:
        handler = getattr(self, "_api_" + api.name, None)
        if handler is None:
            raise MethodNotAllowed(detail=f"the local COS does not serve {api.name}")
        return handler(request, key)

    def _api_PutObject(self, request: CosRequest, key: str) -> Response:
        if "x-cos-copy-source" in request.headers:
            raise InvalidRequest(detail="PUT Object - Copy is not served by the local COS")
        self._check_body(request)
        stored = self.store.put_object(
            self.bucket.name, key, request.body, request.headers.get("content-type", ""),
            _metadata(request.headers), self._forbid_overwrite(request.headers),
        )  # fmt: skip
        self.notify.created("Put", request, key, stored)
        return Response(200, [("ETag", _quoted(stored.etag))])

    def _api_PostObject(self, request: CosRequest, key: str) -> Response:
        form = parse_form(request.headers.get("content-type", ""), request.body)
        stored = self.store.put_object(
            self.bucket.name, key, form.file, field(form, "content-type") or "",
            {k.lower(): v for k, v in form.fields.items() if k.lower().startswith("x-cos-meta-")},
            self._forbid_overwrite(request.headers),
        )  # fmt: skip
        self.notify.created("Post", request, key, stored, form.fields)
        location = f"http://{request.host}/{quote(key)}"
        headers = [("ETag", _quoted(stored.etag)), ("Location", location)]
        status = field(form, "success_action_status")
        if status in ("200", "201"):
            document = cosxml.post_result(location, self.bucket.name, key, stored.etag)
            return Response(int(status), [*headers, ("Content-Type", "application/xml")], document)
        return Response(204, headers)

    def _forbid_overwrite(self, headers: Mapping[str, str]) -> Optional[CosError]:
        """x-cos-forbid-overwrite: true, honoured on PUT and, as the wx SDK sends it, on
        a form's HTTP headers (whether COS honours it on POST is unverified)."""
        if headers.get("x-cos-forbid-overwrite", "").strip().lower() == "true":
            return self.overwrite_error(detail="x-cos-forbid-overwrite: the key exists")
        return None

    def _api_GetObject(self, request: CosRequest, key: str) -> Response:
        stored = self.store.get_object(self.bucket.name, key)
        headers = _object_headers(stored)
        span = byte_range(request.headers.get("range"), len(stored.body))
        body = stored.body
        status = 200
        if span is not None:
            start, end = span
            body = stored.body[start : end + 1]
            status = 206
            headers.append(("Content-Range", f"bytes {start}-{end}/{len(stored.body)}"))
        for parameter, header in RESPONSE_OVERRIDES.items():
            value = request.param(parameter)
            if value is not None:
                headers = [(n, v) for n, v in headers if n != header] + [(header, value)]
        return Response(status, headers, body)

    def _api_HeadObject(self, request: CosRequest, key: str) -> Response:
        stored = self.store.get_object(self.bucket.name, key)
        # No body, but the length a GET would send.
        return Response(200, [*_object_headers(stored), ("Content-Length", str(len(stored.body)))])

    def _api_DeleteObject(self, request: CosRequest, key: str) -> Response:
        self.store.delete_object(self.bucket.name, key)
        self.notify.removed("Delete", request, key)
        return Response(204, [])

    def _api_InitiateMultipartUpload(self, request: CosRequest, key: str) -> Response:
        upload_id = self.store.initiate_multipart_upload(
            self.bucket.name, key, request.headers.get("content-type", ""),
            _metadata(request.headers),
        )  # fmt: skip
        return _xml(cosxml.initiate_result(self.bucket.name, key, upload_id))

    def _api_UploadPart(self, request: CosRequest, key: str) -> Response:
        self._check_body(request)
        number = _integer(request.param("partNumber"), "partNumber")
        etag = self.store.upload_part(
            self.bucket.name, key, request.param("uploadId") or "", number, request.body
        )
        return Response(200, [("ETag", _quoted(etag))])

    def _api_CompleteMultipartUpload(self, request: CosRequest, key: str) -> Response:
        parts = cosxml.parse_complete(request.body)
        stored = self.store.complete_multipart_upload(
            self.bucket.name, key, request.param("uploadId") or "", parts
        )
        self.notify.created("CompleteMultipartUpload", request, key, stored)
        location = f"{request.host}/{quote(key)}"
        return _xml(cosxml.complete_result(location, self.bucket.name, key, stored.etag))

    def _api_AbortMultipartUpload(self, request: CosRequest, key: str) -> Response:
        self.store.abort_multipart_upload(self.bucket.name, key, request.param("uploadId") or "")
        return Response(204, [])

    def _api_ListParts(self, request: CosRequest, key: str) -> Response:
        marker = _integer(request.param("part-number-marker") or "0", "part-number-marker")
        max_parts = _integer(request.param("max-parts") or "1000", "max-parts")
        upload_id = request.param("uploadId") or ""
        parts, truncated = self.store.list_parts(
            self.bucket.name, key, upload_id, marker, max_parts
        )
        return _xml(
            cosxml.list_parts_result(
                self.bucket.name,
                key,
                upload_id,
                parts,
                marker,
                max_parts,
                truncated,
                request.param("encoding-type") or "",
            )
        )

    def _api_ListMultipartUploads(self, request: CosRequest, key: str) -> Response:
        prefix = request.param("prefix") or ""
        uploads = self.store.list_multipart_uploads(self.bucket.name, prefix)
        return _xml(
            cosxml.list_uploads_result(
                self.bucket.name, prefix, uploads, request.param("encoding-type") or ""
            )
        )

    def _api_GetBucket(self, request: CosRequest, key: str) -> Response:
        prefix = request.param("prefix") or ""
        delimiter = request.param("delimiter") or ""
        marker = request.param("marker") or ""
        max_keys = _integer(request.param("max-keys") or "1000", "max-keys")
        page = self.store.list_objects(self.bucket.name, prefix, delimiter, marker, max_keys)
        return _xml(
            cosxml.list_bucket_result(
                self.bucket.name,
                prefix,
                marker,
                max_keys,
                delimiter,
                page,
                request.param("encoding-type") or "",
            )
        )

    def _api_HeadBucket(self, request: CosRequest, key: str) -> Response:
        return Response(200, [])

    def _check_body(self, request: CosRequest) -> None:
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        if "content-length" not in request.headers and not chunked:
            raise MissingContentLength()
        digest = request.headers.get("content-md5")
        if digest is not None:
            try:
                expected = base64.b64decode(digest, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidDigest() from None
            if len(expected) != 16:
                raise InvalidDigest()
            if hashlib.md5(request.body).digest() != expected:  # noqa: S324 - COS's checksum
                raise BadDigest()


# -- small helpers --------------------------------------------------------------------


FORM_CONDITION_FIELDS = {"acl": "cos:x-cos-acl", "x-cos-storage-class": "cos:x-cos-storage-class"}


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _quoted(etag: str) -> str:
    return f'"{etag}"'


def _metadata(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.startswith("x-cos-meta-")}


def _object_headers(stored: StoredObject) -> list[tuple[str, str]]:
    headers = [
        ("Content-Type", stored.content_type or "application/octet-stream"),
        ("ETag", _quoted(stored.etag)),
        ("Last-Modified", formatdate(stored.last_modified, usegmt=True)),
        ("Accept-Ranges", "bytes"),
    ]
    headers += sorted(stored.metadata.items())
    return headers


def _xml(document: bytes) -> Response:
    return Response(200, [("Content-Type", "application/xml")], document)


def _integer(value: Optional[str], name: str) -> int:
    if value is None or not value.isdigit():
        raise InvalidArgument(detail=f"{name} must be a non-negative integer")
    return int(value)


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
        body = error_xml(error, self.headers.get("Host", ""), "local")
        self._write(Response(error.status, [("Content-Type", "application/xml")], body))
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
            error = InternalError()
            response = Response(
                500, [("Content-Type", "application/xml")], error_xml(error, "", "")
            )
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
