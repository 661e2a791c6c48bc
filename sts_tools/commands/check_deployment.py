"""``python -m sts_tools check-deployment URL --token T``: does the deployed endpoint
grant what you think it grants?

It plays an attacker and a user against a deployed endpoint:

1. HTTP: no token and a forged token get 401 with ``WWW-Authenticate``; an
   unlisted origin gets no CORS grant, each ``--origin`` does; the real token
   gets keys in the documented shape, for the token's own prefix.
2. COS, with those keys and the official cos-python-sdk-v5 (an optional extra:
   ``pip install -r requirements-check.txt``): write, read and delete one probe
   object inside the prefix where the profile allows it (and see COS refuse
   what the profile does not allow); then confirm that COS itself (403) refuses
   a write to another user's folder and to the bucket root, and a read of
   another user's key; and what COS does with a key with dot segments
   (check_dot_segments.py).
3. Tickets, when a profile gives post tickets: COS must hold the form to its size
   and key (check_tickets.py).

What the profile should allow comes from config.yml (``--config``, default
``$STS_CONFIG`` or the project's), i.e. what you believe you deployed.
``--cos-endpoint http://127.0.0.1:PORT`` sends the COS requests to a local COS
(the SDK's IP/Port mode: the signed Host stays ``<bucket>.cos.<region>.myqcloud.com``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional

from sts_core.utc_time import iso8601
from sts_tools.commands.check_dot_segments import check_dot_segments
from sts_tools.commands.command_line import fail
from sts_tools.commands.cos_probe import CosOutcome, CosProbe, cos_client

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
DEFAULT_BAD_ORIGIN = "https://cos-sts-check.invalid"
CHECK_INSTALL = "pip install -r requirements-check.txt"
PUT, GET, DELETE = "name/cos:PutObject", "name/cos:GetObject", "name/cos:DeleteObject"
CREDENTIAL_FIELDS = ("tmpSecretId", "tmpSecretKey", "sessionToken")
CLOCK_SKEW = 300
WRITE_MINE = "write a probe object in the prefix"
READ_MINE = "read the probe object back"
DELETE_MINE = "delete the probe object"
WRITE_OTHER = "write to another user's folder refused by COS"
WRITE_ROOT = "write to the bucket root refused by COS"
READ_OTHER = "read of another user's key refused by COS"
PUBLIC_MINE = "a public-read upload refused by COS"
ARCHIVE_MINE = "an archive-class upload refused by COS"


EVENT_INJECTION = "a COS event sent by a caller -> 401 (an HTTP request, not an event)"


@dataclass
class Row:
    check: str
    status: str
    detail: str = ""


@dataclass
class Expectation:
    """What config.yml says (the deployment you believe you made)."""

    profile: Optional[str]
    actions: Optional[frozenset[str]]  # None: unknown profile / no config
    template: Optional[str]
    user_id_claim: str
    content_type: str = "text/plain"
    ticket_profile: Optional[str] = None  # a profile giving post tickets (check_tickets.py)
    ticket_extension: str = ""
    ticket_put: bool = False  # ... and put tickets
    ticket_get: bool = False  # ... and get tickets
    login_providers: tuple[str, ...] = ()  # sign-in routes config.yml turns on (wechat, qq)


class CheckError(Exception):
    """A usage problem: nothing was checked."""


def read_expectation(config_path: Optional[str], profile: Optional[str]) -> Expectation:
    from sts_tools.support import config_view

    if config_path and not os.path.isfile(config_path):
        raise CheckError(f"cannot read the config {config_path}: no such file")
    document = config_view.read_document(config_path) if config_path else {}
    profiles = config_view.section(document, "profiles")
    if profile is None and profiles:
        # The most telling probe: a profile that may write, read and delete.
        full = [n for n, p in profiles.items() if {PUT, GET, DELETE} <= set(_actions(p))]
        profile = full[0] if full else document.get("default_profile") or next(iter(profiles))
    actions: Optional[frozenset[str]] = None
    content_type = "text/plain"
    if profile in profiles:
        actions = frozenset(_actions(profiles[profile]))
        types = profiles[profile].get("content_types") or []
        if types:
            content_type = str(types[0]).replace("/*", "/octet-stream")
    prefix = config_view.section(document, "prefix")
    auth = config_view.section(document, "auth")
    ticket_profile, ticket_extension, ticket_put, ticket_get = _ticket_profile(profiles)
    providers = config_view.section(document, "login").get("providers") or []
    return Expectation(
        profile=profile,
        actions=actions,
        template=prefix.get("template") or ("users/{uid}/" if document else None),
        user_id_claim=str(auth.get("user_id_claim") or "sub"),
        content_type=content_type,
        ticket_profile=ticket_profile,
        ticket_extension=ticket_extension,
        ticket_put=ticket_put,
        ticket_get=ticket_get,
        login_providers=tuple(str(p) for p in providers if isinstance(p, str)),
    )


def _ticket_profile(profiles: Mapping[str, Any]) -> tuple[Optional[str], str, bool, bool]:
    """The first profile giving post tickets, its first extension, whether it gives put
    and get."""
    for name, profile in profiles.items():
        tickets = profile.get("tickets") if isinstance(profile, dict) else None
        types = tickets.get("types") if isinstance(tickets, dict) else None
        methods = (tickets.get("methods") or []) if isinstance(tickets, dict) else []
        if isinstance(types, dict) and types and "post" in methods:
            return str(name), str(next(iter(types))), "put" in methods, "get" in methods
    return None, "", False, False


def _actions(profile: Any) -> list[str]:
    actions = profile.get("actions") if isinstance(profile, dict) else None
    return [str(a) for a in actions] if isinstance(actions, list) else []


def token_claims(token: str) -> dict[str, Any]:
    """The token's payload, unverified (only to know whose prefix to expect)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def forged(token: str) -> str:
    """The same header and claims with a wrong signature: what a forger can make."""
    parts = token.split(".")
    if len(parts) == 3:
        signature = parts[2] or "x"
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        return ".".join([parts[0], parts[1], flipped])
    return "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdHRhY2tlciJ9.forged"


