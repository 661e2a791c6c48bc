"""``python -m sts_tools``: development and operations commands (never deployed).

One module per command, each with the same shape: `SUMMARY`, `add_arguments(parser)`
and `run(args) -> int` (its docstring is the command's description). This module
only lists them, in the order `--help` shows them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Optional

from sts_tools.commands import (
    cam_policy,
    check_deployment,
    console_event,
    deploy,
    explain,
    invoke,
    package,
    revoke,
    serve,
    token,
    usage,
    webhook_listen,
    wx_code,
)

COMMANDS = {
    "token": token,  # a development token
    "explain": explain,  # the dry run
    "invoke": invoke,  # the handler once, on an event file
    "serve": serve,  # the local endpoint (make run)
    "package": package,  # build/scf and the zip (make package)
    "deploy": deploy,  # preflight, package, scf deploy (make deploy)
    "cam-policy": cam_policy,  # the CAM policies to paste (make cam-policy)
    "console-event": console_event,  # a test event for the SCF console
    "check-deployment": check_deployment,  # what a deployed endpoint grants
    "wx-code": wx_code,  # a code for the local WeChat sign-in
    "revoke": revoke,  # stop a user
    "usage": usage,  # a user's counted usage (quota)
    "webhook-listen": webhook_listen,  # print verified webhook deliveries
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m sts_tools",
        description="Development and operations commands for the COS credential function.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(
            name, help=command.SUMMARY, description=command.run.__doc__ or command.__doc__
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))
