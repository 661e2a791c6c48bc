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


def bound_address(source_ip: Optional[str]) -> str:
    """The caller's address as the CIDR CAM's ip_equal takes (one host)."""
    import ipaddress  # only for profiles that bind keys to an address

    try:
        address = ipaddress.ip_address((source_ip or "").strip())
    except ValueError:
        raise BadRequest(
            "no_source_ip",
            "this profile binds keys to the caller's address, but the request has none",
        ) from None
    return f"{address}/{address.max_prefixlen}"


def plan_grant(
    config: Config, user_id: str, ask: CredentialRequest, source_ip: Optional[str] = None
) -> Grant:
    # The caller's root, e.g. users/alice/ (403 for an unusable user ID).
    check_user_id(user_id, config.user_id_pattern, config.max_user_id_length)
    root = render_root(config.prefix_template, user_id)
    target = Target(config.region, config.appid, config.bucket, root, user_id)
    # The profile's actions on the root, narrowed by the scope (403 outside it).
    grants = None if ask.scope is None else check_scope(ask.profile, target, ask.scope)
    # Optionally usable only from the caller's address (fails closed without one).
    bound = bound_address(source_ip) if ask.profile.bind_ip else None
    policy = build_policy(ask.profile, target, grants, bound)
    text = render(policy)
    if len(text) > config.max_policy_chars:
        raise BadRequest("policy_too_large", "the requested scope makes the policy too large")
    # Whatever the config says: every resource inside the root, or nothing is sent.
    guard(policy, target)
    return Grant(target, policy, text)
