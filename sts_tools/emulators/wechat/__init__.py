"""The local jscode2session (docs/tencent/wechat-login.md), split like the local STS:
what it holds (`backend`), how it reads and answers a request (`protocol`), the
HTTP front (`server`). One stand-in serves WeChat and QQ: the same API shape."""

from sts_tools.emulators.wechat.backend import (
    DEV_QQ_APPID,
    DEV_QQ_SECRET,
    DEV_WX_APPID,
    DEV_WX_SECRET,
    WxBackend,
    WxFault,
    make_code,
)
from sts_tools.emulators.wechat.server import WxEmulator

__all__ = [
    "DEV_QQ_APPID", "DEV_QQ_SECRET", "DEV_WX_APPID", "DEV_WX_SECRET", "WxBackend", "WxEmulator",
    "WxFault", "make_code",
]  # fmt: skip
