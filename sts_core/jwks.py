"""Signing keys from an OIDC provider's JWKS, kept per warm instance.

PyJWT parses and verifies the keys (`PyJWK`); fetching and caching are ours,
because the policy matters for a credential service:

- The key set (and, with discovery, the OpenID configuration of the *configured*
  issuer, never one named by a token) is cached for a TTL.
- A token with an unknown ``kid`` may mean the provider rotated its keys: the set
  is fetched again, but at most once per ``refetch_interval`` whatever the cause,
  so a flood of tokens with random ``kid`` values cannot make the function hammer
  the provider (PyJWKClient would refetch for each of them).
- A fetch is bounded by the invocation's deadline. If it fails, keys fetched less
  than an hour before the TTL ran out are still used (a provider blip must not
  lock every user out); otherwise the request gets 503, never 401 or 500. A token
  naming a key the instance has not seen while the last fetch failed is also 503:
  during an outage that may be a key the provider has just rotated in, so the
  answer is "retry", not "sign in again".
- Only public keys (RSA, EC, Ed25519) meant for signatures are ever used: an
  ``oct`` (shared-secret) key in a key set is ignored, and a key must fit the
  token's algorithm: its type and curve, ``use`` absent or ``sig``, ``alg`` absent
  or the token's.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Optional

from .errors import ApiError, Unauthorized
from .jwt_algorithms import KEY_TYPES
from .url_rules import https_or_loopback

STALE_GRACE = 3600
FAILED = "the key set fetch failed"
MAX_DOCUMENT_BYTES = 256 * 1024


class KeysUnavailable(ApiError):
    status = 503

    def __init__(self, detail: str) -> None:
        if not detail.startswith(FAILED):
            detail = f"{FAILED}: {detail}"  # the log line says what failed, then why
        super().__init__(
            "jwks_unavailable",
            "the identity provider's signing keys are unavailable; retry shortly",
            {"Retry-After": "1"},
            detail=detail,
        )


def unusable(jwk: Mapping[str, Any], algorithm: str) -> Optional[str]:
    """Why this key cannot verify a token signed with `algorithm`; None if it can.
    (The reasons name only our own vocabulary, never text from the key set.)"""
    kty, curve = KEY_TYPES[algorithm]
    if jwk.get("kty") != kty:
        return f"is not an {kty} key, which {algorithm} needs"
    if curve and jwk.get("crv") != curve:
        return f"is not on curve {curve}, which {algorithm} needs"
    if jwk.get("use") not in (None, "sig"):
        return "is not a signing key (its use is not 'sig')"
    if jwk.get("alg") not in (None, algorithm):
        return f"is published for another algorithm than the token's {algorithm}"
    return None


def usable_for(jwk: Mapping[str, Any], algorithm: str) -> bool:
    return unusable(jwk, algorithm) is None


def discovery_url(issuer: str) -> str:
    """Where the configured issuer's OpenID configuration is (OIDC Discovery §4)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def issuer_mismatch(issuer: str, document: Any) -> Optional[str]:
    """Why a discovery document does not belong to `issuer` (its "issuer" must equal
    it exactly, OIDC Discovery §4.3), or None. The deploy preflight says the same."""
    named = document.get("issuer") if isinstance(document, dict) else None
    if named == issuer:
        return None
    if not isinstance(named, str):
        return "the discovery document names no issuer"
    shown = repr(named[:200])
    if named.rstrip("/") == issuer.rstrip("/"):
        return (
            f"the discovery document names the issuer {shown}, which differs from the "
            f"configured {issuer!r} only by a trailing slash: set STS_JWT_ISSUER (or "
            f"auth.issuer) to {shown}, exactly as the provider writes it in tokens"
        )
    return f"the discovery document names another issuer, {shown}, not {issuer!r}"


