"""The caller's login token: a JWT checked with PyJWT under strict, explicit rules.

- Algorithms come from the configuration, never from the token's header, so
  ``alg: none`` and HS/RS confusion are refused by construction.
- ``exp`` is required, and may lie at most ``max_token_lifetime`` ahead (30 days
  by default); ``iss``/``aud`` are required and checked when configured;
  ``nbf``/``iat`` are honoured with a small leeway; ``max_age`` optionally bounds
  how old ``iat`` may be.
- With a key set (JWKS), the token's ``alg`` must be allowed before any key is
  looked up, and its ``kid`` selects a public key (see jwks.py).
- Failures map to a fixed message per kind of failure: the token itself, and
  PyJWT's exception text, never reach a response or a log line.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Optional

import jwt

from .claim_types import is_identifier, is_number
from .config_model import HMAC, AuthSettings
from .errors import Forbidden, Unauthorized

_BEARER_RE = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9_=.-]+)$")
_FAILURES: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.ExpiredSignatureError, "token_expired", "the token has expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "the token is not valid yet"),
    (jwt.InvalidIssuerError, "invalid_issuer", "the token was issued by an unexpected issuer"),
    (jwt.InvalidAudienceError, "invalid_audience", "the token is meant for another audience"),
    (jwt.MissingRequiredClaimError, "invalid_token", "the token lacks a required claim"),
    (jwt.InvalidAlgorithmError, "invalid_token", "the token's algorithm is not accepted"),
    (jwt.InvalidSignatureError, "invalid_token", "the token's signature is invalid"),
    (jwt.DecodeError, "invalid_token", "the token is malformed"),
    (jwt.PyJWTError, "invalid_token", "the token is invalid"),
)


def bearer_token(authorization: Optional[str], max_bytes: int) -> str:
    """The token from an ``Authorization: Bearer <token>`` header value."""
    if not authorization or not authorization.strip():
        raise Unauthorized(
            "missing_token", "send the login token as 'Authorization: Bearer <token>'"
        )
    if len(authorization) > max_bytes + 16:
        raise Unauthorized("invalid_token", "the token is too long")
    match = _BEARER_RE.match(authorization.strip())
    if not match:
        raise Unauthorized("invalid_token", "the Authorization header is not 'Bearer <token>'")
    return match.group(1)


class TokenVerifier:
    """Verifies tokens and returns the configured user-ID claim."""

    def __init__(
        self,
        settings: AuthSettings,
        key: Any,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`key` is the HMAC secret, or a `jwks.JwksKeys` in key-set mode."""
        self.settings = settings
        self._key = key
        self._clock = clock
        self._monotonic = monotonic
        required = ["exp"]
        if settings.issuer:
            required.append("iss")
        if settings.audience:
            required.append("aud")
        if settings.max_age:
            required.append("iat")
        self._options = {
            "require": required,
            "verify_aud": bool(settings.audience),
            "verify_iss": bool(settings.issuer),
            "enforce_minimum_key_length": True,
        }

    def identity(
        self, authorization: Optional[str], deadline: Optional[float] = None
    ) -> tuple[str, dict[str, Any]]:
        """The user ID (the configured claim) and all claims of a valid token (claims
        may name roots). `deadline` (monotonic) bounds a key-set fetch."""
        token = bearer_token(authorization, self.settings.max_token_bytes)
        claims = self.claims(token, deadline)
        claim = self.settings.user_id_claim
        value = claims.get(claim)
        if value is None:
            raise Unauthorized("invalid_token", f"the token has no {claim!r} claim")
        if not is_identifier(value):
            raise Forbidden("user_id_rejected", f"the {claim!r} claim is not a string")
        return str(value), claims

    def claims(self, token: str, deadline: Optional[float] = None) -> dict[str, Any]:
        try:
            claims = self._decode(token, deadline)
        except jwt.PyJWTError as exc:
            for kind, code, message in _FAILURES:
                if isinstance(exc, kind):
                    raise Unauthorized(code, message) from None
            raise  # pragma: no cover - the last row catches every PyJWTError
        # PyJWT has checked that exp is a number in the future; refuse one too far out.
        # Each claim is compared with a float bound, never subtracted from the clock: an
        # int like 10**400 compares exactly but cannot be converted to a float.
        latest = self._clock() + self.settings.max_lifetime + self.settings.leeway
        if int(claims["exp"]) > latest:
            raise Unauthorized("invalid_token", "the token's expiry lies too far in the future")
        max_age = self.settings.max_age
        if max_age is not None:
            issued_at = claims.get("iat")
            if not is_number(issued_at):
                raise Unauthorized("invalid_token", "the token's iat claim is not a number")
            if issued_at < self._clock() - (max_age + self.settings.leeway):
                raise Unauthorized("token_expired", "the token is older than allowed")
        return claims

    def _decode(self, token: str, deadline: Optional[float]) -> dict[str, Any]:
        """PyJWT's checks; an HMAC secret being rotated (rotation.py) is a tuple:
        the current secret first, then each previous one still accepted."""
        keys = self._key if isinstance(self._key, tuple) else (self._key,)
        for index, key in enumerate(keys):
            try:
                return jwt.decode(
                    token,
                    key if self.settings.mode == HMAC else self._key_for(token, deadline),
                    algorithms=list(self.settings.algorithms),
                    audience=self.settings.audience,
                    issuer=self.settings.issuer,
                    leeway=self.settings.leeway,
                    options=self._options,  # type: ignore[arg-type]
                )
            except jwt.InvalidSignatureError:
                if index == len(keys) - 1:
                    raise
        raise jwt.InvalidSignatureError("no key")  # pragma: no cover - keys is never empty

    def _key_for(self, token: str, deadline: Optional[float]) -> Any:
        if self.settings.mode == HMAC:
            return self._key
        header = jwt.get_unverified_header(token)  # PyJWTError: handled by the caller
        algorithm = header.get("alg")
        if algorithm not in self.settings.algorithms:
            # Before any key lookup: a disallowed algorithm never costs a fetch.
            raise jwt.InvalidAlgorithmError("algorithm not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise jwt.InvalidTokenError("kid must be a string")
        if deadline is None:
            deadline = self._monotonic() + self.settings.jwks_timeout
        return self._key.key_for(kid, algorithm, deadline)
