"""A local stand-in for Tencent STS: GetFederationToken and AssumeRole over HTTP(S).

It checks what the real service checks (reference tencent-sts.md §1-§4): the
TC3-HMAC-SHA256 signature over the received bytes (or, for form-encoded requests
such as qcloud-python-sts sends, the v1 HmacSHA1/HmacSHA256 signature over the
sorted parameters, §3.7), the 5-minute timestamp window,
the X-TC-* headers, the session token of temporary keys, required parameters,
duration limits and the policy (URL-encoded JSON, version 2.0, no `principal`).
Errors come back as STS sends them: HTTP 200 with ``Response.Error``.
Issued credentials are obviously fake (``AKIDEMULATOR...``, ``EMULATOR-...``).

Where STS behaviour is undocumented (which error code a given refusal uses, the
inline-policy size limit) the emulator picks the closest documented code and a
strict limit, so a wrong guess shows up as a refusal here first.

Tests script failures with `Fault`s; each request consumes the next one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import socket
import ssl
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, unquote

from sts_core.signer import TC3Signer, utc_date
from sts_tools.emulators.keyring import IssuedKey, Keyring

SIGNATURE_WINDOW = 300
MAX_BODY = 1 << 20
# STS does not document its inline-policy limit; CAM's stored-policy limit is a
# conservative stand-in (reference §5.7).
MAX_POLICY_CHARS = 6144
ROLE_ARN_RE = re.compile(r"^qcs::cam::uin/\d+:(role|roleName)/[\w+=,.@/-]{1,128}$")
SESSION_NAME_RE = re.compile(r"^[\w+=,.@-]{2,128}$", re.ASCII)
_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)"
    r"/tc3_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)

# Development keys the emulator accepts out of the box. They are not secrets:
# they only ever unlock this emulator.
DEV_SECRET_ID = "AKIDEMULATORDEVKEY00000000000000000"
DEV_SECRET_KEY = "emulator-dev-secret-key-not-a-real-key"
DEV_ROLE_SECRET_ID = "AKIDEMULATORROLEKEY0000000000000000"
DEV_ROLE_SECRET_KEY = "emulator-role-secret-key-not-real"
DEV_ROLE_TOKEN = "emulator-role-session-token"


def dev_key_env(endpoint: str) -> dict[str, str]:
    """The variables that send the function's STS calls here, with the dev key."""
    return {
        "STS_ENDPOINT": endpoint,
        "STS_SECRET_ID": DEV_SECRET_ID,
        "STS_SECRET_KEY": DEV_SECRET_KEY,
    }


def function_env(
    endpoint: str,
    jwt_secret: str,
    bucket: str = "examplebucket-1250000000",
    region: str = "ap-guangzhou",
) -> dict[str, str]:
    """A complete environment for running the credential function against here."""
    env = {"COS_BUCKET": bucket, "COS_REGION": region, "STS_JWT_SECRET": jwt_secret}
    env.update(dev_key_env(endpoint))
    return env


@dataclass(frozen=True)
class EmulatorKey:
    secret_key: str = field(repr=False)
    token: Optional[str] = field(default=None, repr=False)  # set: a temporary (role) key

    @property
    def temporary(self) -> bool:
        return self.token is not None


def default_keys() -> dict[str, EmulatorKey]:
    return {
        DEV_SECRET_ID: EmulatorKey(DEV_SECRET_KEY),
        DEV_ROLE_SECRET_ID: EmulatorKey(DEV_ROLE_SECRET_KEY, DEV_ROLE_TOKEN),
    }


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, consumed by the next request."""

    kind: str
    code: str = ""
    message: str = ""
    status: int = 200
    body: bytes = b""
    seconds: float = 0.0

    @classmethod
    def error(cls, code: str, message: str = "scripted error") -> Fault:
        return cls("error", code=code, message=message)

    @classmethod
    def http(cls, status: int, body: bytes = b"") -> Fault:
        return cls("http", status=status, body=body)

    @classmethod
    def raw(cls, body: bytes) -> Fault:
        """HTTP 200 with this exact body (malformed answers)."""
        return cls("http", status=200, body=body)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Sleep, then answer normally (timeouts)."""
        return cls("delay", seconds=seconds)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")


@dataclass(frozen=True)
class Call:
    """A request that passed signature verification."""

    action: str
    secret_id: str
    region: str
    params: dict[str, Any]
    policy: Optional[dict[str, Any]]
    token_sent: bool


@dataclass(frozen=True)
class _Signed:
    """An authenticated request, whichever signature scheme it used."""

    secret_id: str
    key: EmulatorKey
    action: str
    version: str
    region: str
    params: dict[str, Any]
    token_sent: bool


