"""The browser playground: a page on its own port that drives the local stack.

`make run` serves it (default http://127.0.0.1:9002/) when the emulated stack
runs, and only then: with real Tencent keys there is no local COS to show, so it
is off and says so. Like moto's dashboard it is a static page plus JSON routes on
the same server (the style guide's shape), with no CDN: the official
cos-js-sdk-v5 is vendored beside the page (`static/`, sha256 pinned in
`SDK_SHA256` and checked by tests/test_playground.py).

The page is a different origin from the credential endpoint and from the local
COS, so the browser does what it does for a real web app: a CORS preflight for
the Bearer request to /sts, and preflights for the SDK's requests to COS. For
that to pass, the local stack builds the function's service with the
playground's origins (`origins_for`) added to ``cors.allowed_origins`` in memory,
for that run only; config.yml is never changed.

Routes (all on the playground's own port, so no object key can shadow them):

GET  /                 the page (static/playground.html)
GET  /static/<file>    the page's scripts and style, and the vendored SDK
GET  /api/config       what the page needs: endpoint, bucket, region, COS domain, profiles
POST /api/token        {"user", "ttl"} -> a development token, signed with the public
                       development secret (refused when another secret is in use)
GET  /api/keys?secretId=AKID...   the policy the local STS attached to that key
GET  /state.json       the local COS's request log (newest first) and its objects
POST /reset            empties the local COS (objects and request log); issued keys stay

Development tooling: it lives in sts_tools (never packaged) and only ever
handles the public development secret and the emulators' fake keys. It never
logs a request: tokens travel in bodies and headers.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, NamedTuple, Optional
from urllib.parse import parse_qs, urlsplit

from sts_tools.support.config_view import PROJECT_ROOT
from sts_tools.support.dev_token import DEV_JWT_SECRET, mint_token
from sts_tools.support.loopback import LoopbackServer

if TYPE_CHECKING:
    from sts_core.config_model import Config
    from sts_tools.emulators.cos.server import CosEmulator
    from sts_tools.emulators.keyring import Keyring

DEFAULT_PORT = 9002
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
# The browser adapter the page uses is the one app developers copy: clients/js/.
CLIENTS_JS = os.path.join(PROJECT_ROOT, "clients", "js")
# The official cos-js-sdk-v5 1.10.1, dist/cos-js-sdk-v5.min.js from its npm package
# (tests/browser/package-lock.json pins the same release; MIT LICENSE beside it).
SDK_FILE = "cos-js-sdk-v5.min.js"
SDK_VERSION = "1.10.1"
SDK_SHA256 = "16a5fa25ad090647e9e5e928fb260e5a9d8ddf8a063cedb5a3a7cbc2105a66e7"
# The getAuthorization adapter: docs/clients.md's code block is this file, word for word.
ADAPTER_FILE = "cos-auth.js"
TICKET_FILE = "cos-ticket.js"  # and the ticket upload, also from clients/js/
STATIC_TYPES = {
    "playground.html": "text/html; charset=utf-8",
    "playground.js": "text/javascript; charset=utf-8",
    "playground.css": "text/css; charset=utf-8",
    ADAPTER_FILE: "text/javascript; charset=utf-8",
    TICKET_FILE: "text/javascript; charset=utf-8",
    SDK_FILE: "text/javascript; charset=utf-8",
}
SUGGESTED_USERS = ("alice", "bob", "carol")
MAX_RECORDS = 300  # the newest COS requests /state.json returns
MAX_BODY = 16 * 1024
MAX_TTL = 24 * 3600
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def origins_for(port: int) -> tuple[str, ...]:
    """The origins a browser gives the playground's page (both loopback spellings)."""
    return (f"http://127.0.0.1:{port}", f"http://localhost:{port}")


class Reply(NamedTuple):
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, payload: Any) -> Reply:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Reply(status, "application/json; charset=utf-8", data)


def _error(status: int, code: str, message: str) -> Reply:
    return _json(status, {"error": {"code": code, "message": message}})


