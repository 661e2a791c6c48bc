"""``wx-code``: a code for the local jscode2session stand-in, as wx.login gives a mini
program (the developer's side of sign-in with WeChat)."""

from __future__ import annotations

import argparse

SUMMARY = "a one-time code for the local WeChat sign-in stand-in"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("openid")
    parser.add_argument("--unionid", help="also send this unionid")
    parser.add_argument("--errcode", type=int, help="answer with this WeChat errcode instead")


def run(args: argparse.Namespace) -> int:
    """Print a one-time code the local jscode2session stand-in (make run) accepts for
    OPENID, as wx.login would give a mini program; --errcode N makes the stand-in
    answer with that WeChat errcode instead (40029, 45011, 40226, -1...)."""
    from sts_tools.emulators.wechat import make_code

    print(make_code(args.openid, args.unionid, args.errcode))
    return 0
