"""``token``: a development token, signed as the local function checks it."""

from __future__ import annotations

import argparse
import os

from sts_tools import stack as local
from sts_tools.commands.command_line import fail, parse_claims
from sts_tools.support.config_view import config_path
from sts_tools.support.dev_token import DEV_JWT_SECRET

SUMMARY = "mint a development token"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("user_id")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    parser.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra claim; VALUE is JSON when it parses (repeatable)",
    )
    parser.add_argument("--iss", help="issuer (default: STS_JWT_ISSUER or auth.issuer)")
    parser.add_argument("--aud", help="audience (default: STS_JWT_AUDIENCE or auth.audience)")
    parser.add_argument(
        "--allow-real-secret",
        action="store_true",
        help="sign with STS_JWT_SECRET even though it is not the dev secret",
    )


def run(args: argparse.Namespace) -> int:
    """Print an HS256 token for USER_ID signed with the development secret (or,
    with --allow-real-secret, with STS_JWT_SECRET)."""
    env = os.environ
    secret = env.get("STS_JWT_SECRET")
    if secret and secret != DEV_JWT_SECRET and not args.allow_real_secret:
        return fail(
            "STS_JWT_SECRET is set, so this would sign with what may be a production "
            "secret; unset it for a development token, or pass --allow-real-secret"
        )
    try:
        claims = parse_claims(args.claim)
    except ValueError as exc:
        return fail(str(exc))
    stack = local.LocalStack(dict(env), config_path(env))
    print(
        stack.token(args.user_id, ttl=args.ttl, claims=claims, issuer=args.iss, audience=args.aud)
    )
    return 0
