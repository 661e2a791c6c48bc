"""``python -m sts_tools cam-policy`` (``make cam-policy``): the CAM documents to
paste when creating the identities the function signs STS calls with, derived
from config.yml and the deployment's environment (``.env`` included).

STS never grants more than the identity that signs the call: the keys a caller
gets are the intersection of the function's policy and that identity's. So that
identity gets exactly what the function can ever hand out:

- COS: per bucket, each grant's actions on the fixed part of its root followed by
  ``*`` (``users/{uid}/`` gives ``users/*``; ``tenants/{claim:t}/...`` gives
  ``tenants/*``), the same for Cloud Infinite actions. With
  ``listing.bucket_resource`` the listings also go on the bucket, pinned by
  ``cos:prefix`` to those roots.
- AssumeRole (``STS_ROLE_ARN``, preferred): the vending role gets that COS policy,
  and a trust policy letting the function's execution role (``SCF_ROLE``) assume
  it. The execution role gets ``name/sts:AssumeRole`` on the vending role only, and
  trusts SCF (``scf.qcloud.com``: how Tencent's console creates SCF roles; the
  exact document is unverified here).
- GetFederationToken (``STS_SECRET_ID``/``STS_SECRET_KEY``): the sub-account owning
  the key gets the COS policy and ``name/sts:GetFederationToken``.

Unknown values (the account's UIN, role names) are printed as ``<placeholders>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sts_core.config import ROLE_ARN_RE
from sts_core.cos_actions import LISTING_ACTIONS
from sts_core.policy import prefix_condition_value
from sts_core.settings import Config

VERSION = "2.0"
# What creating a COS trigger changes: the bucket's notification configuration.
NOTIFICATION_ACTIONS = ("name/cos:GetBucketNotification", "name/cos:PutBucketNotification")


def fixed_part(template: str) -> str:
    """The literal start of a root template: what every rendered root begins with."""
    return template.split("{", 1)[0]


def cos_statements(config: Config) -> list[dict[str, Any]]:
    """Every (action, resource) the function can ever put in a policy: one statement
    per resource, with every action any profile grants there."""
    actions: dict[str, set[str]] = {}
    listings: dict[tuple[str, str], list[str]] = {}
    for profile in config.profiles.values():
        bucket = profile.bucket or config.bucket
        region = profile.region or config.region
        appid = bucket.rsplit("-", 1)[1]
        for grant in profile.grants:
            fixed = fixed_part(grant.root)
            resource = f"qcs::cos:{region}:uid/{appid}:{bucket}/{fixed}*"
            actions.setdefault(resource, set()).update(grant.actions)
            if config.listing_on_bucket and set(grant.actions) & set(LISTING_ACTIONS):
                prefixes = listings.setdefault((bucket, region), [])
                value = prefix_condition_value(fixed + "*")  # compared URL-encoded
                if value not in prefixes:
                    prefixes.append(value)
        if profile.ci_actions:
            fixed = fixed_part(profile.grants[0].root)
            resource = f"qcs::ci:{region}:uid/{appid}:bucket/{bucket}/{fixed}*"
            actions.setdefault(resource, set()).update(profile.ci_actions)
    statements: list[dict[str, Any]] = [
        {"effect": "allow", "action": sorted(names), "resource": [resource]}
        for resource, names in actions.items()
    ]
    for (bucket, region), prefixes in listings.items():
        appid = bucket.rsplit("-", 1)[1]
        statements.append({
            "effect": "allow",
            "action": sorted(LISTING_ACTIONS),
            "resource": [f"qcs::cos:{region}:uid/{appid}:{bucket}/"],
            "condition": {"string_like": {"cos:prefix": prefixes}},
        })  # fmt: skip
    return statements


def documents(config: Config, env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Name -> CAM document, for the way this deployment calls STS."""
    cos = {"version": VERSION, "statement": cos_statements(config)}
    role_arn = env.get("STS_ROLE_ARN", "")
    deployer = {"deployer policy (the COS triggers in serverless.yml)": deployer_statement(config)}
    if not role_arn:
        federation = {"effect": "allow", "action": ["name/sts:GetFederationToken"],
                      "resource": ["*"]}  # fmt: skip
        return {
            "sub-account policy (the owner of STS_SECRET_ID)": {
                "version": VERSION, "statement": [federation, *cos["statement"]],
            },
            **deployer,
        }  # fmt: skip
    found = ROLE_ARN_RE.match(role_arn)
    uin = found.group("uin") if found else "<account UIN>"
    execution_role = env.get("SCF_ROLE") or "<SCF_ROLE>"
    return {
        "vending role policy (STS_ROLE_ARN)": cos,
        "vending role trust policy": {
            "version": VERSION,
            "statement": [{
                "effect": "allow", "action": ["name/sts:AssumeRole"],
                "principal": {"qcs": [f"qcs::cam::uin/{uin}:roleName/{execution_role}"]},
            }],
        },
        "execution role policy (SCF_ROLE)": {
            "version": VERSION,
            "statement": [{"effect": "allow", "action": ["name/sts:AssumeRole"],
                           "resource": [role_arn]}],
        },
        "execution role trust policy": {
            "version": VERSION,
            "statement": [{"effect": "allow", "action": ["name/sts:AssumeRole"],
                           "principal": {"service": ["scf.qcloud.com"]}}],
        },
        **deployer,
    }  # fmt: skip


def deployer_statement(config: Config) -> dict[str, Any]:
    """The deployer's rights for the COS triggers (each is the bucket's notification
    configuration; which rights Tencent checks is unverified: docs/tencent/cos-events.md §5)."""
    buckets = {(config.bucket, config.region)} | {
        (p.bucket, p.region) for p in config.profiles.values() if p.bucket and p.region
    }
    resources = sorted(f"qcs::cos:{region}:uid/{bucket.rsplit('-', 1)[1]}:{bucket}/"
                       for bucket, region in buckets)  # fmt: skip
    return {
        "version": VERSION,
        "statement": [
            {"effect": "allow", "action": list(NOTIFICATION_ACTIONS), "resource": resources}
        ],
    }


def render(docs: Mapping[str, Mapping[str, Any]], env: Mapping[str, str]) -> str:
    lines = []
    for name, document in docs.items():
        lines += [f"# {name}", json.dumps(document, indent=2), ""]
    if env.get("STS_EXTERNAL_ID"):
        lines.append(
            "note: STS_EXTERNAL_ID is set: add the ExternalId condition your account uses to "
            "the vending role's trust policy (its condition key is not documented here)"
        )
    return "\n".join(lines).rstrip() + "\n"
