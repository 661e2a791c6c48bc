"""``explain``: the dry run, the policy a request would send to STS and what it allows
(sts_tools/explain.py does the work)."""

from __future__ import annotations

import argparse
import sys

from sts_tools import stack as local
from sts_tools.commands.command_line import fail, pairs, parse_claims, read_file

SUMMARY = "dry run: the policy a request would get"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--token", help="a caller token, verified as the function would")
    who.add_argument("--user", help="a user ID, skipping the token check")
    parser.add_argument("--body", help="the request body (JSON), default empty")
    parser.add_argument("--body-file", help="read the request body from a file")
    parser.add_argument("--source-ip", help="the caller's address, for profiles with bind_ip")
    parser.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --user: a token claim a root template names, e.g. tenant=acme (repeatable)",
    )
    parser.add_argument(
        "--check",
        nargs=2,
        action="append",
        metavar=("ACTION", "KEY"),
        help="e.g. --check name/cos:PutObject users/alice/a.jpg (repeatable); for listings "
        "(GetBucket, ListMultipartUploads) KEY is the prefix parameter; copies: "
        "PutObjectCopy SOURCE>DESTINATION (or UploadPartCopy); DeleteMultipleObjects K1,K2",
    )
    parser.add_argument(
        "--value",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a condition value of the checked requests, e.g. cos:content-type=image/jpeg or "
        "cos:content-length=2048 (default: what the SDKs send; repeatable)",
    )
    parser.add_argument(
        "--list-resource",
        choices=("prefix", "bucket"),
        default="prefix",
        help="which resource COS checks for listings (docs/tencent/cos-api.md §5): R(prefix), "
        "the documented reading (default), or the bucket itself",
    )


def run(args: argparse.Namespace) -> int:
    """Print the exact policy that would be sent to STS for a caller and body, and
    whether each --check pair would be allowed. Never calls STS. Exit status 1 if
    a check is denied or the request would be refused."""
    from sts_core.config_section import ConfigError
    from sts_tools.explain import explain

    prepared = local.prepare(start_emulator=False)
    for note in prepared.notes:
        print(f"note: {note}", file=sys.stderr)
    try:
        service = prepared.service()
    except ConfigError as exc:
        return fail(f"configuration: {exc}")
    try:
        values = pairs(args.value, "--value")
        claims = parse_claims(args.claim)
        body = args.body.encode() if args.body is not None else b""
        if args.body_file:
            body = read_file(args.body_file, "--body-file")
    except ValueError as exc:
        return fail(str(exc))
    report, status = explain(
        service.config,
        service.verifier,  # the HMAC secret or the key set
        token=args.token,
        user=args.user,
        body=body,
        checks=args.check or (),
        source_ip=args.source_ip,
        values=values,
        list_resource=args.list_resource,
        claims=claims,
    )
    print(report)
    return status
