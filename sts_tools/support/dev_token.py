"""Development tokens: HS256 JWTs for local runs, tests and benchmarks.

`DEV_JWT_SECRET` is public on purpose: it only ever signs tokens for a local run,
and `make deploy` refuses it. Production tokens come from the app's own login
(or an identity provider); nothing here is used by the deployed function.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Optional

# 64 bytes: long enough for any HS* algorithm.
DEV_JWT_SECRET = "cos-sts-LOCAL-DEVELOPMENT-secret-never-deploy-0123456789abcdefghijk"
# Signs the function's own session tokens (sign-in with WeChat) in a local run.
DEV_SESSION_SECRET = "cos-sts-LOCAL-session-secret-never-deploy-0123456789abcdefghijklm"


def mint_token(
    user_id: Any,
    secret: str = DEV_JWT_SECRET,
    *,
    ttl: int = 3600,
    claims: Optional[Mapping[str, Any]] = None,
    issuer: Optional[str] = None,
    audience: Optional[str] = None,
    algorithm: str = "HS256",
    now: Optional[float] = None,
) -> str:
    """A signed token for `user_id` (the `sub` claim). `claims` are added last and
    may override or, with None, drop a claim."""
    import jwt

    issued = int(time.time() if now is None else now)
    payload: dict[str, Any] = {"sub": user_id, "iat": issued, "exp": issued + ttl}
    if issuer:
        payload["iss"] = issuer
    if audience:
        payload["aud"] = audience
    payload.update(claims or {})
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm)