# ------------------------------------------------------------------------ HTTP


class Checker:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        origins: Sequence[str] = (),
        bad_origin: str = DEFAULT_BAD_ORIGIN,
        expectation: Expectation,
        cos_endpoint: Optional[str] = None,
        other_key: Optional[str] = None,
        timeout: float = 10.0,
        skip_cos: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import requests

        self.url = url
        self.token = token
        self.origins = list(origins)
        self.bad_origin = bad_origin
        self.expect = expectation
        self.cos_endpoint = cos_endpoint
        self.other_key = other_key
        self.timeout = timeout
        self.skip_cos = skip_cos
        self.clock = clock
        self.http = requests.Session()
        self.rows: list[Row] = []
        self.keys: Optional[dict[str, Any]] = None

    def add(self, check: str, ok: bool, detail: str) -> bool:
        self.rows.append(Row(check, PASS if ok else FAIL, detail))
        return ok

    def skip(self, check: str, detail: str) -> None:
        self.rows.append(Row(check, SKIP, detail))

    def post(self, headers: Mapping[str, str], body: Optional[bytes] = None) -> Any:
        return self.http.post(self.url, headers=dict(headers), data=body, timeout=self.timeout)

    def run(self) -> list[Row]:
        import requests

        try:
            self.check_unauthenticated()
            self.check_event_injection()
            self.check_cors()
            self.check_keys()
            self.check_sign_in()
        except requests.RequestException as exc:
            self.add("endpoint reachable", False, f"{type(exc).__name__}: {exc}")
            return self.rows
        if self.skip_cos:
            self.skip("COS checks", "--skip-cos")
        elif self.keys is None:
            self.skip("COS checks", "no keys to check with")
        else:
            self.check_cos(self.keys)
        if self.expect.ticket_profile and not self.skip_cos:
            from sts_tools.commands.check_tickets import check_tickets

            try:
                check_tickets(self, self.expect.ticket_profile, self.expect.ticket_extension,
                              self.expect.ticket_put, self.expect.ticket_get)  # fmt: skip
            except requests.RequestException as exc:
                self.add("endpoint reachable for tickets", False, f"{type(exc).__name__}: {exc}")
        return self.rows

    # -- an attacker at the endpoint

    def check_unauthenticated(self) -> None:
        for name, headers in (
            ("no token -> 401 with WWW-Authenticate", {}),
            ("forged token -> 401 with WWW-Authenticate",
             {"Authorization": f"Bearer {forged(self.token)}"}),
        ):  # fmt: skip
            response = self.post({**headers, "Content-Type": "application/json"}, b"{}")
            challenge = response.headers.get("WWW-Authenticate", "")
            leaked = self.token in response.text
            self.add(
                name,
                response.status_code == 401 and challenge.startswith("Bearer") and not leaked,
                f"{response.status_code}, WWW-Authenticate: {challenge or '(none)'}"
                + (" - the response repeats the token" if leaked else ""),
            )

    def check_event_injection(self) -> None:
        """A COS event in the body is an HTTP request like any other (docs/uploads.md):
        401 without a token, never handled as an event."""
        import json

        from sts_tools.support.trigger_events import cos_event, cos_record

        fake = cos_event(cos_record("cos:ObjectCreated:Put", "examplebucket-1250000000",
                                    "ap-guangzhou", "users/cos-sts-check/x"))  # fmt: skip
        response = self.post({"Content-Type": "application/json"}, json.dumps(fake).encode())
        self.add(EVENT_INJECTION, response.status_code == 401, f"{response.status_code}")

    def check_sign_in(self) -> None:
        """Each sign-in route config.yml turns on, with a made-up code: WeChat (or QQ)
        should call it invalid (401 wx_code_invalid), which shows the function reaches
        jscode2session with its AppID. Whether WeChat checks the AppSecret before the
        code is unverified: only a real wx.login code proves the secret (502 wx_error
        with the errcode in the function's log is the usual sign of a wrong one)."""
        import json
        import secrets

        for provider in self.expect.login_providers:
            code = "cos-sts-check-" + secrets.token_hex(8)
            response = self.http.post(
                f"{self.url}/login/{provider}", data=json.dumps({"code": code}),
                headers={"Content-Type": "application/json"}, timeout=self.timeout,
            )  # fmt: skip
            error = _error_code(response)
            hint = {
                "wx_error": "the platform refused the function itself: check STS_WX_APPID and "
                "STS_WX_SECRET (the errcode is in the function's log)",
                "wx_unavailable": "the function could not reach jscode2session",
                "not_found": "config.yml turns sign-in on, the deployment does not",
            }.get(error, "")
            self.add(
                f"sign-in with {provider}: a made-up code -> 401 wx_code_invalid",
                response.status_code == 401 and error == "wx_code_invalid",
                f"{response.status_code} {error or '(no error code)'}"
                + (f" - {hint}" if hint else " (the platform refused the code, as it should)"),
            )

    def _preflight(self, origin: str) -> Any:
        return self.http.options(
            self.url,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
            timeout=self.timeout,
        )

    def check_cors(self) -> None:
        response = self._preflight(self.bad_origin)
        granted = response.headers.get("Access-Control-Allow-Origin")
        self.add(
            f"unlisted origin {self.bad_origin} gets no CORS grant",
            granted is None,
            f"preflight {response.status_code}, Access-Control-Allow-Origin: {granted or '(none)'}"
            + (" - every origin may call it" if granted == "*" else ""),
        )
        if not self.origins:
            self.skip("listed origin gets a CORS grant", "pass --origin (your app's origin)")
        for origin in self.origins:
            response = self._preflight(origin)
            granted = response.headers.get("Access-Control-Allow-Origin")
            methods = response.headers.get("Access-Control-Allow-Methods", "")
            allowed = response.headers.get("Access-Control-Allow-Headers", "").lower()
            ok = (
                200 <= response.status_code < 300
                and granted in (origin, "*")
                and "POST" in methods
                and "authorization" in allowed
            )
            self.add(
                f"listed origin {origin} gets a CORS grant",
                ok,
                f"preflight {response.status_code}, Allow-Origin: {granted or '(none)'}, "
                f"Allow-Methods: {methods or '(none)'}, Allow-Headers: {allowed or '(none)'}",
            )

    # -- a user getting keys

    def expected_prefix(self) -> Optional[str]:
        uid = token_claims(self.token).get(self.expect.user_id_claim)
        if self.expect.template is None or not isinstance(uid, (str, int)):
            return None
        return self.expect.template.replace("{uid}", str(uid))

    def check_keys(self) -> None:
        body = {"profile": self.expect.profile} if self.expect.profile else {}
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if self.origins:
            headers["Origin"] = self.origins[0]
        response = self.post(headers, json.dumps(body).encode())
        name = "valid token -> 200 with keys in the documented shape"
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict):
            error = data.get("error") if isinstance(data, dict) else None
            self.add(name, False, f"{response.status_code} {json.dumps(error) if error else ''}")
            return
        problems = shape_problems(data, self.clock())
        if response.headers.get("Cache-Control") != "no-store":
            problems.append("Cache-Control is not no-store")
        if self.expect.profile and data.get("profile") != self.expect.profile:
            problems.append(f"profile {data.get('profile')!r}, asked {self.expect.profile!r}")
        if self.origins and response.headers.get("Access-Control-Allow-Origin") not in (
            self.origins[0],
            "*",
        ):
            problems.append(f"no Access-Control-Allow-Origin for {self.origins[0]}")
        self.add(
            name,
            not problems,
            "; ".join(problems)
            or f"profile {data['profile']}, prefix {data['prefix']}, "
            f"valid {int(data['expiredTime'] - self.clock())} s",
        )
        expected = self.expected_prefix()
        if expected is None:
            self.skip("keys are for the token's own prefix", "no prefix template or user claim")
        else:
            self.add(
                "keys are for the token's own prefix",
                data.get("prefix") == expected,
                f"prefix {data.get('prefix')!r}, expected {expected!r}",
            )
        if not problems:
            self.keys = data

    # -- the keys against COS

    def check_cos(self, keys: Mapping[str, Any]) -> None:
        try:
            client = cos_client(keys, self.cos_endpoint, self.timeout)
        except ImportError:
            self.add("COS checks", False, f"cos-python-sdk-v5 is not installed: {CHECK_INSTALL}")
            return
        probe = CosProbe(client, str(keys["bucket"]))
        prefix = str(keys["prefix"])
        run_id = uuid.uuid4().hex[:12]
        mine = f"{prefix}cos-sts-check/{run_id}.txt"
        body = f"cos-sts check-deployment probe {run_id}\n".encode()
        actions = self.expect.actions
        profile = self.expect.profile or "?"

        def expected(action: str) -> Optional[bool]:
            return None if actions is None else action in actions

        # Inside the prefix: what the profile allows works, the rest is refused.
        wrote = probe.put(mine, body, self.expect.content_type)
        self._inside(WRITE_MINE, mine, PUT, expected(PUT), wrote, profile)
        if wrote.ok or expected(GET) is False:
            read = probe.get(mine)
            ok = self._inside(READ_MINE, mine, GET, expected(GET), read, profile)
            if ok and read.ok and read.body != body:
                self.rows[-1] = Row(self.rows[-1].check, FAIL, "read back different bytes")
        else:
            self.skip(READ_MINE, "nothing was written")
        if wrote.ok or expected(DELETE) is False:
            deleted = probe.delete(mine)
            self._inside(DELETE_MINE, mine, DELETE, expected(DELETE), deleted, profile)
            if wrote.ok and not deleted.ok:
                self.rows[-1].detail += f" (the probe object {mine} is left in the bucket)"
        else:
            self.skip(DELETE_MINE, "nothing was written")
        self._check_pins(probe, mine, body, wrote.ok)

        # Outside the prefix: COS itself must refuse, whatever the profile says.
        other_root = self.other_root(prefix)
        for check, key in (
            (WRITE_OTHER, f"{other_root}cos-sts-check-{run_id}.txt"),
            (WRITE_ROOT, f"cos-sts-check-{run_id}.txt"),
        ):
            self._refused_write(probe, check, key, body, "COS accepted the write")
        other = self.other_key or f"{other_root}cos-sts-check-{run_id}-absent.txt"
        outcome = probe.get(other)
        detail = f"{other}: {outcome.describe()}"
        if outcome.status == 404:
            detail += " - COS looked for it: the keys may read there"
        self.add(READ_OTHER, outcome.status == 403, detail)
        # Keys with dot segments: which reading this bucket has (check_dot_segments.py).
        check_dot_segments(self, probe, prefix, other_root, run_id)

    def _refused_write(
        self, probe: CosProbe, check: str, key: str, body: bytes, accepted: str, **extra: str
    ) -> None:
        """A write COS must refuse (403); if it was accepted, delete it again."""
        outcome = probe.put(key, body, self.expect.content_type, **extra)
        detail = f"{key}{f' with {extra}' if extra else ''}: {outcome.describe()}"
        if outcome.ok:
            detail += f" - {accepted}"
            cleanup = probe.delete(key)
            detail += "; deleted again" if cleanup.ok else f"; LEFT IN THE BUCKET: {key}"
        self.add(check, outcome.status == 403, detail)

    def _check_pins(self, probe: CosProbe, key: str, body: bytes, can_write: bool) -> None:
        """Upload keys pin the object ACL and storage class (policy conditions with
        _if_exist); whether COS enforces those keys on temporary keys is unverified,
        so try: COS must refuse both, on the real bucket."""
        for check, extra in ((PUBLIC_MINE, {"ACL": "public-read"}),
                             (ARCHIVE_MINE, {"StorageClass": "DEEP_ARCHIVE"})):  # fmt: skip
            if not can_write:
                self.skip(check, "the keys cannot write here")
                continue
            self._refused_write(probe, check, key, body, "COS ignored the pin", **extra)

    def _inside(
        self,
        check: str,
        key: str,
        action: str,
        expected: Optional[bool],
        outcome: CosOutcome,
        profile: str,
    ) -> bool:
        verb = action.split(":")[1]
        got = f"{key}: {outcome.describe()}"
        if expected is None:
            return self.add(check, outcome.ok, f"{got} (profile {profile} unknown)")
        if expected:
            return self.add(check, outcome.ok, f"{got} ({profile} allows {verb})")
        return self.add(
            check,
            outcome.status == 403,
            f"{got} ({profile} does not allow {verb}: COS must refuse)",
        )

    def other_root(self, prefix: str) -> str:
        """Another user's root: the template rendered for a user ID that extends
        this one (so `users/alice*` style grants are caught too)."""
        uid = token_claims(self.token).get(self.expect.user_id_claim)
        if self.expect.template and isinstance(uid, (str, int)):
            return self.expect.template.replace("{uid}", f"{uid}-cos-sts-check")
        parent = prefix.rstrip("/").rsplit("/", 1)
        base = parent[0] + "/" if len(parent) == 2 else ""
        return f"{base}{parent[-1]}-cos-sts-check/"


