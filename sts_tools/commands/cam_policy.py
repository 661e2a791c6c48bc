"""``python -m sts_tools cam-policy`` (``make cam-policy``): the CAM documents to
paste when creating the identities the function signs STS calls with, derived
from config.yml and the deployment's environment (``.env`` included).

STS never grants more than the identity that signs the call: the keys a caller
gets are the intersection of the function's policy and that identity's. So that
identity gets exactly what the function can ever hand out:

- COS: per bucket, each grant's actions on the fixed part of its root followed by
  ``*`` (``users/{uid}/`` gives ``users/*``; ``tenants/{claim:t}/...`` gives
  ``tenants/*``), only the actions some profile grants there, the same for Cloud
  Infinite actions. Uploads carry the pins every issued policy carries (private
  ACL, the configured storage classes) and the largest configured size. With
  ``listing.bucket_resource`` each listing a profile grants also goes on the
  bucket, pinned by ``cos:prefix`` to the roots that list.
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

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from sts_core.cam_resources import Location
from sts_core.config_model import Config, Profile
from sts_core.config_section import ConfigError
from sts_core.config_validation import ROLE_ARN_RE, role_arn_problem
from sts_core.cos_actions import CREATE_ACTIONS, LENGTH_ACTIONS, LISTING_ACTIONS
from sts_core.policy import PIN, PRIVATE_ACLS, prefix_condition_value
from sts_tools.commands.command_line import fail

VERSION = "2.0"
# What creating a COS trigger changes: the bucket's notification configuration.
NOTIFICATION_ACTIONS = ("name/cos:GetBucketNotification", "name/cos:PutBucketNotification")


class _Reach:
    """What the function can grant on one resource pattern, over every profile."""

    def __init__(self) -> None:
        self.actions: set[str] = set()
        self.classes: list[str] = []  # storage classes an upload may ask for
        self.sizes: list[Optional[int]] = []  # each uploading profile's cap (None: none)

    def add(self, profile: Profile, actions: Sequence[str]) -> None:
        self.actions.update(actions)
        if set(actions) & set(CREATE_ACTIONS):
            self.classes += [c for c in profile.storage_classes if c not in self.classes]
        if set(actions) & set(LENGTH_ACTIONS):
            self.sizes.append(profile.max_content_length)

    def statements(self, resource: str) -> list[dict[str, Any]]:
        """Plain actions; uploads with the private-ACL and storage-class pins every
        issued policy carries; bodies capped at the largest configured size (none
        when a profile sets no cap; a ticket's max_size is within its profile's)."""
        pins = {PIN: {"cos:x-cos-acl": list(PRIVATE_ACLS),
                      "cos:x-cos-storage-class": list(self.classes)}}  # fmt: skip
        sized = dict(pins)
        if self.sizes and None not in self.sizes:
            largest = max(size for size in self.sizes if size is not None)
            sized["numeric_less_than_equal"] = {"cos:content-length": largest}
        groups = [
            (self.actions - set(CREATE_ACTIONS), None),
            (self.actions & set(CREATE_ACTIONS) - set(LENGTH_ACTIONS), pins),
            (self.actions & set(LENGTH_ACTIONS), sized),
        ]
        statements = []
        for names, condition in groups:
            if names:
                statement: dict[str, Any] = {"effect": "allow", "action": sorted(names),
                                             "resource": [resource]}  # fmt: skip
                if condition:
                    statement["condition"] = condition
                statements.append(statement)
        return statements


def cos_statements(config: Config) -> list[dict[str, Any]]:
    """Every (action, resource) the function can ever put in a policy, with the pins
    every issued policy carries: per resource, the actions some profile grants there."""
    reach: dict[str, _Reach] = {}
    ci: dict[str, set[str]] = {}
    listings: dict[Location, dict[str, list[str]]] = {}
    for profile in config.profiles.values():
        where = config.location(profile)
        for grant in profile.grants:
            fixed = grant.fixed_part
            resource = where.resource(fixed + "*")
            reach.setdefault(resource, _Reach()).add(profile, grant.actions)
            if config.listing_on_bucket:
                listed = listings.setdefault(where, {})
                value = prefix_condition_value(fixed + "*")  # compared URL-encoded
                for action in set(grant.actions) & set(LISTING_ACTIONS):
                    prefixes = listed.setdefault(action, [])
                    if value not in prefixes:
                        prefixes.append(value)
        if profile.ci_actions:
            resource = where.ci_resource(profile.grants[0].fixed_part + "*")
            ci.setdefault(resource, set()).update(profile.ci_actions)
    statements = [s for resource, r in reach.items() for s in r.statements(resource)]
    statements += [{"effect": "allow", "action": sorted(names), "resource": [resource]}
                   for resource, names in ci.items()]  # fmt: skip
    for where, listed in listings.items():
        for action in sorted(listed):  # only the listings a profile grants, where it lists
            statements.append({
                "effect": "allow",
                "action": [action],
                "resource": [where.resource("")],
                "condition": {"string_like": {"cos:prefix": listed[action]}},
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
    problem = role_arn_problem(role_arn)
    if problem:  # never AssumeRole on a wildcard or a list (the config refuses both too)
        raise ConfigError("STS_ROLE_ARN", problem)
    uin = ROLE_ARN_RE.fullmatch(role_arn).group("uin")  # type: ignore[union-attr]
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
    locations = {Location(config.bucket, config.region)}
    locations |= {config.location(profile) for profile in config.profiles.values()}
    resources = sorted(location.resource("") for location in locations)
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


SUMMARY = "the CAM policies to paste (make cam-policy)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", help="also read .env.<stage>")
    parser.add_argument("--json", action="store_true", help="one JSON object: name -> document")


def run(args: argparse.Namespace) -> int:
    """Print the CAM policies and trust policies to paste when creating the roles (or
    the sub-account) the function signs STS calls with: least privilege, derived from
    config.yml and the deployment's environment (.env included)."""
    from sts_core.config_loading import load_config
    from sts_core.config_section import ConfigError
    from sts_tools.commands.serverless_cli import dotenv_environment
    from sts_tools.support import config_view

    env = dotenv_environment(config_view.PROJECT_ROOT, os.environ, args.stage)
    if not env.get("STS_JWT_SECRET") and not env.get("STS_JWKS_URL"):
        # The policies do not depend on how tokens are checked: any valid secret will do.
        env["STS_JWT_SECRET"] = "cam-policy-placeholder-secret-not-used-for-anything"
    try:
        config = load_config(config_view.config_path(env), env)
    except ConfigError as exc:
        where = exc.key in ("bucket", "region", "COS_BUCKET", "COS_REGION")
        hint = " (set COS_BUCKET and COS_REGION, e.g. in .env)" if where else ""
        return fail(f"configuration: {exc}{hint}")
    docs = documents(config, env)
    if args.json:
        print(json.dumps(docs, indent=2))
    else:
        print(render(docs, env), end="")
    return 0