class JwksKeys:
    """The provider's public keys; `key_for` answers one token's (kid, alg)."""

    def __init__(
        self,
        *,
        jwks_url: Optional[str] = None,
        issuer: Optional[str] = None,
        ttl: float = 600,
        refetch_interval: float = 10,
        timeout: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not jwks_url and not issuer:
            raise ValueError("a JWKS URL or an issuer (for discovery) is required")
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self.timeout = timeout
        self.fetches = 0  # HTTP fetches of the key set (observable in tests and logs)
        self._monotonic = monotonic
        self._keys: list[dict[str, Any]] = []
        self._fetched_at: Optional[float] = None
        self._last_attempt: Optional[float] = None
        self._failure: Optional[str] = None  # why the last fetch failed; None: it worked
        self._prepared: dict[tuple[int, str], Any] = {}
        self._lock = threading.Lock()
        self._session: Any = None

    def key_for(self, kid: Optional[str], algorithm: str, deadline: float) -> Any:
        """A `jwt.PyJWK` for this token, or Unauthorized / KeysUnavailable."""
        with self._lock:
            now = self._monotonic()
            if self._fetched_at is None or now - self._fetched_at >= self.ttl:
                self._refresh(deadline)
            jwk, why = self._find(kid, algorithm)
            if jwk is None and kid is not None and self._may_fetch(self._monotonic()):
                self._refresh(deadline)  # perhaps a rotation: look once more
                jwk, why = self._find(kid, algorithm)
            if jwk is None and kid is not None and self._failure is not None:
                # Unknown only because the set could not be fetched: retry, not sign in.
                raise KeysUnavailable(
                    f"{self._failure}; the token names a key not among those fetched before"
                )
            if jwk is None:
                raise Unauthorized("invalid_token", f"the token's signing key is not known: {why}")
            return self._prepare(jwk, algorithm)

    # -- the cache ----------------------------------------------------------------

    def _may_fetch(self, now: float) -> bool:
        return self._last_attempt is None or now - self._last_attempt >= self.refetch_interval

    def _refresh(self, deadline: float) -> None:
        now = self._monotonic()
        stale_usable = (
            self._fetched_at is not None and now - self._fetched_at < self.ttl + STALE_GRACE
        )
        if not self._may_fetch(now):
            if stale_usable:
                return
            raise KeysUnavailable(
                f"{self._failure or 'the last fetch'} moments ago; not retried yet"
            )
        self._last_attempt = now
        try:
            self._keys = self._download(deadline)
        except KeysUnavailable as failure:
            self._failure = failure.detail
            if stale_usable:
                return
            raise
        self._failure = None
        self._fetched_at = now
        self._prepared.clear()

    def _find(self, kid: Optional[str], algorithm: str) -> tuple[Optional[dict[str, Any]], str]:
        """The key for this token, or None and why not (for the caller to read)."""
        if kid is None:
            usable = [k for k in self._keys if usable_for(k, algorithm)]
            if len(usable) == 1:
                return usable[0], ""
            if usable:  # only an unambiguous choice
                return None, f"it names no kid and the key set has several {algorithm} keys"
            return None, f"it names no kid and the key set has no {algorithm} key"
        named = [k for k in self._keys if k.get("kid") == kid]
        if not named:
            return None, "no key in the identity provider's key set has its kid"
        for jwk in named:
            if usable_for(jwk, algorithm):
                return jwk, ""
        return None, f"the key set's key with its kid {unusable(named[0], algorithm)}"

    def _prepare(self, jwk: dict[str, Any], algorithm: str) -> Any:
        import jwt

        cache_key = (id(jwk), algorithm)  # cleared whenever the key list is replaced
        prepared = self._prepared.get(cache_key)
        if prepared is None:
            try:
                prepared = jwt.PyJWK(jwk, algorithm=algorithm)
            except jwt.PyJWTError:
                raise Unauthorized("invalid_token", "the token's signing key is unusable") from None
            self._prepared[cache_key] = prepared
        return prepared

    # -- HTTP ---------------------------------------------------------------------

    def _download(self, deadline: float) -> list[dict[str, Any]]:
        url = self.jwks_url or self._discover(deadline)
        document = self._get_json(url, deadline)
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise KeysUnavailable("the key set has no 'keys' list")
        self.fetches += 1
        # Public keys only: never an 'oct' (shared secret) key from a key set.
        public = {kty for kty, _ in KEY_TYPES.values()}
        return [k for k in keys if isinstance(k, dict) and k.get("kty") in public]

    def _discover(self, deadline: float) -> str:
        issuer = self.issuer or ""
        document = self._get_json(discovery_url(issuer), deadline)
        mismatch = issuer_mismatch(issuer, document)
        if mismatch:
            raise KeysUnavailable(mismatch)
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise KeysUnavailable("the discovery document has no jwks_uri")
        if not https_or_loopback(jwks_uri):
            raise KeysUnavailable("the discovery document's jwks_uri is not https")
        return jwks_uri

    def _get_json(self, url: str, deadline: float) -> Any:
        import requests

        remaining = deadline - self._monotonic()
        if remaining <= 0.05:
            raise KeysUnavailable("no time left to fetch the key set")
        if self._session is None:
            self._session = requests.Session()
            self._session.trust_env = False
        timeout = min(self.timeout, remaining)
        try:
            with self._session.get(
                url, timeout=(timeout, timeout), stream=True, allow_redirects=False
            ) as response:
                if response.status_code != 200:
                    raise KeysUnavailable(f"HTTP {response.status_code} from the key set URL")
                body = response.raw.read(MAX_DOCUMENT_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise KeysUnavailable(f"cannot fetch the key set ({type(exc).__name__})") from None
        if len(body) > MAX_DOCUMENT_BYTES:
            raise KeysUnavailable("the key set document is too large")
        try:
            return json.loads(body)
        except ValueError:
            raise KeysUnavailable("the key set is not JSON") from None
