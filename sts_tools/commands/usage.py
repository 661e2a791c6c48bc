"""``python -m sts_tools usage USER [--reset]``: a user's counted usage (docs/uploads.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

SUMMARY = "show or reset a user's counted usage (quota)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("user_id")
    parser.add_argument("--reset", action="store_true", help="forget the usage and reservations")


def run(args: argparse.Namespace) -> int:
    """Show (or, with --reset, forget) a user's counted usage and open reservations, as
    the function's quota sees them: the config and STS_REDIS_URL / STS_CACHE_KEY of the
    environment (.env is not read)."""
    from sts_core.config_loading import load_config
    from sts_core.config_section import ConfigError
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
