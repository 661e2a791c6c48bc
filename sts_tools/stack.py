"""The local stack: the function as SCF would run it, on a developer's machine,
with announced development defaults for whatever the environment lacks.

- No Tencent keys in the environment: the built-in STS emulator is started and
  the function is pointed at it (the credentials it returns are fake), and a
  local COS beside it accepts exactly what those keys' policies allow.
- No bucket/region: an example bucket in ap-guangzhou.
- No ``STS_JWT_SECRET``: the public development secret (support.dev_token), so
  tokens minted by ``python -m sts_tools token`` are accepted. Never deploy it.

The function is built through its front door: the config parsed from the file
with this environment, changed in memory where a local run needs it (the
playground's origins, tickets pointed at the local COS), then `service_for` and
`sts_core.handler.handle`. The process environment is never changed and no config
file is written.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from sts_core.function_key import has_signing_credentials
from sts_core.sts_client import DEFAULT_ENDPOINT
from sts_tools.emulators.sts import StsEmulator, dev_key_env
from sts_tools.support import config_view
from sts_tools.support.dev_token import DEV_JWT_SECRET, DEV_SESSION_SECRET, mint_token

if TYPE_CHECKING:  # imported when used: the tooling's commands load only what they need
    from sts_core.service import Service
    from sts_tools.emulators.cos.server import CosEmulator
    from sts_tools.emulators.wechat import WxEmulator

EXAMPLE_BUCKET = "examplebucket-1250000000"
EXAMPLE_REGION = "ap-guangzhou"
PROJECT_ROOT = config_view.PROJECT_ROOT


@dataclass
class LocalStack:
    env: dict[str, str]  # what the function gets (the caller's environment is untouched)
    config_path: str
    notes: list[str] = field(default_factory=list)
    sts: Optional[StsEmulator] = None
    cos: Optional[CosEmulator] = None
    wx: Optional[WxEmulator] = None  # the jscode2session stand-in (sign-in with WeChat)
    redis: Any = None  # a throwaway redis-server, when the config's quota needs one

    @property
    def document(self) -> dict[str, Any]:
        return config_view.read_document(self.config_path)

    @property
    def dev_secret(self) -> bool:
        return self.env.get("STS_JWT_SECRET") == DEV_JWT_SECRET

    def service(self, extra_origins: Sequence[str] = ()) -> Service:
        """The function's service for this stack; raises ConfigError as a cold start would.
        `extra_origins` are allowed by CORS for this run only."""
        from sts_core.config_loading import load_config
        from sts_core.service import service_for

        config = load_config(self.config_path, self.env)
        if self.cos is not None:  # tickets send clients to the local COS, not Tencent's
            config = config._replace(cos_endpoint=local_cos_endpoint(self.cos.port))
        if self.wx is not None and not config.login.providers:  # sign-in on the stand-in
            config = config._replace(login=config.login._replace(providers=("wechat", "qq")))
        if extra_origins and "*" not in config.cors_origins:
            added = tuple(o for o in extra_origins if o not in config.cors_origins)
            config = config._replace(cors_origins=config.cors_origins + added)
        return service_for(config, self.env)

    def token(self, user_id: str, ttl: int = 3600, claims: Optional[Mapping[str, Any]] = None,
              issuer: Optional[str] = None, audience: Optional[str] = None) -> str:  # fmt: skip
        """A token this stack's function accepts: signed with its HMAC secret (the
        development one unless STS_JWT_SECRET is set), carrying the iss/aud it checks."""
        document = self.document
        return mint_token(
            user_id,
            self.env.get("STS_JWT_SECRET") or DEV_JWT_SECRET,
            ttl=ttl,
            claims=claims,
            issuer=issuer or config_view.effective(document, self.env, "auth", "issuer"),
            audience=audience or config_view.effective(document, self.env, "auth", "audience"),
        )

    def deliver_events(self, handler: Callable[[Any, Any], Any], time_limit_ms: int) -> None:
        """The local COS's object events to `handler`, as the COS trigger delivers them
        (asynchronously after the COS answer, retried when the function fails)."""
        if self.cos is None:
            return
        from sts_tools.emulators.cos.notifications import Notifier

        bucket, region = configured_bucket(self)
        context = {"time_limit_in_ms": time_limit_ms, "function_name": "cos-sts-local"}
        self.cos.notify = Notifier(lambda event: handler(event, context), bucket, region)

    def stop(self) -> None:
        if self.wx is not None:
            self.wx.stop()
            self.wx = None
        if self.cos is not None:
            self.cos.notify.stop()
            self.cos.stop()
            self.cos = None
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        if self.sts is not None:
            self.sts.stop()
            self.sts = None


def prepare(
    base: Optional[Mapping[str, str]] = None,
    *,
    start_emulator: bool = True,
    cos_port: Optional[int] = None,
    cos_log: Optional[Callable[[str], None]] = None,
) -> LocalStack:
    """The stack for `base` (default: this process's environment, copied)."""
    env = dict(os.environ if base is None else base)
    stack = LocalStack(env, config_view.config_path(env))
    document = stack.document
    for path, variable, example in (("bucket", "COS_BUCKET", EXAMPLE_BUCKET),
                                    ("region", "COS_REGION", EXAMPLE_REGION)):  # fmt: skip
        if not config_view.effective(document, env, path):
            env[variable] = example
            stack.notes.append(f"{path}: {example} (example; set {variable})")
    if not env.get("STS_JWT_SECRET") and not config_view.uses_key_set(document, env):
        env["STS_JWT_SECRET"] = DEV_JWT_SECRET
        stack.notes.append("JWT secret: the public development secret (set STS_JWT_SECRET)")
    if document.get("quota") and not env.get("STS_REDIS_URL"):
        start_local_redis(stack)
    if has_signing_credentials(env):
        endpoint = config_view.effective(document, env, "sts", "endpoint") or DEFAULT_ENDPOINT
        stack.notes.append(f"STS: real Tencent STS at {endpoint} (keys from the environment)")
    elif start_emulator:
        stack.sts = StsEmulator().start()
        env.update(dev_key_env(stack.sts.endpoint))
        env.pop("STS_ROLE_ARN", None)
        stack.notes.append(
            f"STS: built-in emulator at {stack.sts.endpoint} - no Tencent keys in the "
            "environment, so the credentials returned are FAKE"
        )
        if not env.get("STS_WX_APPID"):
            start_wx_standin(stack)
        if cos_port is not None:
            try:
                stack.cos = start_local_cos(stack.sts, configured_bucket(stack), cos_port, cos_log)
            except BaseException:
                stack.stop()
                raise
            bucket, region = configured_bucket(stack)
            stack.notes.append(
                f"COS: local COS at {stack.cos.endpoint}, bucket {bucket} ({region}) - checks "
                "signatures and enforces each key's policy; why it refused a request is in "
                "the error's Message (local only) and in the log below"
            )
    return stack


def start_wx_standin(stack: LocalStack) -> None:
    """The local jscode2session, and the variables that point sign-in at it (WeChat
    and QQ: one stand-in serves both), with a development session secret."""
    from sts_tools.emulators import wechat

    stack.wx = wechat.WxEmulator().start()
    stack.env.update({
        "STS_WX_APPID": wechat.DEV_WX_APPID, "STS_WX_SECRET": wechat.DEV_WX_SECRET,
        "STS_QQ_APPID": wechat.DEV_QQ_APPID, "STS_QQ_SECRET": wechat.DEV_QQ_SECRET,
        "STS_WX_ENDPOINT": stack.wx.endpoint, "STS_QQ_ENDPOINT": stack.wx.endpoint,
    })  # fmt: skip
    stack.env.setdefault("STS_SESSION_SECRET", DEV_SESSION_SECRET)
    stack.notes.append(
        f"sign-in with WeChat/QQ: local jscode2session stand-in at {stack.wx.endpoint} "
        "(codes from `python -m sts_tools wx-code <openid>`)"
    )


def start_local_redis(stack: LocalStack) -> None:
    """A quota keeps usage in Redis: a throwaway local redis-server for this run, or
    SystemExit saying what to install (or which variable to set instead)."""
    from sts_tools.support.redis_server import INSTALL_HINT, RedisServer

    try:
        stack.redis = RedisServer().start()
    except FileNotFoundError:
        raise SystemExit(
            f"the config sets a quota, which keeps usage in Redis: install redis-server "
            f"({INSTALL_HINT}) or set STS_REDIS_URL (and STS_CACHE_KEY)"
        ) from None
    stack.env["STS_REDIS_URL"] = stack.redis.url
    stack.env.setdefault("STS_CACHE_KEY", LOCAL_CACHE_KEY)
    stack.notes.append(f"Redis: a local redis-server at {stack.redis.url} for the quota "
                       "(nothing persisted; set STS_REDIS_URL to use another)")  # fmt: skip


# Public, for local runs only (like the development JWT secret): never deploy it.
LOCAL_CACHE_KEY = "local-development-cache-key-0123456789abcdef"


def configured_bucket(stack: LocalStack) -> tuple[str, str]:
    """(bucket, region) as the function will see them: environment over file."""
    document = stack.document
    bucket = config_view.effective(document, stack.env, "bucket") or EXAMPLE_BUCKET
    region = config_view.effective(document, stack.env, "region") or EXAMPLE_REGION
    return str(bucket), str(region)


def start_local_cos(
    sts: StsEmulator,
    where: tuple[str, str],
    port: int,
    log: Optional[Callable[[str], None]] = None,
) -> CosEmulator:
    """The local COS for (bucket, region), trusting what `sts` issued."""
    from sts_tools.emulators.cos.server import CosEmulator

    bucket, region = where
    return CosEmulator(
        sts.keyring, bucket=bucket, region=region, port=port, log=log, log_format="text"
    ).start()


def local_cos_endpoint(port: int) -> str:
    """The local COS as a ticket's URL names it: virtual-host style under *.localhost
    (browsers and curl resolve it to loopback; the signed host matches what COS sees)."""
    return f"http://{{bucket}}.cos.{{region}}.localhost:{port}"


def python_command() -> str:
    """How to call this interpreter in printed instructions (short when it is .venv's)."""
    here = os.getcwd()
    executable = sys.executable
    if executable.startswith(here + os.sep):
        return os.path.relpath(executable, here)
    return executable
