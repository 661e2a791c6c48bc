"""How the local jscode2session reads a request and answers it, as WeChat does
(docs/tencent/wechat-login.md §1-§2): a GET with appid, secret, js_code and
grant_type=authorization_code; HTTP 200 with a JSON object either way: openid,
session_key (and unionid when bound) on success, errcode and errmsg otherwise."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from sts_tools.emulators.wechat.backend import Exchange, WxBackend

MESSAGES = {
    -1: "system error",
    40002: "invalid grant_type",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    40226: "high risk user, login intercepted",
    45011: "api minute-quota reach limit, retry next minute",
}


def error_document(errcode: int) -> dict[str, Any]:
    rid = secrets.token_hex(4)
    return {"errcode": errcode, "errmsg": f"{MESSAGES.get(errcode, 'error')}, rid: {rid}"}


def answer(backend: WxBackend, query: Mapping[str, str]) -> dict[str, Any]:
    appid, secret = query.get("appid", ""), query.get("secret", "")
    code = query.get("js_code", "")
    if appid not in backend.apps:
        return error_document(40013)
    if not secrets.compare_digest(backend.apps[appid].encode(), secret.encode()):
        return error_document(40125)
    if query.get("grant_type") != "authorization_code":
        return error_document(40002)
    fields = backend.redeem(code)
    if fields is None:
        document = error_document(40029)
    elif fields.get("used"):
        document = error_document(40163)
    elif "e" in fields:
        document = error_document(int(fields["e"]))
    else:
        document = {"session_key": secrets.token_urlsafe(18), "openid": fields["o"]}
        if fields.get("u"):
            document["unionid"] = fields["u"]
    backend.record(Exchange(appid, code, document))
    return document