def _error_code(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def shape_problems(data: Mapping[str, Any], now: float) -> list[str]:
    """What is wrong with a 200 body against the documented response."""
    problems = []
    credentials = data.get("credentials")
    if not isinstance(credentials, dict) or not all(
        isinstance(credentials.get(f), str) and credentials.get(f) for f in CREDENTIAL_FIELDS
    ):
        problems.append("credentials must hold tmpSecretId, tmpSecretKey and sessionToken")
    start, expired = data.get("startTime"), data.get("expiredTime")
    if not isinstance(start, int) or not isinstance(expired, int):
        problems.append("startTime and expiredTime must be integers")
    else:
        if start > now + CLOCK_SKEW:
            problems.append("startTime is in the future")
        if expired <= now:
            problems.append("expiredTime has passed")
        if start >= expired:
            problems.append("startTime is not before expiredTime")
        iso = iso8601(expired)
        if data.get("expiration") != iso:
            problems.append(f"expiration {data.get('expiration')!r} is not {iso}")
    for field in ("requestId", "bucket", "region", "prefix", "profile"):
        if not isinstance(data.get(field), str) or not data.get(field):
            problems.append(f"{field} missing")
    if isinstance(data.get("prefix"), str) and not data["prefix"].endswith("/"):
        problems.append("prefix does not end with /")
    return problems


# ------------------------------------------------------------------------- COS


# ---------------------------------------------------------------------- output


def render(url: str, rows: Sequence[Row]) -> str:
    width = max([len(r.check) for r in rows] + [5])
    lines = [f"check-deployment {url}", "", f"  RESULT  {'CHECK'.ljust(width)}  DETAIL"]
    lines += [f"  {r.status:<6}  {r.check.ljust(width)}  {r.detail}" for r in rows]
    failed = sum(r.status == FAIL for r in rows)
    passed = sum(r.status == PASS for r in rows)
    skipped = sum(r.status == SKIP for r in rows)
    lines.append("")
    if failed:
        lines.append(f"DEPLOYMENT CHECK FAILED: {failed} of {passed + failed} checks failed"
                     + (f" ({skipped} skipped)" if skipped else ""))  # fmt: skip
    else:
        lines.append(f"deployment check passed: all {passed} checks"
                     + (f" ({skipped} skipped)" if skipped else ""))  # fmt: skip
    return "\n".join(lines)


def as_json(rows: Sequence[Row]) -> str:
    return json.dumps([asdict(r) for r in rows], indent=2)


SUMMARY = "check what a deployed endpoint grants"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="the endpoint, e.g. https://<id>.<region>.tencentscf.com/sts")
    parser.add_argument("--token", required=True, help="a valid token for a test user")
    parser.add_argument(
        "--origin",
        action="append",
        default=[],
        help="an origin your config lists; must get a CORS grant (repeatable)",
    )
    parser.add_argument(
        "--bad-origin",
        default="https://cos-sts-check.invalid",
        help="an origin that must get no CORS grant",
    )
    parser.add_argument(
        "--profile", help="profile to test (default: one that may write, read and delete)"
    )
    parser.add_argument("--config", help="the config.yml you deployed (default: this project's)")
    parser.add_argument("--other-key", help="another user's object key to try reading")
    parser.add_argument(
        "--cos-endpoint", help="send COS requests here instead, e.g. http://127.0.0.1:9001"
    )
    parser.add_argument("--skip-cos", action="store_true", help="only the HTTP checks")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")


