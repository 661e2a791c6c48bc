"""Client for Tencent STS (API 3.0): GetFederationToken and AssumeRole.

Every call ends in either `IssuedCredentials` or a `StsError` whose `category`
tells the handler which HTTP status to answer with. Retries use full-jitter
exponential backoff, only for failures worth retrying, and never start an attempt
that could not finish before the caller's deadline.

No message or log line produced here contains a secret key, session token,
temporary key or signature: errors carry STS's own Code/Message/RequestId, and
transport failures are described by exception type only (a requests exception
holds the prepared request, headers included).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple, Optional
from urllib.parse import urlsplit

from .issued_credentials import IssuedCredentials
from .tc3_signing import Credentials, TC3Signer, api_headers
from .url_encoding import url_encode
from .user_digest import user_digest
from .utc_time import iso8601

log = logging.getLogger("sts_core.sts")

DEFAULT_ENDPOINT = "https://sts.tencentcloudapi.com"
DEFAULT_REGION = "ap-guangzhou"
VERSION = "2018-08-13"
USER_AGENT = "cos-sts-vendor/1.0"
SERVICE = "sts"
GET_FEDERATION_TOKEN = "GetFederationToken"  # noqa: S105 - an action name
ASSUME_ROLE = "AssumeRole"
# Longest lifetime STS grants per action (GetFederationToken: sub-account keys;
# a root account is capped at 7200 s by STS itself).
MAX_DURATION = {GET_FEDERATION_TOKEN: 129600, ASSUME_ROLE: 43200}

# Error categories, and what the caller of our function sees for each: the one table.
THROTTLED = "throttled"
REFUSED = "refused"
UNAVAILABLE = "unavailable"
BAD_RESPONSE = "bad_response"
TIMEOUT = "timeout"


class Failure(NamedTuple):
    status: int
    code: str
    message: str
    retry_after: Optional[str] = None  # seconds, for the Retry-After header


FAILURES = {
    THROTTLED: Failure(429, "sts_throttled", "credential requests are throttled; retry shortly",
                       "1"),
    REFUSED: Failure(502, "sts_refused", "STS refused the credential service's request"),
    BAD_RESPONSE: Failure(502, "sts_bad_response", "STS returned an unusable answer"),
    UNAVAILABLE: Failure(503, "sts_unavailable", "STS is unavailable; retry shortly", "1"),
    TIMEOUT: Failure(504, "sts_timeout", "STS did not answer in time"),
}  # fmt: skip

_THROTTLE_CODES = ("RequestLimitExceeded", "InvalidParameter.OverLimit")
_UNAVAILABLE_CODES = ("InternalError", "ServiceUnavailable")


class StsError(Exception):
    """STS did not issue credentials. Safe to log: holds no secret material."""

    def __init__(
        self,
        category: str,
        code: str,
        message: str,
        request_id: Optional[str] = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.category = category
        self.code = code
        self.message = message
        self.request_id = request_id
        self.attempts = attempts

    @property
    def failure(self) -> Failure:
        return FAILURES[self.category]

    @property
    def status(self) -> int:
        return self.failure.status

    @property
    def retryable(self) -> bool:
        return self.category in (THROTTLED, UNAVAILABLE, TIMEOUT)


def classify(code: str) -> str:
    """Category of an STS error code (docs/tencent/sts.md §8: what is worth retrying)."""
    if code.startswith(_THROTTLE_CODES):
        return THROTTLED
    if code.startswith(_UNAVAILABLE_CODES):
        return UNAVAILABLE
    return REFUSED


class RetryPolicy(NamedTuple):
    max_attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 1.0
    connect_timeout: float = 1.0
    read_timeout: float = 3.0
    # An attempt is not started with less time than this before the deadline.
    min_attempt_time: float = 0.3


DEFAULT_RETRY = RetryPolicy()


_HEX_TO_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def federation_name(user_id: str) -> str:
    """GetFederationToken `Name` for a user: ``cos-sts-`` plus 16 letters.

    STS documents the Name as letters (the official SDKs add hyphens), so the user
    ID is never sent raw: its SHA-256 prefix is spelled with letters a-p for hex
    digits 0-f. The same hex digest appears in our logs, for audit correlation.
    """
    return "cos-sts-" + user_digest(user_id).translate(_HEX_TO_LETTERS)


def role_session_name(user_id: str) -> str:
    """AssumeRole `RoleSessionName` (2-128 of ``[\\w+=,.@-]``): ``cos-sts-<hex digest>``."""
    return "cos-sts-" + user_digest(user_id)


def parse_endpoint(endpoint: str) -> tuple[str, str]:
    """Return (url, host header) for an STS base URL, rejecting anything odd."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Never quote the value: it may carry credentials (user:password@host).
        raise ValueError("must be an http(s) URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must not carry credentials, a query or a fragment")
    if parts.path not in ("", "/"):
        raise ValueError("must not have a path")
    host = parts.hostname.lower()
    if parts.port and parts.port != {"http": 80, "https": 443}[parts.scheme]:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}/", host


