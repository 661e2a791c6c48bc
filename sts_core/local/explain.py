"""The dry run: the exact policy a request would send to STS, and what it allows.

Operators use it to answer "why did my upload get 403?" before deploying. It
runs the handler's own steps (token check, body parsing, `plan_grant`) and never
calls STS.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Optional

from ..config import Config
from ..credential_request import parse_credential_request
from ..errors import ApiError
from ..grant import plan_grant
from ..policy import evaluate
from ..sts_client import ASSUME_ROLE, federation_name, role_session_name
from ..tokens import TokenVerifier


def explain(
    config: Config,
    verifier: TokenVerifier,
    *,
    token: Optional[str] = None,
    user: Optional[str] = None,
    body: bytes = b"",
    checks: Sequence[tuple[str, str]] = (),
    source_ip: Optional[str] = None,
) -> tuple[str, int]:
    """The report and an exit status: 0 when every check is allowed, 1 otherwise."""
    lines: list[str] = []
    try:
        if token is not None:
            user_id = verifier.user_id(f"Bearer {token}")
            lines.append(f"user:     {user_id}  (token verified)")
        else:
            user_id = user or ""
            lines.append(f"user:     {user_id}  (token check skipped: --user)")
        ask = parse_credential_request(body, config)
        grant = plan_grant(config, user_id, ask, source_ip)
    except ApiError as error:
        lines.append(f"REFUSED   {error.status} {error.code}: {error.message}")
        return "\n".join(lines), 1

    sts = config.sts
    if sts.action == ASSUME_ROLE:
        call = f"AssumeRole RoleArn={sts.role_arn} RoleSessionName={role_session_name(user_id)}"
    else:
        call = f"GetFederationToken Name={federation_name(user_id)}"
    lines += [
        f"profile:  {ask.profile.name}",
        f"duration: {ask.duration} s",
        f"root:     {grant.target.root}",
        f"STS call: {call} DurationSeconds={ask.duration} (region {sts.region}, {sts.endpoint})",
        "",
        "policy, exactly as sent (URL-encoded into the Policy parameter):",
        grant.policy_text,
        "",
        "policy, readable:",
        json.dumps(grant.policy, indent=2, ensure_ascii=False),
    ]
    status = 0
    if checks:
        lines += ["", "checks:"]
        width = max(len(action) for action, _ in checks)
        for action, key in checks:
            verdict = evaluate(grant.policy, grant.target, action, key)
            status |= 0 if verdict.allowed else 1
            mark = "ALLOW" if verdict.allowed else "DENY "
            lines.append(f"  {mark}  {action:<{width}}  {key}  - {verdict.reason}")
    return "\n".join(lines), status
