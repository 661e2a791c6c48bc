"""The deployment commands of ``python -m sts_tools`` (registered by cli.py).

deploy            preflight, make package, scf deploy (``make deploy``)
cam-policy        the CAM policies and trust policies to paste (``make cam-policy``)
console-event     a test event with a fresh token, for the SCF console's test box
check-deployment  what a deployed endpoint grants, checked as an attacker and a user would
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any


def _fail(message: str, status: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def cmd_deploy(args: argparse.Namespace) -> int:
    """Check what the deployment needs (fails naming the variable), build the package
    (make package, JWKS=1 when tokens come from a key set), then run
    `scf deploy --stage STAGE --noValidation`. --dry-run stops after printing the
    commands."""
    from sts_tools.commands.deploy import run_deploy

    return run_deploy(os.environ, args.stage, args.dry_run)


def cmd_cam_policy(args: argparse.Namespace) -> int:
    """Print the CAM policies and trust policies to paste when creating the roles (or
    the sub-account) the function signs STS calls with: least privilege, derived from
    config.yml and the deployment's environment (.env included)."""
    from sts_core.config_loading import load_config
    from sts_core.config_section import ConfigError
    from sts_tools.commands import cam_policy
    from sts_tools.commands.serverless_cli import dotenv_environment
    from sts_tools.support import config_view

    env = dotenv_environment(config_view.PROJECT_ROOT, os.environ, args.stage)
    if not env.get("STS_JWT_SECRET") and not env.get("STS_JWKS_URL"):
        # The policies do not depend on how tokens are checked: any valid secret will do.
        env["STS_JWT_SECRET"] = "cam-policy-placeholder-secret-not-used-for-anything"
    try:
        config = load_config(config_view.config_path(env), env)
    except ConfigError as exc:
        where = exc.key in ("bucket", "region", "COS_BUCKET", "COS_REGION")
        hint = " (set COS_BUCKET and COS_REGION, e.g. in .env)" if where else ""
        return _fail(f"configuration: {exc}{hint}")
    docs = cam_policy.documents(config, env)
    if args.json:
        print(json.dumps(docs, indent=2))
    else:
        print(cam_policy.render(docs, env), end="")
    return 0


def cmd_console_event(args: argparse.Namespace) -> int:
    """Print a trigger event for the SCF console's test box: a POST to the configured
    path carrying a freshly minted, short-lived token signed with STS_JWT_SECRET (the
    deployed secret), or the token given with --token."""
    from sts_tools.commands.console_event import ConsoleEventError, console_event
    from sts_tools.support.events import API_GATEWAY, FUNCTION_URL

    try:
        event, notes = console_event(
            os.environ,
            user=args.user,
            profile=args.profile,
            ttl=args.ttl,
            kind=FUNCTION_URL if args.function_url else API_GATEWAY,
            token=args.token,
            allow_local=args.local,
            origin=args.origin,
        )
    except ConsoleEventError as exc:
        return _fail(str(exc))
    print(json.dumps(event, indent=2, ensure_ascii=False))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_check_deployment(args: argparse.Namespace) -> int:
    """Check a deployed endpoint as an attacker and a user would: 401s, CORS, the
    keys' shape, then (cos-python-sdk-v5) the keys against the bucket: the probe
    object inside the prefix, and COS's own 403 outside it. Exit 1 on any failure."""
    from sts_tools.commands.check_deployment import (
        Checker,
        CheckError,
        as_json,
        read_expectation,
        render,
    )
    from sts_tools.support.config_view import config_path

    if not 0 < args.timeout <= 300:  # also NaN: requests would raise a traceback
        return _fail(f"--timeout must be seconds above 0 and at most 300, not {args.timeout}")
    # The SDK logs every refused request at ERROR; here refusals are expected results.
    logging.getLogger("qcloud_cos").setLevel(logging.CRITICAL)
    config = args.config or config_path(os.environ)
    try:
        expectation = read_expectation(config, args.profile)
    except CheckError as exc:
        return _fail(str(exc))
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


def add_commands(commands: Any) -> None:
    """Register the commands on cli.py's sub-parsers."""

    def command(name: str, run: Any, summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=run.__doc__)
        sub.set_defaults(run=run)
        return sub

    from . import package

    build = commands.add_parser(
        "package", help="build build/scf and build/cos-sts-scf.zip (make package)",
        description=package.__doc__,
    )  # fmt: skip
    package.add_arguments(build)
    build.set_defaults(run=package.run)

    deploy = command("deploy", cmd_deploy, "preflight, make package, scf deploy (make deploy)")
    deploy.add_argument(
        "--stage", help="the stage to deploy (default: $STAGE, else serverless.yml's dev)"
    )
    deploy.add_argument(
        "--dry-run", action="store_true", help="check and print the commands; run nothing"
    )

    cam = command("cam-policy", cmd_cam_policy, "the CAM policies to paste (make cam-policy)")
    cam.add_argument("--stage", help="also read .env.<stage>")
    cam.add_argument("--json", action="store_true", help="one JSON object: name -> document")

    event = command(
        "console-event", cmd_console_event, "a test event for the SCF console, with a fresh token"
    )
    event.add_argument("--user", default="alice", help="the token's user ID (default alice)")
    event.add_argument("--profile", help="the profile to ask for (default: the config's)")
    event.add_argument("--ttl", type=int, default=900, help="token lifetime, s (default 900)")
    event.add_argument("--token", help="use this token (e.g. from your identity provider)")
    event.add_argument(
        "--function-url", action="store_true", help="a Function URL event instead of API Gateway"
    )
    event.add_argument("--origin", help="add an Origin header (to see the CORS headers)")
    event.add_argument(
        "--local",
        action="store_true",
        help="allow the public development secret (for a local run, never a deployment)",
    )

    check = command(
        "check-deployment", cmd_check_deployment, "check what a deployed endpoint grants"
    )
    check.add_argument("url", help="the endpoint, e.g. https://<id>.<region>.tencentscf.com/sts")
    check.add_argument("--token", required=True, help="a valid token for a test user")
    check.add_argument(
        "--origin",
        action="append",
        default=[],
        help="an origin your config lists; must get a CORS grant (repeatable)",
    )
    check.add_argument(
        "--bad-origin",
        default="https://cos-sts-check.invalid",
        help="an origin that must get no CORS grant",
    )
    check.add_argument(
        "--profile", help="profile to test (default: one that may write, read and delete)"
    )
    check.add_argument("--config", help="the config.yml you deployed (default: this project's)")
    check.add_argument("--other-key", help="another user's object key to try reading")
    check.add_argument(
        "--cos-endpoint", help="send COS requests here instead, e.g. http://127.0.0.1:9001"
    )
    check.add_argument("--skip-cos", action="store_true", help="only the HTTP checks")
    check.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    check.add_argument("--json", action="store_true", help="print the rows as JSON")
