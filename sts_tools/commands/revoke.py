"""``revoke``: stop a user, log them out everywhere, or undo it (the operator's side of
sts_core/revocation.py)."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Mapping
from typing import Any, Optional

from sts_core.cam_resources import Location
from sts_tools.commands.command_line import fail
from sts_tools.support import config_view

PRINCIPAL_ANYONE = "qcs::cam::anyone:anyone"  # UNVERIFIED: docs/tencent/wechat-login.md §4


def deny_statement(document: Mapping[str, Any], env: Mapping[str, str], user_id: str) -> dict:
    """A bucket-policy statement refusing every request in the user's root, for keys
    issued before the revocation (they live at most their duration)."""
    bucket = str(config_view.effective(document, env, "bucket") or "<bucket-APPID>")
    region = str(config_view.effective(document, env, "region") or "<region>")
    template = str(config_view.section(document, "prefix").get("template") or "users/{uid}/")
    root = template.replace("{uid}", user_id)
    return {
        "effect": "deny",
        "principal": {"qcs": [PRINCIPAL_ANYONE]},
        "action": ["name/cos:*"],
        "resource": [Location(bucket, region).resource(root + "*")],
    }


def _cut_off(args: argparse.Namespace, now: int) -> tuple[int, str]:
    """(T, what it means) for the chosen change."""
    from sts_core.revocation import REVOKED

    if args.before is not None:
        return args.before, f"tokens issued before {args.before} are refused"
    if args.logout or args.undo:
        verb = "un-revoked" if args.undo else "logged out everywhere"
        return now, f"{verb}: tokens issued before now ({now}) are refused, new sign-ins work"
    return REVOKED, "revoked: every request and sign-in is refused"


SUMMARY = "stop a user now (Redis) or print the config change"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("user_id")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--logout", action="store_true", help="refuse tokens issued before now")
    how.add_argument("--before", type=int, metavar="UNIX_TIME", help="refuse tokens issued before")
    how.add_argument("--undo", action="store_true", help="un-revoke (older tokens stay refused)")
    how.add_argument("--forget", action="store_true", help="remove the user's entry altogether")


def run(args: argparse.Namespace) -> int:
    """Stop USER_ID getting keys or tickets: written to Redis (STS_REDIS_URL,
    STS_CACHE_KEY as the function has them), in force on every instance within
    revocation.refresh seconds (30 by default); without Redis, prints the config change
    to deploy instead. Also prints the bucket-policy statement that stops keys already
    issued. --logout refuses only tokens issued before now (log out everywhere);
    --undo lets the user sign in again (older tokens stay refused); --forget removes
    the entry altogether."""
    env = os.environ
    document = config_view.read_document(config_view.config_path(env))
    now = int(time.time())
    when, meaning = _cut_off(args, now)
    url = env.get("STS_REDIS_URL")
    if url and len((env.get("STS_CACHE_KEY") or "").encode("utf-8")) < 32:
        # The entry is named with an HMAC under this key: another key names nobody.
        return fail("set STS_CACHE_KEY to the function's own (it names users in Redis)")
    if url:
        problem = _write(url, env.get("STS_CACHE_KEY") or "", document, args.user_id,
                         None if args.forget else when)  # fmt: skip
        if problem:
            return fail(problem)
        refresh = config_view.section(document, "revocation").get("refresh") or 30
        done = "entry removed" if args.forget else meaning
        print(f"{args.user_id}: {done} (Redis; in force within {refresh} s)")
    else:
        print(f"no STS_REDIS_URL: deploy this configuration change ({meaning}):")
        if when >= _revoked() and not args.forget:
            print(f"  revocation:\n    users: [{json.dumps(args.user_id)}]")
        elif args.forget:
            print(f"  remove {args.user_id!r} from revocation.users and revocation.not_before")
        else:
            print(f"  revocation:\n    not_before:\n      {json.dumps(args.user_id)}: {when}")
    if not args.undo and not args.forget:
        statement = deny_statement(document, env, args.user_id)
        print("\nkeys already issued live until they expire; to stop them now, add this "
              "statement to the bucket policy (and remove it once they have expired):")  # fmt: skip
        print(json.dumps(statement, indent=2))
    return 0


def _revoked() -> int:
    from sts_core.revocation import REVOKED

    return REVOKED


def _write(url: str, secret: str, document: Mapping[str, Any], user_id: str,
           when: Optional[int]) -> Optional[str]:  # fmt: skip
    """HSET (or HDEL) the user's entry; a problem to print, or None."""
    from sts_core.redis_link import RedisLink
    from sts_core.revocation import field_name, hash_key

    prefix = config_view.section(document, "redis").get("key_prefix")
    link = RedisLink(url, secret.encode("utf-8"), timeout=5.0, reserve=0,
                     key_prefix="cos-sts:" if prefix is None else str(prefix))  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        key, field = hash_key(link), field_name(link, user_id)
        if when is None:
            link.command(deadline, "HDEL", key, field)
        else:
            link.command(deadline, "HSET", key, field, str(when))
    except link.Error as error:
        return f"Redis did not take the change ({error.kind})"
    finally:
        link.close()
    return None