V1_COMMON_PARAMS = (
    "Action", "Version", "Region", "Nonce", "SecretId", "Timestamp", "Signature",
    "SignatureMethod", "Token", "Language", "RequestClient",
)  # fmt: skip


def v1_string_to_sign(method: str, host: str, params: Mapping[str, Any]) -> str:
    """Signature v1 (§3.7): sorted ``k=v`` over raw values, Signature excluded."""
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    return f"{method}{host}/?" + "&".join(f"{k}={v}" for k, v in pairs)


def v1_signature(secret_key: str, string_to_sign: str, method: str = "HmacSHA1") -> str:
    digest = hashlib.sha256 if method == "HmacSHA256" else hashlib.sha1
    mac = hmac.new(secret_key.encode("utf-8"), string_to_sign.encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


class _Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


class StsEmulator:
    """Start with `start()` or as a context manager; `endpoint` is its base URL."""

    def __init__(
        self,
        keys: Optional[Mapping[str, EmulatorKey]] = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: Optional[ssl.SSLContext] = None,
        clock: Callable[[], float] = time.time,
        root_account: bool = False,
        max_policy_chars: int = MAX_POLICY_CHARS,
        keyring: Optional[Keyring] = None,
    ) -> None:
        self.keys = dict(default_keys() if keys is None else keys)
        # Every minted key is recorded here, with its policy, for the local COS.
        self.keyring = Keyring() if keyring is None else keyring
        self.clock = clock
        self.max_federation_duration = 7200 if root_account else 129600
        self.max_policy_chars = max_policy_chars
        self.calls: list[Call] = []
        self.requests_seen = 0
        self.connections = 0
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._signer = TC3Signer("sts")
        self._server = _Server((host, port), _Handler, self, tls)
        self._thread: Optional[threading.Thread] = None

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        scheme = "https" if self._server.tls else "http"
        return f"{scheme}://{host}:{port}"

    def start(self) -> StsEmulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sts-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> StsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget recorded calls and pending faults (between tests)."""
        with self._lock:
            self.calls.clear()
            self._faults.clear()
        self.keyring.reset()

    def script(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def _next_fault(self) -> Optional[Fault]:
        with self._lock:
            self.requests_seen += 1
            return self._faults.popleft() if self._faults else None

    # -- the service -------------------------------------------------------------

    def handle(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """Answer one POST: the JSON document STS would send."""
        request_id = str(uuid.uuid4())
        try:
            result = self._serve(headers, body)
        except _Refusal as refusal:
            return {
                "Response": {
                    "Error": {"Code": refusal.code, "Message": refusal.message},
                    "RequestId": request_id,
                }
            }
        result["RequestId"] = request_id
        return {"Response": result}

    def _serve(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            signed = self._verify_v1(headers, body)
        else:
            signed = self._verify_tc3(headers, body)
        if signed.version != "2018-08-13":
            raise _Refusal("NoSuchVersion", "The requested version does not exist.")
        if signed.action not in ("GetFederationToken", "AssumeRole"):
            raise _Refusal("InvalidAction", f"The action {signed.action!r} is not supported.")
        if not signed.region:
            raise _Refusal("MissingParameter", "The request is missing the Region parameter.")
        params = signed.params
        if signed.action == "GetFederationToken":
            if signed.key.temporary:
                # STS: "only supports permanent keys".
                raise _Refusal("UnauthorizedOperation", "Temporary keys cannot federate.")
            duration = self._duration(params, 1800, self.max_federation_duration)
            name = params.get("Name")
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z-]{2,64}", name):
                raise _Refusal("InvalidParameter.ParamError", "Name must be letters.")
            policy_text = self._policy_text(params, required=True)
        else:
            duration = self._duration(params, 7200, 43200)
            arn = params.get("RoleArn")
            if not isinstance(arn, str) or not ROLE_ARN_RE.match(arn):
                raise _Refusal("ResourceNotFound.RoleNotFound", "The role does not exist.")
            session_name = params.get("RoleSessionName")
            if not isinstance(session_name, str) or not SESSION_NAME_RE.match(session_name):
                raise _Refusal("InvalidParameter.ParamError", "RoleSessionName is invalid.")
            external_id = params.get("ExternalId")
            if external_id is not None and (
                not isinstance(external_id, str) or not 2 <= len(external_id) <= 128
            ):
                raise _Refusal("InvalidParameter.ParamError", "ExternalId is invalid.")
            policy_text = self._policy_text(params, required=False)
        policy = None if policy_text is None else json.loads(policy_text)
        with self._lock:
            self.calls.append(
                Call(signed.action, signed.secret_id, signed.region, params, policy,
                     signed.token_sent)
            )  # fmt: skip
        return self._mint(duration, policy_text, signed.action)

    def _check_clock(self, timestamp: int) -> None:
        if abs(self.clock() - timestamp) > SIGNATURE_WINDOW:
            raise _Refusal(
                "AuthFailure.SignatureExpire",
                "Request timestamp is more than 5 minutes from server time.",
            )

    def _key(self, secret_id: str) -> EmulatorKey:
        key = self.keys.get(secret_id)
        if key is None:
            raise _Refusal("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        return key

    @staticmethod
    def _check_token(key: EmulatorKey, token: Optional[str]) -> None:
        if key.temporary and token != key.token:
            raise _Refusal("AuthFailure.TokenFailure", "The session token is invalid.")
        if not key.temporary and token:
            raise _Refusal("AuthFailure.TokenFailure", "A permanent key takes no token.")

    def _verify_v1(self, headers: Mapping[str, str], body: bytes) -> _Signed:
        try:
            params: dict[str, Any] = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            timestamp = int(params.get("Timestamp", ""))
        except (UnicodeDecodeError, ValueError):
            raise _Refusal("AuthFailure.InvalidAuthorization", "Bad v1 parameters.") from None
        self._check_clock(timestamp)
        secret_id = str(params.get("SecretId", ""))
        key = self._key(secret_id)
        source = v1_string_to_sign("POST", headers.get("host", ""), params)
        expected = v1_signature(key.secret_key, source, params.get("SignatureMethod", "HmacSHA1"))
        if not secrets.compare_digest(expected, str(params.get("Signature", ""))):
            raise _Refusal("AuthFailure.SignatureFailure", "The v1 signature is invalid.")
        self._check_token(key, params.get("Token"))
        common = {name: params.pop(name, "") for name in V1_COMMON_PARAMS}
        if str(params.get("DurationSeconds", "")).isdigit():
            params["DurationSeconds"] = int(params["DurationSeconds"])  # form values are text
        return _Signed(
            secret_id=secret_id,
            key=key,
            action=str(common["Action"]),
            version=str(common["Version"]),
            region=str(common["Region"]),
            params=params,
            token_sent=bool(common["Token"]),
        )

    def _verify_tc3(self, headers: Mapping[str, str], body: bytes) -> _Signed:
        match = _AUTH_RE.match(headers.get("authorization", ""))
        if not match:
            raise _Refusal("AuthFailure.InvalidAuthorization", "Authorization is malformed.")
        try:
            timestamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            raise _Refusal(
                "AuthFailure.InvalidAuthorization", "X-TC-Timestamp is invalid."
            ) from None
        self._check_clock(timestamp)
        key = self._key(match["id"])
        signed = match["signed"].split(";")
        if "content-type" not in signed or "host" not in signed or signed != sorted(signed):
            raise _Refusal("AuthFailure.InvalidAuthorization", "SignedHeaders is invalid.")
        if any(name not in headers for name in signed):
            raise _Refusal("AuthFailure.InvalidAuthorization", "A signed header is missing.")
        if match["service"] != "sts" or match["date"] != utc_date(timestamp):
            raise _Refusal("AuthFailure.SignatureFailure", "Credential scope mismatch.")
        if headers["content-type"].split(";")[0].strip().lower() != "application/json":
            raise _Refusal("InvalidRequest", "Content-Type must be application/json.")
        canonical = self._signer.canonical_request("POST", "", headers, signed, body)
        expected = self._signer.signature(
            self._signer.signing_key(key.secret_key, match["date"]),
            self._signer.string_to_sign(timestamp, canonical),
        )
        if not secrets.compare_digest(expected, match["sig"]):
            raise _Refusal(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. "
                "Please check your signature is correct.",
            )
        token = headers.get("x-tc-token")
        self._check_token(key, token)
        try:
            params = json.loads(body)
        except ValueError:
            raise _Refusal("InvalidParameter.ParamError", "The body is not JSON.") from None
        if not isinstance(params, dict):
            raise _Refusal("InvalidParameter.ParamError", "The body is not a JSON object.")
        return _Signed(
            secret_id=match["id"],
            key=key,
            action=headers.get("x-tc-action", ""),
            version=headers.get("x-tc-version", ""),
            region=headers.get("x-tc-region", ""),
            params=params,
            token_sent=bool(token),
        )

    @staticmethod
    def _duration(params: Mapping[str, Any], default: int, maximum: int) -> int:
        duration = params.get("DurationSeconds", default)
        if not isinstance(duration, int) or isinstance(duration, bool) or duration < 1:
            raise _Refusal("InvalidParameter.ParamError", "DurationSeconds is invalid.")
        if duration > maximum:
            raise _Refusal("InvalidParameter.OverTimeError", "DurationSeconds is too long.")
        return duration

    def _policy_text(self, params: Mapping[str, Any], *, required: bool) -> Optional[str]:
        """The decoded policy JSON text, checked as STS checks it."""
        encoded = params.get("Policy")
        if encoded is None and not required:
            return None
        if not isinstance(encoded, str) or not encoded:
            raise _Refusal("MissingParameter", "The Policy parameter is required.")
        text = unquote(encoded)
        if len(text) > self.max_policy_chars:
            raise _Refusal("InvalidParameter.PolicyTooLong", "The policy is too long.")
        try:
            policy = json.loads(text)
        except ValueError:
            raise _Refusal("InvalidParameter.StrategyFormatError", "Policy is not JSON.") from None
        if not isinstance(policy, dict) or policy.get("version") != "2.0":
            raise _Refusal("InvalidParameter.StrategyFormatError", "Policy version must be 2.0.")
        statements = policy.get("statement")
        if not isinstance(statements, list) or not statements:
            raise _Refusal("InvalidParameter.StrategyFormatError", "Policy has no statement.")
        for statement in statements:
            if not isinstance(statement, dict) or statement.get("effect") not in ("allow", "deny"):
                raise _Refusal("InvalidParameter.StrategyFormatError", "Bad statement.")
            if "principal" in statement:
                raise _Refusal(
                    "InvalidParameter.StrategyFormatError", "principal is not allowed here."
                )
            if not statement.get("action") or not statement.get("resource"):
                raise _Refusal("InvalidParameter.StrategyFormatError", "Missing action/resource.")
        return text

    def _mint(self, duration: int, policy_text: Optional[str], action: str) -> dict[str, Any]:
        expired = int(self.clock()) + duration
        key = IssuedKey(
            secret_id="AKIDEMULATOR" + secrets.token_hex(12).upper(),
            secret_key="EMULATOR-" + secrets.token_urlsafe(24),
            token="EMULATOR-TOKEN-" + secrets.token_urlsafe(96),
            expired_time=expired,
            policy_text=policy_text,
            action=action,
        )
        self.keyring.add(key)
        return {
            "Credentials": {
                "TmpSecretId": key.secret_id,
                "TmpSecretKey": key.secret_key,
                "Token": key.token,
            },
            "ExpiredTime": expired,
            "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expired)),
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: Any,
        emulator: StsEmulator,
        tls: Optional[ssl.SSLContext],
    ) -> None:
        self.emulator = emulator
        self.tls = tls
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.emulator._lock:
            self.emulator.connections += 1
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is expected; anything else is a bug.
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines would only add noise to test output

    def do_POST(self) -> None:
        emulator = self.server.emulator
        fault = emulator._next_fault()
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, b"")
            return
        body = self.rfile.read(length)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "http":
            self._send(fault.status, fault.body)
            return
        if fault is not None and fault.kind == "error":
            document = {
                "Response": {
                    "Error": {"Code": fault.code, "Message": fault.message},
                    "RequestId": str(uuid.uuid4()),
                }
            }
        else:
            headers = {name.lower(): value for name, value in self.headers.items()}
            document = emulator.handle(headers, body)
        self._send(200, json.dumps(document).encode("utf-8"))

    def do_GET(self) -> None:
        self._send(405, b"")

    def _send(self, status: int, body: bytes) -> None:
        # Status line, headers and body in a single write: with TCP_NODELAY this
        # keeps delayed-ACK stalls out of latency measurements.
        head = (
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n\r\n"
        ).encode("latin-1")
        self.wfile.write(head + body)
        self.wfile.flush()


def main(argv: Optional[list[str]] = None) -> None:
    """Run the emulator in the foreground until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m sts_tools.emulators.sts_emulator", description=main.__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100, help="0 picks a free port")
    parser.add_argument("--certfile", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--keyfile", help="the certificate's private key (PEM)")
    args = parser.parse_args(argv)
    tls = None
    if args.certfile:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.certfile, args.keyfile)
    server = StsEmulator(host=args.host, port=args.port, tls=tls).start()
    print(f"STS emulator listening on {server.endpoint} (fake credentials only)", flush=True)
    print(f"  permanent key: STS_SECRET_ID={DEV_SECRET_ID} STS_SECRET_KEY={DEV_SECRET_KEY}")
    print(f"  STS_ENDPOINT={server.endpoint}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
