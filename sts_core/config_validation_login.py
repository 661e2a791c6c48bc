"""The `login` and `revocation` sections (sign-in for mini programs, refused users),
validated with the environment they need. Part of config_validation.py's work."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .config_model import (
    LOGIN_PROVIDERS,
    QQ,
    WECHAT,
    Bucket,
    LoginSettings,
    RevocationSettings,
    defaults,
)
from .config_section import ConfigError, Section
from .rotation import previous_name, rotating_secrets
from .url_rules import https_or_loopback
from .user_prefix import check_user_id

MIN_SESSION_SECRET_BYTES = 32  # HS256 (RFC 7518 §3.2)
# The variables holding each platform's AppID and AppSecret.
APP_CREDENTIALS = {WECHAT: ("STS_WX_APPID", "STS_WX_SECRET"), QQ: ("STS_QQ_APPID", "STS_QQ_SECRET")}
SESSION_SECRET = "STS_SESSION_SECRET"  # noqa: S105 - a variable name
APPID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _endpoint(section: Section, name: str, env: Mapping[str, str], default: str) -> str:
    from urllib.parse import urlsplit

    value = section.overridden(name, env) or default
    if urlsplit(value).query or not https_or_loopback(value):
        raise ConfigError(section.key(name), "must be an https URL (http only for loopback)")
    return value


def _bucket(section: Section, default: Bucket) -> Bucket:
    bucket = Bucket(
        rate=section.number("rate", default.rate, 0.001, 100000),
        burst=section.integer("burst", default.burst, 1, 1000000),
    )
    section.done()
    return bucket


def login_settings(section: Section, env: Mapping[str, str], template: str) -> LoginSettings:
    d = defaults(LoginSettings)
    providers = section.strings("providers")
    for index, provider in enumerate(providers):
        if provider not in LOGIN_PROVIDERS:
            raise ConfigError(f"{section.key('providers')}[{index}]", "must be wechat or qq")
    user_id = section.string("user_id", d.user_id)
    if user_id not in ("openid", "unionid"):
        raise ConfigError(section.key("user_id"), "must be openid or unionid")
    settings = LoginSettings(
        providers=tuple(dict.fromkeys(providers)),
        user_id=user_id,
        session_ttl=section.integer("session_ttl", d.session_ttl, 60, 86400),
        timeout=section.number("timeout", d.timeout, 0.05, 10),
        wechat_endpoint=_endpoint(section, "wechat_endpoint", env, d.wechat_endpoint),
        qq_endpoint=_endpoint(section, "qq_endpoint", env, d.qq_endpoint),
        per_address=_bucket(section.section("per_address"), d.per_address),
        overall=_bucket(section.section("global"), d.overall),
    )
    section.done()
    if settings.providers:
        _check_login_env(section, settings, env, template)
    return settings


def _check_login_env(
    section: Section, settings: LoginSettings, env: Mapping[str, str], template: str
) -> None:
    if "{claim:" in template:
        raise ConfigError(
            section.key("providers"),
            "prefix.template names a claim, which a session token does not carry",
        )
    for provider in settings.providers:
        appid_name, secret_name = APP_CREDENTIALS[provider]
        if not APPID_RE.match(env.get(appid_name) or ""):
            raise ConfigError(appid_name, f"must be set to the mini program's AppID ({provider})")
        if not env.get(secret_name):
            raise ConfigError(
                secret_name, f"must be set to the mini program's AppSecret ({provider})"
            )
    secrets = rotating_secrets(env, SESSION_SECRET)
    if not secrets:
        raise ConfigError(SESSION_SECRET, "must be set when login.providers is not empty")
    others = set(rotating_secrets(env, "STS_JWT_SECRET")) | {env.get("STS_CACHE_KEY")}
    for index, secret in enumerate(secrets):
        name = SESSION_SECRET if index == 0 else previous_name(SESSION_SECRET)
        if len(secret.encode("utf-8")) < MIN_SESSION_SECRET_BYTES:
            raise ConfigError(name, f"must be at least {MIN_SESSION_SECRET_BYTES} random bytes")
        if secret in others:
            # One key, one verifier: a session token must never pass as an app token.
            raise ConfigError(name, "must differ from STS_JWT_SECRET and STS_CACHE_KEY")


def revocation_settings(
    section: Section, pattern: re.Pattern, max_length: int
) -> RevocationSettings:
    d = defaults(RevocationSettings)
    users = section.strings("users")
    for index, user in enumerate(users):
        _user(user, f"{section.key('users')}[{index}]", pattern, max_length)
    raw: Any = section.raw("not_before", {})
    if not isinstance(raw, Mapping):
        raise ConfigError(section.key("not_before"), "must map user IDs to Unix times")
    not_before: dict[str, int] = {}
    for user, when in raw.items():
        where = f"{section.key('not_before')}.{user}"
        _user(user, where, pattern, max_length)
        if not isinstance(when, int) or isinstance(when, bool) or not 0 <= when < 1 << 40:
            raise ConfigError(where, "must be a Unix time in seconds")
        not_before[user] = when
    settings = RevocationSettings(
        users=tuple(dict.fromkeys(users)),
        not_before=not_before,
        refresh=section.integer("refresh", d.refresh, 1, 60),
    )
    section.done()
    return settings


def _user(user: Any, where: str, pattern: re.Pattern, max_length: int) -> None:
    try:
        check_user_id(str(user) if isinstance(user, str) else "", pattern, max_length)
    except Exception:
        raise ConfigError(where, "is not a user ID this function could see") from None