class Playground:
    """The page and its JSON routes on one loopback port. The socket is bound at
    construction (so `origins` is known before the function starts); `start()`
    serves it. Use as a context manager, or `start()`/`stop()`."""

    def __init__(
        self,
        *,
        cos: CosEmulator,
        keyring: Keyring,
        sts_url: str,
        config: Optional[Config],
        jwt_secret: str = "",
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        users: Sequence[str] = SUGGESTED_USERS,
        wx_signin: bool = False,
    ) -> None:
        self.cos = cos
        self.keyring = keyring
        self.sts_url = sts_url
        self.config = config
        self.jwt_secret = jwt_secret  # the function's HMAC secret: minted with if public
        self.users = tuple(users)
        self.wx_signin = wx_signin  # the function signs in with the local jscode2session
        self._server = LoopbackServer(_Handler, self, host, port, name="playground")

    # -- lifecycle ------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def origins(self) -> tuple[str, ...]:
        return origins_for(self.port)

    def start(self) -> Playground:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Playground:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the page reads ----------------------------------------------------------

    @property
    def cos_domain(self) -> str:
        """cos-js-sdk-v5's Domain: Chromium resolves ``*.localhost`` to loopback, so the
        bucket arrives in Host as with real COS (docs/tencent/cos-api.md §7)."""
        return "{Bucket}.cos.{Region}.localhost:" + str(self.cos.port)

    @property
    def cos_origin(self) -> str:
        bucket = self.cos.bucket
        return f"http://{bucket.name}.cos.{bucket.region}.localhost:{self.cos.port}"

    def dev_tokens(self) -> Optional[str]:
        """None when the page may mint tokens, else why not."""
        from sts_core.config_model import HMAC

        if self.config is not None and self.config.auth.mode != HMAC:
            return "tokens come from an identity provider's key set: paste one of its tokens"
        if self.jwt_secret != DEV_JWT_SECRET:
            return (
                "STS_JWT_SECRET is not the public development secret, so the playground does "
                "not sign tokens: paste a token"
            )
        if self.config is not None and "HS256" not in self.config.auth.algorithms:
            return "auth.algorithms does not allow HS256: paste a token"
        return None

    def page_config(self) -> dict[str, Any]:
        config = self.config
        profiles: dict[str, Any] = {}
        if config is not None:
            for name, profile in config.profiles.items():
                profiles[name] = {
                    "actions": list(profile.actions),
                    "maxContentLength": profile.max_content_length,
                    "contentTypes": list(profile.content_types),
                    "bindIp": profile.bind_ip,
                    "tickets": None if profile.tickets is None else {
                        "methods": list(profile.tickets.methods),
                        "types": dict(profile.tickets.types),
                        "maxSize": profile.tickets.max_size,
                    },
                }  # fmt: skip
        bucket = self.cos.bucket
        return {
            "stsUrl": self.sts_url,
            "bucket": bucket.name,
            "region": bucket.region,
            "cosDomain": self.cos_domain,
            "cosOrigin": self.cos_origin,
            "profiles": profiles,
            "defaultProfile": config.default_profile if config is not None else None,
            "prefixTemplate": config.prefix_template if config is not None else "users/{uid}/",
            "duration": {
                "default": config.default_duration if config is not None else None,
                "min": config.min_duration if config is not None else None,
                "max": config.max_duration if config is not None else None,
            },
            "corsOrigins": list(config.cors_origins) if config is not None else [],
            "users": list(self.users),
            "devTokens": self.dev_tokens() is None,
            "devTokensOff": self.dev_tokens(),
            "sdkVersion": SDK_VERSION,
            "wxSignIn": self.wx_signin,
        }

    def mint(self, request: Mapping[str, Any]) -> Reply:
        refusal = self.dev_tokens()
        if refusal is not None:
            return _error(403, "dev_tokens_off", refusal)
        user = request.get("user")
        ttl = request.get("ttl", 3600)
        if not isinstance(user, str) or not user or len(user) > 256:
            return _error(400, "invalid_user", "user: a non-empty string (the token's subject)")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= MAX_TTL:
            return _error(400, "invalid_ttl", f"ttl: whole seconds, 1 to {MAX_TTL}")
        claims = {}
        if self.config is not None and self.config.auth.user_id_claim != "sub":
            claims[self.config.auth.user_id_claim] = user
        # The user ID is not checked here on purpose: the function must refuse bad ones.
        auth = self.config.auth if self.config is not None else None
        token = mint_token(
            user, self.jwt_secret, ttl=ttl, claims=claims,
            issuer=auth.issuer if auth else None, audience=auth.audience if auth else None,
        )  # fmt: skip
        return _json(200, {"token": token})

    def key(self, secret_id: str) -> Reply:
        issued = self.keyring.get(secret_id)
        if issued is None:
            return _error(404, "unknown_key", "the local STS did not issue this SecretId")
        policy = None
        if issued.policy_text is not None:
            try:
                policy = json.loads(issued.policy_text)
            except ValueError:
                policy = None
        return _json(
            200,
            {
                "secretId": issued.secret_id,
                "expiredTime": issued.expired_time,
                "action": issued.action,
                "policyText": issued.policy_text,
                "policy": policy,
            },
        )

    def state(self) -> Reply:
        records = list(self.cos.records)[-MAX_RECORDS:]
        records.reverse()
        objects = [
            {
                "key": stored.key,
                "size": len(stored.body),
                "etag": stored.etag,
                "contentType": stored.content_type,
                "lastModified": stored.last_modified,
            }
            for stored in self.cos.store.objects(self.cos.bucket.name)
        ]
        return _json(
            200,
            {
                "now": time.time(),
                "bucket": self.cos.bucket.name,
                "records": [record._asdict() for record in records],
                "objects": objects,
                "events": [event._asdict() for event in reversed(self.cos.notify.history)],
            },
        )

    def reset(self) -> Reply:
        self.cos.reset()
        return _json(200, {"reset": True})

    # -- routing ----------------------------------------------------------------------

    def content_security_policy(self) -> str:
        """The page may talk to itself, the endpoint and the local COS, nothing else."""
        sts = urlsplit(self.sts_url)
        return "; ".join(
            (
                "default-src 'none'",
                "script-src 'self'",
                "style-src 'self'",
                "img-src 'self' data:",
                f"connect-src 'self' {sts.scheme}://{sts.netloc} {self.cos_origin}",
                "base-uri 'none'",
                "form-action 'none'",
                "frame-ancestors 'none'",
            )
        )

    def route(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request (the HTTP front only reads and writes)."""
        host = headers.get("host", "")
        if host.rsplit(":", 1)[0] not in LOOPBACK_NAMES:
            # DNS rebinding: a page on another name that resolves here gets nothing.
            return _error(403, "bad_host", "the playground answers loopback names only")
        parts = urlsplit(target)
        if method == "POST":
            return self._post(parts.path, headers, body)
        if method not in ("GET", "HEAD"):
            return _error(405, "method_not_allowed", "GET or POST")
        if parts.path in ("/", "/index.html"):
            return self._static("playground.html")
        if parts.path.startswith("/static/"):
            return self._static(parts.path[len("/static/") :])
        if parts.path == "/api/config":
            return _json(200, self.page_config())
        if parts.path == "/api/keys":
            return self.key(parse_qs(parts.query).get("secretId", [""])[0])
        if parts.path == "/state.json":
            return self.state()
        return _error(404, "not_found", "no such route")

    def _post(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        refused = self._check_post(headers)
        if refused is not None:
            return refused
        if path == "/reset":
            return self.reset()
        if path not in ("/api/token", "/api/wx-code"):
            return _error(404, "not_found", "no such route")
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "invalid_body", "the body must be JSON")
        if not isinstance(request, dict):
            return _error(400, "invalid_body", "the body must be a JSON object")
        return self.mint(request) if path == "/api/token" else self.wx_code(request)

    def wx_code(self, request: Mapping[str, Any]) -> Reply:
        """What wx.login would give a mini program: a one-time code the local
        jscode2session stand-in exchanges for this openid."""
        if not self.wx_signin:
            return _error(403, "wx_signin_off", "sign-in with WeChat is off in this run")
        openid = request.get("openid")
        if not isinstance(openid, str) or not openid or len(openid) > 128:
            return _error(400, "invalid_openid", "openid: a non-empty string")
        from sts_tools.emulators.wechat import make_code

        return _json(200, {"code": make_code(openid)})

    def _check_post(self, headers: Mapping[str, str]) -> Optional[Reply]:
        """POSTs come from the page itself: JSON (which a foreign page cannot send
        without a preflight this server never grants) and, if named, our origin."""
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _error(415, "json_only", "POST application/json")
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return _error(403, "foreign_origin", "only the playground's own page may POST here")
        return None

    def _static(self, name: str) -> Reply:
        content_type = STATIC_TYPES.get(name)
        if content_type is None:  # a fixed list: no path ever reaches the file system
            return _error(404, "not_found", "no such file")
        folder = CLIENTS_JS if name in (ADAPTER_FILE, TICKET_FILE) else STATIC
        with open(os.path.join(folder, name), "rb") as handle:
            data = handle.read()
        extra: tuple[tuple[str, str], ...] = ()
        if name == "playground.html":
            extra = (
                ("Content-Security-Policy", self.content_security_policy()),
                ("Referrer-Policy", "no-referrer"),
            )
        return Reply(200, content_type, data, extra)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # never log requests: a token may be in them

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._write(_error(413, "too_large", "body too large"))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            reply = self.server.owner.route(self.command, self.path, headers, body)
        except Exception as exc:  # a bug here: the type only (never a token)
            reply = _error(500, "internal_error", f"playground error: {type(exc).__name__}")
        self._write(reply)

    def _write(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _serve