class StsClient:
    """One instance per warm SCF instance: it owns the keep-alive HTTP session."""

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        region: str = DEFAULT_REGION,
        retry: RetryPolicy = DEFAULT_RETRY,
        *,
        verify: Any = True,
        language: Optional[str] = "en-US",
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.url, self.host = parse_endpoint(endpoint)
        self.region = region
        self.retry = retry
        self.verify = verify
        self.language = language
        self._signer = TC3Signer(SERVICE)
        self._wall_clock = wall_clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._jitter = jitter
        self._session: Any = None
        self._template: Any = None

    @property
    def session(self) -> Any:
        if self._session is None:
            # Imported on first use: requests is the largest import on the cold path
            # and the handler can answer 4xx without ever touching STS.
            import requests

            session = requests.Session()
            # No proxies or .netrc from the environment: a netrc entry for the STS
            # host would make requests replace our signed Authorization header.
            session.trust_env = False
            adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=4)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            # The URL never changes: prepare it once. Each call copies this and sets
            # its own headers and body, skipping requests' per-call settings merge.
            self._template = requests.Request("POST", self.url).prepare()
            self._session = session
        return self._session

    # -- public actions ----------------------------------------------------------

    def get_federation_token(
        self,
        credentials: Credentials,
        *,
        name: str,
        policy: str,
        duration_seconds: int,
        deadline: Optional[float] = None,
    ) -> IssuedCredentials:
        """Temporary keys for `policy` (JSON text), signed with a permanent key."""
        params = {
            "Name": name,
            "Policy": url_encode(policy),
            "DurationSeconds": duration_seconds,
        }
        return self._issue(credentials, GET_FEDERATION_TOKEN, params, deadline)

    def assume_role(
        self,
        credentials: Credentials,
        *,
        role_arn: str,
        session_name: str,
        policy: str,
        duration_seconds: int,
        deadline: Optional[float] = None,
        external_id: Optional[str] = None,
    ) -> IssuedCredentials:
        """Temporary keys of `role_arn` narrowed by `policy`; may be signed with role keys.
        `external_id` is sent only when given (never as an empty string)."""
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name,
            "Policy": url_encode(policy),
            "DurationSeconds": duration_seconds,
        }
        if external_id:
            params["ExternalId"] = external_id
        return self._issue(credentials, ASSUME_ROLE, params, deadline)

    # -- request building (pure, exposed for vector tests) -------------------------

    def build_request(
        self, credentials: Credentials, action: str, params: Mapping[str, Any], timestamp: int
    ) -> tuple[dict[str, str], bytes]:
        """Headers and the exact body bytes of one signed call."""
        # json.dumps defaults match the official SDK byte for byte (docs/tencent/sts.md, vector V4).
        body = json.dumps(params).encode("utf-8")
        headers = api_headers(
            self._signer,
            credentials,
            host=self.host,
            action=action,
            version=VERSION,
            region=self.region,
            payload=body,
            timestamp=timestamp,
            language=self.language,
        )
        return headers, body

    # -- the retry loop -----------------------------------------------------------

    def _issue(
        self,
        credentials: Credentials,
        action: str,
        params: dict[str, Any],
        deadline: Optional[float],
    ) -> IssuedCredentials:
        duration = params["DurationSeconds"]
        if not isinstance(duration, int) or not 0 < duration <= MAX_DURATION[action]:
            raise ValueError(f"DurationSeconds for {action} must be 1..{MAX_DURATION[action]}")
        policy = self.retry
        if deadline is None:
            deadline = self._monotonic() + policy.max_attempts * (
                policy.connect_timeout + policy.read_timeout + policy.max_delay
            )
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self._monotonic()
            if remaining < policy.min_attempt_time:
                raise StsError(
                    TIMEOUT, "Deadline.Exceeded", "no time left to call STS", attempts=attempt - 1
                )
            try:
                return self._attempt(credentials, action, params, duration, remaining, attempt)
            except StsError as exc:
                error = exc
            error.attempts = attempt
            if not error.retryable or attempt >= policy.max_attempts:
                raise error
            delay = self._jitter() * min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
            if self._monotonic() + delay + policy.min_attempt_time > deadline:
                raise error
            log.debug(
                "sts retry",
                extra={"sts_code": error.code, "attempt": attempt, "delay_ms": int(delay * 1000)},
            )
            self._sleep(delay)

    def _attempt(
        self,
        credentials: Credentials,
        action: str,
        params: Mapping[str, Any],
        duration: int,
        remaining: float,
        attempt: int,
    ) -> IssuedCredentials:
        import requests

        sent_at = self._wall_clock()
        headers, body = self.build_request(credentials, action, params, int(sent_at))
        timeout = (
            min(self.retry.connect_timeout, remaining),
            min(self.retry.read_timeout, remaining),
        )
        session = self.session
        prepared = self._template.copy()
        prepared.headers = requests.structures.CaseInsensitiveDict(headers)
        prepared.headers["User-Agent"] = USER_AGENT
        prepared.body = body
        prepared.prepare_content_length(body)
        try:
            # The session's mounted adapter owns the keep-alive pool. Calling it
            # directly skips what Session.send adds and STS must never trigger:
            # cookie jars, response hooks, redirects.
            response = session.get_adapter(self.url).send(
                prepared, stream=False, timeout=timeout, verify=self.verify, cert=None, proxies={}
            )
            content = response.content
        except requests.Timeout:
            raise StsError(TIMEOUT, "Network.Timeout", "STS did not answer in time") from None
        except requests.RequestException as exc:
            raise StsError(
                UNAVAILABLE, "Network.Error", f"cannot reach STS ({type(exc).__name__})"
            ) from None
        return self._parse(response.status_code, content, sent_at, duration, attempt)

    def _parse(
        self, status: int, content: bytes, sent_at: float, duration: int, attempt: int
    ) -> IssuedCredentials:
        if status >= 500:
            raise StsError(UNAVAILABLE, f"HTTP.{status}", "STS answered with a server error")
        if status != 200:
            raise StsError(BAD_RESPONSE, f"HTTP.{status}", "STS answered with an unexpected status")
        try:
            document = json.loads(content)
        except ValueError:
            raise StsError(BAD_RESPONSE, "Response.NotJson", "STS answer is not JSON") from None
        body = document.get("Response") if isinstance(document, dict) else None
        if not isinstance(body, dict):
            raise StsError(BAD_RESPONSE, "Response.Malformed", "STS answer has no Response object")
        request_id = body.get("RequestId") if isinstance(body.get("RequestId"), str) else None
        error = body.get("Error")
        if error is not None:
            code = error.get("Code") if isinstance(error, dict) else None
            message = error.get("Message") if isinstance(error, dict) else None
            if not isinstance(code, str) or not code:
                raise StsError(
                    BAD_RESPONSE, "Response.Malformed", "STS error without a code", request_id
                )
            raise StsError(classify(code), code, str(message or ""), request_id)
        return self._credentials(body, request_id, sent_at, duration, attempt)

    def _credentials(
        self,
        body: Mapping[str, Any],
        request_id: Optional[str],
        sent_at: float,
        duration: int,
        attempt: int,
    ) -> IssuedCredentials:
        creds = body.get("Credentials")
        fields = ("TmpSecretId", "TmpSecretKey", "Token")
        if not isinstance(creds, dict) or not all(
            isinstance(creds.get(f), str) and creds.get(f) for f in fields
        ):
            raise StsError(
                BAD_RESPONSE,
                "Response.NoCredentials",
                "STS success without credentials",
                request_id,
            )
        expired = body.get("ExpiredTime")
        if isinstance(expired, str) and expired.isdigit():
            expired = int(expired)
        if not isinstance(expired, int) or isinstance(expired, bool):
            raise StsError(
                BAD_RESPONSE, "Response.NoExpiry", "STS answer lacks ExpiredTime", request_id
            )
        now = self._wall_clock()
        if expired <= now:
            raise StsError(
                BAD_RESPONSE,
                "Response.Expired",
                "STS issued credentials that are already expired",
                request_id,
            )
        expiration = body.get("Expiration")
        if expiration != iso8601(expired):
            # "may be null" for GetFederationToken; derive it so clients always get one.
            expiration = iso8601(expired)
        # Never later than our clock when we asked, nor than STS's own notion of
        # issue time: a start in the future makes SDK signatures not-yet-valid.
        start = min(int(sent_at), expired - duration)
        return IssuedCredentials(
            tmp_secret_id=creds["TmpSecretId"],
            tmp_secret_key=creds["TmpSecretKey"],
            session_token=creds["Token"],
            start_time=start,
            expired_time=expired,
            expiration=expiration,
            request_id=request_id or "",
            attempts=attempt,
        )
