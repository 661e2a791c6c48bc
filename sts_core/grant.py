"""From a verified user and their request to the exact policy STS will receive.

The handler and the dry run (`python -m sts_core explain`) both call `plan_grant`,
so what the dry run prints is what production sends.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

from .config import Config
from .credential_request import CredentialRequest
from .errors import BadRequest
from .policy import Target, build_policy, check_scope, guard, render
from .prefix import check_user_id, render_root


class Grant(NamedTuple):
    target: Target
    policy: dict[str, Any]
    policy_text: str  # compact JSON, exactly what is URL-encoded into the STS call


def plan_grant(
    config: Config, user_id: str, ask: CredentialRequest, source_ip: Optional[str] = None
) -> Grant:
    # The caller's root, e.g. users/alice/ (403 for an unusable user ID).
    check_user_id(user_id, config.user_id_pattern, config.max_user_id_length)
    root = render_root(config.prefix_template, user_id)
    target = Target(config.region, config.appid, config.bucket, root, user_id)
    # The profile's actions on the root, narrowed by the scope (403 outside it).
    grants = None if ask.scope is None else check_scope(ask.profile, target, ask.scope)
    policy = build_policy(ask.profile, target, grants, source_ip)
    text = render(policy)
    if len(text) > config.max_policy_chars:
        raise BadRequest("policy_too_large", "the requested scope makes the policy too large")
    # Whatever the config says: every resource inside the root, or nothing is sent.
    guard(policy, target)
    return Grant(target, policy, text)
