"""``python -m sts_tools webhook-listen``: print the function's verified webhook
deliveries (docs/uploads.md)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
from typing import Any

SUMMARY = "print verified webhook deliveries"
DEFAULT_LISTEN_PORT = 9003


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_LISTEN_PORT)
    parser.add_argument("--secret", help="whsec_... (default: STS_WEBHOOK_SECRET, else a new one)")


def run(args: argparse.Namespace) -> int:
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
    lines = [f"listening on {receiver.url}; give the function:",
             f"  STS_WEBHOOK_URL={receiver.url}"]  # fmt: skip
    if made:
        lines.append(f"  STS_WEBHOOK_SECRET={secret}   (made for this run)")

    from sts_tools.support.loopback import wait_for_interrupt

    try:
        # The handlers first, then the banner (as serve): Ctrl-C works once it shows.
        wait_for_interrupt(ready="\n".join(lines))
    finally:
        receiver.stop()
    return 0
