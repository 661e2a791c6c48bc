"""The code exchange of mini-program sign-in (docs/tencent/wechat-login.md §1-§3):
``GET <endpoint>?appid=&secret=&js_code=&grant_type=authorization_code`` and what
each answer means to the app.

Only ``openid`` and ``unionid`` are read from a success. ``session_key`` (it
decrypts the user's private data) is dropped with the rest of the answer: never
stored, logged or returned. The AppSecret travels only in the query to the
platform; no error text here can hold it (transport failures are named by type,
since a requests exception holds the URL).

At most one retry, and only for the platform's own trouble (``-1``, HTTP 5xx, a
timeout, no connection), and only if a second attempt can finish before the
invocation's deadline. A refused code, a blocked user or the app's quota are
never retried.
"""

from __future__ import annotations

import time
from typing import Any, Callable, NamedTuple, Optional

import requests

from .errors import ApiError, BadRequest, Forbidden, Unauthorized

MAX_ATTEMPTS = 2
MIN_ATTEMPT_TIME = 0.2  # seconds: a retry with less time left is not started
RETRY_AFTER_QUOTA = "60"  # the quota is per minute (§2)


class Identity(NamedTuple):
    openid: str
    unionid: Optional[str]


class Exchange(NamedTuple):
    identity: Identity
    attempts: int


class WxRateLimited(ApiError):
    status = 429


def failure_for(errcode: int, provider: str) -> tuple[ApiError, bool]:
    """What an errcode means to the caller, and whether one retry may help.
    The one table (docs/login-token.md#errors)."""
    if errcode in (40029, 40163):  # invalid code; a code used twice (§2)
        return Unauthorized("wx_code_invalid", f"the {provider} login code is invalid or used; "
                            "call login() again for a fresh one"), False  # fmt: skip
    if errcode == 45011:
        return WxRateLimited("wx_rate_limited", "sign-ins are over the app's minute quota; retry "
                             "in a minute", {"Retry-After": RETRY_AFTER_QUOTA}), False  # fmt: skip
    if errcode == 40226:
        return Forbidden("wx_user_blocked", f"{provider} refused this user's sign-in"), False
    if errcode == -1:
        return unavailable(provider, f"errcode {errcode}"), True
    return ApiError("wx_error", f"{provider} refused the sign-in", status=502,
                    detail=f"jscode2session errcode {errcode}"), False  # fmt: skip


def unavailable(provider: str, detail: str) -> ApiError:
    message = f"{provider} sign-in is unavailable; retry shortly"
    return ApiError("wx_unavailable", message, {"Retry-After": "1"}, status=503,
                    detail=f"jscode2session {detail}")  # fmt: skip


def identity_of(document: Any, provider: str) -> Identity:
    """The openid/unionid of a parsed answer, or the ApiError it means. Success is
    "no errcode or 0, and an openid" (§2)."""
    if not isinstance(document, dict):
        raise ApiError("wx_error", f"{provider} answered with no identity", status=502,
                       detail="jscode2session answer is not a JSON object")  # fmt: skip
    errcode = document.get("errcode", 0)
    if errcode not in (0, None):
        code = errcode if isinstance(errcode, int) and not isinstance(errcode, bool) else None
        if code is None:
            raise ApiError("wx_error", f"{provider} refused the sign-in", status=502,
                           detail="jscode2session errcode not a number")  # fmt: skip
        raise failure_for(code, provider)[0]
    openid, unionid = document.get("openid"), document.get("unionid")
    if not isinstance(openid, str) or not openid:
        raise ApiError("wx_error", f"{provider} answered with no identity", status=502,
                       detail="jscode2session answer has no openid")  # fmt: skip
    return Identity(openid, unionid if isinstance(unionid, str) and unionid else None)


class CodeExchange:
    """One platform's jscode2session, with a keep-alive session per warm instance."""

    def __init__(
        self,
        provider: str,
        endpoint: str,
        appid: str,
        secret: str,
        timeout: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.endpoint = endpoint
        self._appid = appid
        self._secret = secret
        self.timeout = timeout
        self._monotonic = monotonic
        self._session = requests.Session()
        self._session.trust_env = False  # no proxy from the environment sees the secret

    def __repr__(self) -> str:  # never the AppSecret
        return f"CodeExchange({self.provider}, {self.endpoint})"

    def exchange(self, code: str, deadline: float) -> Exchange:
        if not isinstance(code, str) or not code:
            raise BadRequest("invalid_code", "the body needs a login code")
        last: Optional[ApiError] = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            remaining = deadline - self._monotonic()
            if remaining < MIN_ATTEMPT_TIME:
                break
            try:
                return Exchange(identity_of(self._ask(code, min(self.timeout, remaining)),
                                            self.provider), attempt)  # fmt: skip
            except _Retryable as failure:
                last = failure.error
                last.detail = f"{last.detail} (attempt {attempt})"
        raise last or unavailable(self.provider, "no time left for an attempt")

    def _ask(self, code: str, seconds: float) -> Any:
        params = {"appid": self._appid, "secret": self._secret, "js_code": code,
                  "grant_type": "authorization_code"}  # fmt: skip
        try:
            response = self._session.get(self.endpoint, params=params, timeout=seconds,
                                         allow_redirects=False)  # fmt: skip
        except requests.Timeout:
            raise _Retryable(unavailable(self.provider, "timeout")) from None
        except requests.RequestException as exc:  # the exception holds the URL: type only
            raise _Retryable(unavailable(self.provider, type(exc).__name__)) from None
        if response.status_code >= 500:
            raise _Retryable(unavailable(self.provider, f"HTTP {response.status_code}"))
        if response.status_code != 200:
            raise ApiError("wx_error", f"{self.provider} refused the sign-in", status=502,
                           detail=f"jscode2session HTTP {response.status_code}")  # fmt: skip
        try:
            document = response.json()
        except ValueError:
            raise ApiError("wx_error", f"{self.provider} answered with no identity", status=502,
                           detail="jscode2session answer is not JSON") from None  # fmt: skip
        if isinstance(document, dict) and document.get("errcode") == -1:
            raise _Retryable(failure_for(-1, self.provider)[0])
        return document


class _Retryable(Exception):
    def __init__(self, error: ApiError) -> None:
        super().__init__(error.code)
        self.error = error
