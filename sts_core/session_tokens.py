"""The function's own session tokens: what the sign-in route (login.py) hands a
mini program, and what `/sts` then accepts like any login token.

Two kinds of token, two verifiers, each pinning its own algorithm, key and issuer;
neither ever looks at a token's unverified header to choose. A token is first
tried as a session token (HS256 under STS_SESSION_SECRET, issuer and audience
fixed here); only a token that is not one (another algorithm, another key,
malformed) goes on to the app's verifier (tokens.py: its own algorithms, secret
or key set, issuer). The session secret must differ from STS_JWT_SECRET
(config_validation_login.py), so a token signed for one verifier never passes the other.
A session token that is ours but no longer good (expired, wrong audience) is
refused as such, never handed to the other verifier.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

import jwt

from .errors import Unauthorized
from .tokens import TokenVerifier, bearer_token

ALGORITHM = "HS256"
ISSUER = "cos-sts/session"
AUDIENCE = "cos-sts/sts"
LEEWAY = 30  # seconds of clock skew between instances
_REQUIRED = ["exp", "iat", "iss", "aud", "sub"]
_REFUSALS: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.ExpiredSignatureError, "token_expired", "the session token has expired; sign in again"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "the session token is not valid yet"),
    (jwt.PyJWTError, "invalid_token", "the session token is invalid; sign in again"),
)


class SessionTokens:
    """Mints with the current secret; verifies with it and any previous ones."""

    def __init__(self, secrets: tuple[str, ...], ttl: int, clock: Callable[[], float] = time.time):
        if not secrets:
            raise ValueError("no session secret")
        self._secrets = secrets
        self.ttl = ttl
        self._clock = clock

    def __repr__(self) -> str:
        return f"SessionTokens(ttl={self.ttl}, secrets={len(self._secrets)})"

    def mint(self, user_id: str, via: str) -> str:
        now = int(self._clock())
        claims = {"sub": user_id, "iat": now, "exp": now + self.ttl, "iss": ISSUER,
                  "aud": AUDIENCE, "via": via}  # fmt: skip
        return jwt.encode(claims, self._secrets[0], ALGORITHM)

    def claims(self, token: str) -> Optional[dict[str, Any]]:
        """The claims of a valid session token; None when the token is not one of
        ours (any other algorithm, key or shape); 401 when it is ours but refused."""
        for secret in self._secrets:
            try:
                claims = jwt.decode(
                    token, secret, algorithms=[ALGORITHM], issuer=ISSUER, audience=AUDIENCE,
                    leeway=LEEWAY, options={"require": _REQUIRED},  # type: ignore[typeddict-item]
                )  # fmt: skip
            except jwt.InvalidSignatureError:
                continue  # perhaps a previous secret's, else not ours
            except (jwt.DecodeError, jwt.InvalidAlgorithmError):
                return None  # malformed, or not HS256: not ours
            except jwt.PyJWTError as exc:  # the signature held: ours, and refused
                raise Unauthorized(*_refusal(exc)) from None
            if claims["exp"] - self._clock() > self.ttl + LEEWAY or not _is_text(claims["sub"]):
                raise Unauthorized("invalid_token", "the session token is invalid; sign in again")
            return claims
        return None


def _refusal(exc: Exception) -> tuple[str, str]:
    return next((code, message) for kind, code, message in _REFUSALS if isinstance(exc, kind))


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


class EitherVerifier:
    """The session tokens' verifier, then the app's: the interface of TokenVerifier."""

    def __init__(self, sessions: SessionTokens, app: TokenVerifier) -> None:
        self.sessions = sessions
        self.app = app
        self.settings = app.settings

    def identity(
        self, authorization: Optional[str], deadline: Optional[float] = None
    ) -> tuple[str, dict[str, Any]]:
        token = bearer_token(authorization, self.settings.max_token_bytes)
        claims = self.sessions.claims(token)
        if claims is not None:
            return claims["sub"], claims
        return self.app.identity(authorization, deadline)

    def claims(self, token: str, deadline: Optional[float] = None) -> dict[str, Any]:
        own = self.sessions.claims(token)
        return own if own is not None else self.app.claims(token, deadline)
