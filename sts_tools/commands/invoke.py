"""``invoke``: run the handler once on an event file, as the SCF console's test button does."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from sts_tools import stack as local
from sts_tools.commands.command_line import fail, parse_json, read_file

SUMMARY = "run the handler once on an event file"
PLACEHOLDER = "REPLACE_WITH_A_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event")
    parser.add_argument("--user", default="alice", help="user for the development token")
    parser.add_argument("--context", help="the SCF context as JSON (default: a local one)")


def run(args: argparse.Namespace) -> int:
    """Run the handler once on EVENT (a JSON file, e.g. events/apigw-post.json), as
    the SCF console's Test button does, and print the response.
    REPLACE_WITH_A_TOKEN is replaced by a development token."""
    from sts_core.config_section import ConfigError
    from sts_core.handler import handle

    try:
        text = read_file(args.event, "the event file").decode("utf-8", "replace")
        parse_json(text, f"the event file {args.event}")
        context = parse_json(args.context, "--context") if args.context else None
        if context is not None and not isinstance(context, dict):
            raise ValueError("--context must be a JSON object, e.g. '{\"time_limit_in_ms\": 3000}'")
    except ValueError as exc:
        return fail(str(exc))
    prepared = local.prepare()
    try:
        for note in prepared.notes:
            print(f"note: {note}", file=sys.stderr)
        if PLACEHOLDER in text:
            if not prepared.dev_secret:
                return fail(f"replace {PLACEHOLDER} in {args.event} with a real token")
            text = text.replace(PLACEHOLDER, prepared.token(args.user))
            print(
                f"note: {PLACEHOLDER} replaced by a development token for {args.user!r}",
                file=sys.stderr,
            )
        try:
            service: Any = prepared.service()
        except ConfigError as error:  # the function fails closed: show what it answers
            service = error
        context = context if context is not None else local_context_for_invoke()
        response = handle(service, json.loads(text), context)
        print(json.dumps(response, indent=2, ensure_ascii=False))
        if isinstance(response, dict) and isinstance(response.get("body"), str):
            with contextlib.suppress(ValueError):
                print(json.dumps(json.loads(response["body"]), indent=2, ensure_ascii=False))
        status = response.get("statusCode", 500) if isinstance(response, dict) else 500
        return 0 if status < 400 else 1
    finally:
        prepared.stop()


def local_context_for_invoke() -> dict[str, Any]:
    from sts_tools.emulators.gateway import local_context

    return local_context(3000)
