"""Sign-in with WeChat in tests: the environment and config that turn it on against
the local jscode2session stand-in, and sign-in events for either trigger."""

from __future__ import annotations

import copy
from typing import Any, Optional

from sts_core.config_validation import parse_config
from sts_core.service import Service, service_for
from sts_tools.emulators.wechat import DEV_QQ_APPID, DEV_QQ_SECRET, DEV_WX_APPID, DEV_WX_SECRET
from tests.support import event, make_env, shipped_config

SESSION_SECRET = "session-SECRET-for-tests-0123456789abcdefghij"
SECRETS = (DEV_WX_SECRET, DEV_QQ_SECRET, SESSION_SECRET)  # never in a log line or a body


def login_env(sts_endpoint: str, wx_endpoint: str, **overrides: Optional[str]) -> dict[str, str]:
    env = make_env(
        sts_endpoint, STS_WX_APPID=DEV_WX_APPID, STS_WX_SECRET=DEV_WX_SECRET,
        STS_QQ_APPID=DEV_QQ_APPID, STS_QQ_SECRET=DEV_QQ_SECRET, STS_WX_ENDPOINT=wx_endpoint,
        STS_QQ_ENDPOINT=wx_endpoint, STS_SESSION_SECRET=SESSION_SECRET,
    )  # fmt: skip
    env.update(overrides)  # type: ignore[arg-type]
    return {k: v for k, v in env.items() if v is not None}


def login_document(**login: Any) -> dict[str, Any]:
    document = copy.deepcopy(shipped_config())
    document["login"] = {**document.get("login", {}), "providers": ["wechat", "qq"], **login}
    document.setdefault("cache", {})["enabled"] = False
    return document


def login_service(env: dict[str, str], document: Optional[dict[str, Any]] = None) -> Service:
    return service_for(parse_config(document or login_document(), env), env)


def sign_in_event(
    code: Any,
    *,
    sample: str = "apigw_official.json",
    path: str = "/sts/login/wechat",
    address: Optional[str] = None,
    **kwargs: Any,
) -> dict[str, Any]:
    body = {"code": code} if not isinstance(code, (str, bytes)) or code != "" else ""
    result = event(None, body, sample=sample, path=path, **kwargs)
    if address is not None:
        if "requestContext" in result:
            result["requestContext"]["sourceIp"] = address
        else:
            result["headers"]["x-scf-remote-addr"] = address
    return result
