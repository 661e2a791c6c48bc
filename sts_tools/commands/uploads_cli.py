"""``python -m sts_tools usage`` and ``webhook-listen`` (docs/uploads.md)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import time
from typing import Any

DEFAULT_LISTEN_PORT = 9003


def cmd_usage(args: argparse.Namespace) -> int:
    """Show (or, with --reset, forget) a user's counted usage and open reservations, as
    the function's quota sees them: the config and STS_REDIS_URL / STS_CACHE_KEY of the
    environment (.env is not read)."""
    from sts_core.config_file import load_config
    from sts_core.config_reader import ConfigError
    from sts_core.quota import Quota
    from sts_core.service import redis_link
    from sts_tools.support import config_view

    env = dict(os.environ)
    try:
        config = load_config(config_view.config_path(env), env)
        if config.quota is None:
            raise ConfigError("quota", "is not set in this config: nothing is counted")
        link = redis_link(config, env, 0.0)
    except ConfigError as error:
        print(f"usage: {error}", file=sys.stderr)
        return 2
    quota = Quota(link, config.quota, time.time)
    deadline = time.monotonic() + 5
    try:
        if args.reset:
            quota.reset(args.user_id, deadline)
        usage = quota.usage(args.user_id, deadline)
    except link.Error as error:
        print(f"usage: Redis did not answer ({error.kind})", file=sys.stderr)
        return 1
    print(json.dumps({
        "user": args.user_id, "bytes": usage.bytes, "files": usage.files,
        "reservedBytes": usage.reserved_bytes, "reservedFiles": usage.reserved_files,
        "limitBytes": config.quota.bytes, "limitFiles": config.quota.files,
        "reset": bool(args.reset),
    }))  # fmt: skip
    return 0


def cmd_webhook_listen(args: argparse.Namespace) -> int:
    """Receive the function's webhook on loopback and print each delivery, verified with
    the standardwebhooks library, one JSON line each (duplicates marked). Without
    --secret or STS_WEBHOOK_SECRET a new secret is made and printed."""
    from sts_tools.support.webhook_receiver import WebhookReceiver

    secret = args.secret or os.environ.get("STS_WEBHOOK_SECRET") or ""
    made = not secret
    if made:
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")

    def show(delivery: Any) -> None:
        line = {"webhookId": delivery.webhook_id, "verified": delivery.verified,
                "duplicate": delivery.duplicate, "payload": delivery.payload}  # fmt: skip
        if delivery.error:
            line["error"] = delivery.error
        print(json.dumps(line), flush=True)

    try:
        receiver = WebhookReceiver(secret, args.host, args.port, on_delivery=show).start()
    except ImportError as error:
        print(f"webhook-listen: {error}", file=sys.stderr)
        return 2
    print(f"listening on {receiver.url}; give the function:", flush=True)
    print(f"  STS_WEBHOOK_URL={receiver.url}", flush=True)
    if made:
        print(f"  STS_WEBHOOK_SECRET={secret}   (made for this run)", flush=True)

    from sts_tools.support.loopback import wait_for_interrupt

    try:
        wait_for_interrupt()
    finally:
        receiver.stop()
    return 0


def add_commands(commands: Any) -> None:
    usage = commands.add_parser("usage", help="show or reset a user's counted usage (quota)",
                                description=cmd_usage.__doc__)  # fmt: skip
    usage.set_defaults(run=cmd_usage)
    usage.add_argument("user_id")
    usage.add_argument("--reset", action="store_true", help="forget the usage and reservations")
    listen = commands.add_parser(
        "webhook-listen",
        help="print verified webhook deliveries",
        description=cmd_webhook_listen.__doc__,
    )
    listen.set_defaults(run=cmd_webhook_listen)
    listen.add_argument("--host", default="127.0.0.1")
    listen.add_argument("--port", type=int, default=DEFAULT_LISTEN_PORT)
    listen.add_argument("--secret", help="whsec_... (default: STS_WEBHOOK_SECRET, else a new one)")
