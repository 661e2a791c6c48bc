"""Sign-in for mini programs: ``POST <path>/login/wechat`` (or ``/login/qq``) with
``{"code": "<wx.login code>"}`` answers the function's own session token
(session_tokens.py), which ``/sts`` then accepts like any login token.

Imported only when the config turns a provider on (service.py), so deployments
without it pay nothing at cold start. In order, for each attempt:

1. the body: a JSON object with a short code (400 otherwise);
2. the attempt bound: a token from the client address's bucket and from the
   bucket of all sign-ins (rate_limit.py; on Redis across instances), else 429
   before the platform is asked: one quota covers every login of the app, so a
   flood of bogus codes must not spend it;
3. the code exchange (jscode2session.py), within the invocation's time;
4. the user ID: openid, or unionid where configured (403 when the platform sent
   none), held to the same rules as any user ID (user_prefix.py), and not revoked;
5. the answer: token, its lifetime, the user ID and the user's root.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

from .config_model import QQ, WECHAT, Config, RateLimitSettings
from .config_validation_login import APP_CREDENTIALS, SESSION_SECRET
from .errors import BadRequest, Forbidden, NotFound
from .jscode2session import CodeExchange
from .rate_limit import RateLimited, RateLimiter
from .rotation import rotating_secrets
from .session_tokens import SessionTokens
from .user_prefix import check_user_id, render_root

if TYPE_CHECKING:
    from .access_log import RequestLog
    from .redis_link import RedisLink
    from .revocation import Revocations

# wx.login codes are 32 characters today (not documented as fixed): bounded, URL-safe.
CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
NO_ADDRESS = "-"  # the shared bucket of callers whose address the platform did not give
LIMIT_NAMESPACE = "login"
PROVIDER_NAMES = {WECHAT: "WeChat", QQ: "QQ"}


class Login(NamedTuple):
    sessions: SessionTokens
    exchanges: Mapping[str, CodeExchange]
    attempts: RateLimiter
    user_id: str  # "openid" or "unionid"


def build_login(config: Config, env: Mapping[str, str], link: Optional[RedisLink]) -> Login:
    """Cold start, when login.providers is not empty (config_validation_login.py checked env)."""
    settings = config.login
    endpoints = {WECHAT: settings.wechat_endpoint, QQ: settings.qq_endpoint}
    exchanges = {}
    for provider in settings.providers:
        appid_name, secret_name = APP_CREDENTIALS[provider]
        exchanges[provider] = CodeExchange(
            PROVIDER_NAMES[provider], endpoints[provider], env[appid_name], env[secret_name],
            settings.timeout,
        )  # fmt: skip
    limits = RateLimitSettings(True, settings.per_address, settings.overall)
    return Login(
        sessions=SessionTokens(rotating_secrets(env, SESSION_SECRET), settings.session_ttl),
        exchanges=exchanges,
        attempts=RateLimiter(limits, link, namespace=LIMIT_NAMESPACE),
        user_id=settings.user_id,
    )


def login_code(body: bytes) -> str:
    try:
        document = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("invalid_body", 'the body must be JSON: {"code": "..."}') from None
    code = document.get("code") if isinstance(document, dict) else None
    if not isinstance(code, str) or not CODE_RE.match(code):
        raise BadRequest("invalid_code", 'send {"code": "<the code login() gave>"}')
    unknown = sorted(str(k) for k in document if k != "code")
    if unknown:  # as /sts does: a field the function ignores would be a silent surprise
        raise BadRequest("invalid_field", f"unknown field {unknown[0][:64]!r} (expected code)")
    return code


def sign_in(
    login: Login,
    config: Config,
    revocations: Optional[Revocations],
    provider: str,
    body: bytes,
    address: Optional[str],
    deadline: float,
    log: RequestLog,
) -> dict[str, Any]:
    exchange = login.exchanges.get(provider)
    if exchange is None:
        raise NotFound("not_found", f"sign-in with {provider} is not enabled here")
    log.set(login=provider)
    code = login_code(body)
    admission = login.attempts.admit(address or NO_ADDRESS, deadline, use_shared=log.redis_ok)
    if admission.failure:
        log.redis_failed(admission.failure)
    if not admission.decision.allowed:
        log.set(limit=admission.where, limited=admission.decision.limited)
        raise RateLimited(admission.decision.retry_after, "too many sign-in attempts")
    exchanged = exchange.exchange(code, deadline)
    log.set(loginAttempts=exchanged.attempts)
    identity = exchanged.identity
    user_id = identity.openid if login.user_id == "openid" else identity.unionid
    if user_id is None:
        raise Forbidden("wx_no_unionid", f"{exchange.provider} sent no unionid for this user "
                        "(the mini program is not bound to an Open Platform account)")  # fmt: skip
    check_user_id(user_id, config.user_id_pattern, config.max_user_id_length)
    log.user(user_id)
    if revocations is not None:
        revocations.check(user_id, {"iat": float("inf")}, deadline, log.redis_failed)
    return {
        "token": login.sessions.mint(user_id, provider),
        "expiresIn": login.sessions.ttl,
        "userId": user_id,
        "prefix": render_root(config.prefix_template, user_id),
    }
