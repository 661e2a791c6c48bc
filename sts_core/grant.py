"""From a verified user and their request to the exact policy STS will receive.

The handler and the dry run (`python -m sts_tools explain`) both call `plan_grant`,
so what the dry run prints is what production sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, NamedTuple, Optional

from .config_model import Config, Profile
from .credential_request import CredentialRequest
from .errors import BadRequest, Forbidden
from .object_keys import random_name
from .policy import RootGrant, Target, build_policy, check_scope, guard, render
from .user_prefix import check_user_id, render_root


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
            "this profile binds keys to the caller's address, but the request has none "
            "(on a Function URL only with function_url.trust_remote_addr)",
        ) from None
    return f"{address}/{address.max_prefixlen}"


def plan_grant(
    config: Config,
    user_id: str,
    ask: CredentialRequest,
    source_ip: Optional[str] = None,
    claims: Optional[Mapping[str, Any]] = None,
    new_folder: Callable[[], str] = random_name,
) -> Grant:
    profile = ask.profile
    if profile.tickets_only:  # its keys would skip every pin its tickets carry
        raise Forbidden(
            "tickets_only",
            f"profile {profile.name!r} gives upload tickets only, no keys: send a ticket",
        )
    target = caller_target(config, profile, user_id, claims, new_folder)
    # The profile's grants, narrowed by the scope (403 outside them).
    grants = None if ask.scope is None else check_scope(profile, target, ask.scope)
    # Optionally usable only from the caller's address (fails closed without one).
    bound = bound_address(source_ip) if profile.bind_ip else None
    policy = build_policy(
        profile, target, grants, bound, config.listing_on_bucket, config.deny_dot_segments
    )
    text = render(policy)
    if len(text) > config.max_policy_chars:
        raise BadRequest("policy_too_large", "the requested scope makes the policy too large")
    # Whatever the config says: every resource inside the root, or nothing is sent.
    guard(policy, target)
    return Grant(target, policy, text)


def caller_target(
    config: Config,
    profile: Profile,
    user_id: str,
    claims: Optional[Mapping[str, Any]] = None,
    new_folder: Callable[[], str] = random_name,
) -> Target:
    """The caller's roots for `profile`, e.g. users/alice/ and a declared public/ (403
    for an unusable user ID, or a claim a root needs that is missing or unsafe)."""
    check_user_id(user_id, config.user_id_pattern, config.max_user_id_length)
    rendered = [
        RootGrant(
            render_root(
                grant.root, user_id, claims, config.user_id_pattern, config.max_user_id_length
            ),
            grant.actions,
            grant.per_user,
        )
        for grant in profile.grants
    ] or [RootGrant(render_root(config.prefix_template, user_id), profile.actions)]
    if profile.fresh_folder:
        # A new folder for every credential: leaked upload keys reach nothing older.
        first = rendered[0]
        rendered[0] = RootGrant(f"{first.root}{new_folder()}/", first.actions, first.per_user)
    where = config.location(profile)
    return Target(
        where.region, where.appid, where.bucket, rendered[0].root, user_id, tuple(rendered)
    )