def run(args: argparse.Namespace) -> int:
    """Check a deployed endpoint as an attacker and a user would: 401s, CORS, the
    keys' shape, then (cos-python-sdk-v5) the keys against the bucket: the probe
    object inside the prefix, and COS's own 403 outside it. Exit 1 on any failure."""
    from sts_tools.support.config_view import config_path

    if not 0 < args.timeout <= 300:  # also NaN: requests would raise a traceback
        return fail(f"--timeout must be seconds above 0 and at most 300, not {args.timeout}")
    # The SDK logs every refused request at ERROR; here refusals are expected results.
    logging.getLogger("qcloud_cos").setLevel(logging.CRITICAL)
    config = args.config or config_path(os.environ)
    try:
        expectation = read_expectation(config, args.profile)
    except CheckError as exc:
        return fail(str(exc))
    checker = Checker(
        args.url,
        args.token,
        origins=args.origin,
        bad_origin=args.bad_origin,
        expectation=expectation,
        cos_endpoint=args.cos_endpoint,
        other_key=args.other_key,
        timeout=args.timeout,
        skip_cos=args.skip_cos,
    )
    rows = checker.run()
    print(as_json(rows) if args.json else render(args.url, rows))
    return 1 if any(r.status == "FAIL" for r in rows) else 0
