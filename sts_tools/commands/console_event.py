"""``python -m sts_tools console-event``: a test event for the SCF console.

The console's Test button sends a JSON event to the deployed function exactly as
a trigger would. This builds an API Gateway event (reference docs/tencent/scf.md
§2, the shape of events/apigw-post.json) or a Function URL event (§4) carrying
a freshly minted, short-lived token signed with the *deployed* secret
(``STS_JWT_SECRET`` in this shell), ready to paste into the test box.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any, Optional

from sts_tools.commands.command_line import fail
from sts_tools.support import config_view
from sts_tools.support.dev_token import DEV_JWT_SECRET, mint_token
from sts_tools.support.trigger_events import API_GATEWAY, credential_request

DEFAULT_TTL = 900  # long enough to paste and press Test, short enough to leak little


class ConsoleEventError(ValueError):
    pass


def signing_secret(env: Mapping[str, str], allow_local: bool) -> str:
    """The deployed HMAC secret from the environment; the public development
    secret only when the caller says the target is local."""
    secret = env.get("STS_JWT_SECRET") or ""
    if not secret:
        if allow_local:
            return DEV_JWT_SECRET
        raise ConsoleEventError(
            "STS_JWT_SECRET is not set: export the deployed function's secret (the value "
            "you deployed with), or pass --token with a token from your identity provider"
        )
    if secret == DEV_JWT_SECRET and not allow_local:
        raise ConsoleEventError(
            "STS_JWT_SECRET is the public development secret; a deployed function must not "
            "accept it. Pass --local to build an event for a local run"
        )
    return secret


def build_event(
    token: str,
    body: Mapping[str, Any],
    *,
    kind: str = API_GATEWAY,
    path: str = "/sts",
    origin: Optional[str] = None,
    source_ip: str = "203.0.113.10",
) -> dict[str, Any]:
    headers = {"accept": "application/json"}
    if origin:
        headers["origin"] = origin
    if kind == API_GATEWAY:
        headers["host"] = "service-console-1250000000.gz.apigw.tencentcs.com"
    event = credential_request(
        token, dict(body), kind=kind, path=path, headers=headers, source_ip=source_ip
    )
    if kind == API_GATEWAY:
        event["requestContext"]["serviceId"] = "service-console"
        event["requestContext"]["requestId"] = f"console-{uuid.uuid4()}"
    else:
        event["headers"]["content-length"] = str(len(event["body"].encode("utf-8")))
    return event


def console_event(
    env: Mapping[str, str],
    *,
    user: str = "alice",
    profile: Optional[str] = None,
    ttl: int = DEFAULT_TTL,
    kind: str = API_GATEWAY,
    token: Optional[str] = None,
    allow_local: bool = False,
    origin: Optional[str] = None,
) -> tuple[dict[str, Any], list[str]]:
    """(event, notes for the terminal)."""
    document = config_view.read_document(config_view.config_path(env))
    path = document.get("path") if isinstance(document, dict) else None
    path = path if isinstance(path, str) and path != "*" else "/sts"
    notes: list[str] = []
    owner = "<the token's user>"
    if token is None:
        if config_view.uses_key_set(document, env):
            raise ConsoleEventError(
                "tokens come from your identity provider's key set (STS_JWKS_URL): this "
                "cannot sign one; pass --token with a token the provider issued"
            )
        if not 60 <= ttl <= 86400:
            raise ConsoleEventError("--ttl must be between 60 and 86400 seconds")
        secret = signing_secret(env, allow_local)
        token = mint_token(
            user, secret, ttl=ttl,
            issuer=config_view.effective(document, env, "auth", "issuer"),
            audience=config_view.effective(document, env, "auth", "audience"),
        )  # fmt: skip
        owner = user
        expires = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + ttl))
        notes.append(f"token for user {user!r}, valid until {expires} ({ttl} s)")
    body: dict[str, Any] = {"profile": profile} if profile else {}
    event = build_event(token, body, kind=kind, path=path, origin=origin)
    notes += [
        "SCF console: Functions > your function > Function code (or Test) > test event: "
        "paste the JSON printed above, then Test",
        f"expect statusCode 200 and, in body, keys for the prefix of {owner} "
        "(users/<uid>/ by default); the function's log shows one JSON line per request",
    ]
    return event, notes


SUMMARY = "a test event for the SCF console, with a fresh token"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", default="alice", help="the token's user ID (default alice)")
    parser.add_argument("--profile", help="the profile to ask for (default: the config's)")
    parser.add_argument("--ttl", type=int, default=900, help="token lifetime, s (default 900)")
    parser.add_argument("--token", help="use this token (e.g. from your identity provider)")
    parser.add_argument(
        "--function-url", action="store_true", help="a Function URL event instead of API Gateway"
    )
    parser.add_argument("--origin", help="add an Origin header (to see the CORS headers)")
    parser.add_argument("--stage", help="also read .env.<stage>")
    parser.add_argument(
        "--local",
        action="store_true",
        help="allow the public development secret (for a local run, never a deployment)",
    )


def run(args: argparse.Namespace) -> int:
    """Print a trigger event for the SCF console's test box: a POST to the configured
    path carrying a freshly minted, short-lived token signed with STS_JWT_SECRET (the
    deployed secret), or the token given with --token."""
    from sts_tools.commands.serverless_cli import dotenv_environment
    from sts_tools.support.trigger_events import API_GATEWAY, FUNCTION_URL

    # The deployed secret where make deploy and make cam-policy find it: .env too.
    env = dotenv_environment(config_view.PROJECT_ROOT, os.environ, args.stage)

    try:
        event, notes = console_event(
            env,
            user=args.user,
            profile=args.profile,
            ttl=args.ttl,
            kind=FUNCTION_URL if args.function_url else API_GATEWAY,
            token=args.token,
            allow_local=args.local,
            origin=args.origin,
        )
    except ConsoleEventError as exc:
        return fail(str(exc))
    print(json.dumps(event, indent=2, ensure_ascii=False))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
