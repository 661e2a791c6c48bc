"""The CAM policy sent to STS: built from a profile, narrowed by a scope, then guarded.

Everything here is a pure function of its arguments, so it is tested without mocks.

- `build_policy` grants each of the profile's grants (actions on a rendered root:
  the user's ``users/alice/``, a declared shared area such as ``public/``) on
  ``<root>*``, or, when the caller sends a COS SDK ``Scope``, only the listed
  (action, key) pairs. Size and type conditions are attached only to the upload
  actions they apply to (a size rule on GetObject would break downloads;
  docs/tencent/cam-policy.md §2).
- `check_scope` refuses (403), never clips, any entry outside the profile's
  grants.
- `guard` re-checks the final policy, independently of how it was built: explicit
  actions only (a deny only on the dot-segment keys), every resource inside one of
  the target's declared roots (``qcs::cos:<region>:uid/<appid>:<bucket>/<root>``). A
  listing may name the bucket itself only together with a ``cos:prefix`` condition
  confined to those roots. A violation is a bug, and the request fails closed before STS is called.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Optional

from .cam_resources import ci_resource, cos_resource
from .config_model import Profile
from .cos_actions import (
    CI_ACTION_RE,
    CREATE_ACTIONS,
    LENGTH_ACTIONS,
    LISTING_ACTIONS,
    action_problem,
)
from .errors import Forbidden
from .object_keys import key_problem
from .url_encoding import url_encode

# Action names SDKs put in scopes that are not CAM's (docs/tencent/mobile-sdks.md §1):
# Android derives them from its request class names (GetObjectBytesRequest: the bytes
# form of getObject). Refused with the CAM name as a hint, never mapped.
SDK_ACTION_NAMES = {
    "name/cos:ListMultiUploads": "name/cos:ListMultipartUploads",
    "name/cos:GetObjectBytes": "name/cos:GetObject",
}
# The ACLs an upload may set: private, or the bucket's own (the operator's choice).
PRIVATE_ACLS = ("private", "default")
PIN = "string_equal_if_exist"  # holds when the header is absent: plain uploads still work
CONDITION_KEYS = {
    "numeric_less_than_equal": {"cos:content-length"},
    "string_equal": {"cos:content-type"},
    "string_like": {"cos:content-type", "cos:prefix"},
    "ip_equal": {"qcs:ip"},
    PIN: {"cos:x-cos-acl", "cos:x-cos-storage-class"},
}
# Keys COS might collapse into another folder (`users/alice/../bob/x`): '..', '.' and
# empty segments after the first (docs/tencent/cos-api.md §9, open point 10). A '*' in the
# middle of a resource is itself undocumented for COS (docs/tencent/cam-policy.md §4).
DOT_SEGMENT_PATTERNS = ("*/../*", "*/..", "*/./*", "*/.", "*//*")
# Listings (LISTING_ACTIONS) are confined by their prefix (reference docs/tencent/cos-api.md
# docs/tencent/cos-api.md §5): COS checks them against R(prefix) or, under the stricter reading,
# against the bucket plus a `cos:prefix` condition.


class PolicyViolation(Exception):
    """The rendered policy is not confined to the declared roots: a bug, never sent."""


class RootGrant(NamedTuple):
    """A profile's actions on one rendered root (``users/alice/``, ``public/``)."""

    root: str
    actions: tuple[str, ...]
    per_user: bool = True  # rendered from a template with {uid}


class Target(NamedTuple):
    """Where a grant may land: one bucket, and the declared roots inside it.

    `root` is the caller's own root (the response's ``prefix``); `grants` are all
    the profile's rendered grants. Without `grants`, the profile's actions apply
    to `root` alone (the shorthand ``actions:`` profile)."""

    region: str
    appid: str
    bucket: str
    root: str
    user_id: str
    grants: tuple[RootGrant, ...] = ()

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(grant.root for grant in self.grants) or (self.root,)

    def root_grants(self, actions: Sequence[str]) -> tuple[RootGrant, ...]:
        return self.grants or (RootGrant(self.root, tuple(actions)),)

    def resource(self, key: str) -> str:
        return cos_resource(self.region, self.appid, self.bucket, key)

    def ci_resource(self, key: str) -> str:
        return ci_resource(self.region, self.appid, self.bucket, key)


def prefix_condition_value(key: str) -> str:
    """A granted key as `cos:prefix` compares it: request parameters are compared
    URL-encoded (docs/tencent/cam-policy.md §7), with a trailing '*' kept as the wildcard."""
    body, star = (key[:-1], "*") if key.endswith("*") else (key, "")
    return url_encode(body) + star


class ScopeEntry(NamedTuple):
    """One COS SDK Scope item, already type-checked (see credential_request)."""

    action: str
    prefix: str
    bucket: Optional[str] = None
    region: Optional[str] = None


def check_scope(
    profile: Profile, target: Target, scope: Sequence[ScopeEntry]
) -> dict[str, list[str]]:
    """Map each requested action to its granted keys, or raise Forbidden (403)."""
    grants: dict[str, list[str]] = {}
    root_grants = target.root_grants(profile.actions)
    for index, entry in enumerate(scope):
        where = f"scope[{index}]"
        if entry.action not in profile.actions:
            hint = ""
            if f"name/cos:{entry.action}" in profile.actions:
                hint = f" (COS actions are written name/cos:{entry.action})"
            elif entry.action in SDK_ACTION_NAMES:
                hint = f" (the CAM name is {SDK_ACTION_NAMES[entry.action]})"
            raise Forbidden(
                "scope_denied",
                f"{where}: {entry.action[:64]!r} is not allowed by profile {profile.name!r}{hint}",
            )
        if entry.bucket is not None and entry.bucket != target.bucket:
            raise Forbidden("scope_denied", f"{where}: the bucket must be {target.bucket}")
        if entry.region is not None and entry.region != target.region:
            raise Forbidden("scope_denied", f"{where}: the region must be {target.region}")
        # SDKs disagree on a leading slash (qcloud-python-sts drops such scopes).
        key = entry.prefix[1:] if entry.prefix.startswith("/") else entry.prefix
        roots = [grant for grant in root_grants if key.startswith(grant.root)]
        if not roots:
            allowed = " or ".join(target.roots)
            whole = " (a listing of the whole bucket is never granted)" if not key else ""
            raise Forbidden("scope_denied", f"{where}: the key must start with {allowed}{whole}")
        if not any(entry.action in grant.actions for grant in roots):
            raise Forbidden(
                "scope_denied",
                f"{where}: {entry.action!r} is not granted on {roots[0].root} by this profile",
            )
        problem = key_problem(key)
        if problem:
            raise Forbidden("scope_denied", f"{where}: the key is not allowed: {problem}")
        keys = grants.setdefault(entry.action, [])
        if key not in keys:
            keys.append(key)
    return grants


def _conditions(profile: Profile, action: str, source_ip: Optional[str]) -> dict[str, Any]:
    condition: dict[str, Any] = {}
    if profile.max_content_length is not None and action in LENGTH_ACTIONS:
        # Without _if_exist: a request with no Content-Length is denied (fails closed).
        condition["numeric_less_than_equal"] = {"cos:content-length": profile.max_content_length}
    if profile.content_types and action in CREATE_ACTIONS:
        operator = "string_like" if any("*" in t for t in profile.content_types) else "string_equal"
        condition[operator] = {"cos:content-type": list(profile.content_types)}
    if action in CREATE_ACTIONS:
        # A created object stays private and in an allowed storage class: without the
        # pin, upload keys publish files world-readable or push archive-class objects.
        condition[PIN] = {
            "cos:x-cos-acl": list(PRIVATE_ACLS),
            "cos:x-cos-storage-class": list(profile.storage_classes),
        }
    if source_ip:
        condition["ip_equal"] = {"qcs:ip": [source_ip]}
    return condition


def build_policy(
    profile: Profile,
    target: Target,
    grants: Optional[Mapping[str, Sequence[str]]] = None,
    source_ip: Optional[str] = None,
    listing_on_bucket: bool = False,
    deny_dot_segments: bool = False,
) -> dict[str, Any]:
    """The policy for `profile` on `target`; `grants` (from check_scope) narrows it.

    `listing_on_bucket`: listings are also granted on the bucket resource with a
    `cos:prefix` condition, for a COS that checks them against the bucket
    (docs/tencent/cos-api.md §5, the strict reading). `deny_dot_segments`: one more
    statement denies those actions on keys with dot or empty segments."""
    scoped = grants is not None
    if grants is None:
        grants = {}
        for root_grant in target.root_grants(profile.actions):
            for action in root_grant.actions:
                grants.setdefault(action, []).append(root_grant.root + "*")
    # Actions that share resources, conditions and the grant that allows them share
    # one statement. Conditions depend only on which headers or parameters an action
    # sends; the grant matters where grants nest (Delete from protected/alice/, Get
    # from protected/ on one key): each statement stays within one grant, as the
    # guard requires.
    statements: dict[tuple[Any, ...], dict[str, Any]] = {}
    for action, keys in grants.items():
        listing = listing_on_bucket and action in LISTING_ACTIONS
        granting = tuple(_granting_root(target, profile, action, key) for key in keys)
        group = (tuple(keys), granting, action in LENGTH_ACTIONS, action in CREATE_ACTIONS,
                 listing)  # fmt: skip
        statement = statements.get(group)
        if statement is None:
            statement = {"effect": "allow", "action": [], "resource": []}
            statement["resource"] = [target.resource(key) for key in keys]
            condition = _conditions(profile, action, source_ip)
            if listing:
                statement["resource"].append(target.resource(""))
                condition["string_like"] = {
                    "cos:prefix": [prefix_condition_value(key) for key in keys]
                }
            if condition:
                statement["condition"] = condition
            statements[group] = statement
        statement["action"].append(action)
    if profile.ci_actions and not scoped:
        # Cloud Infinite on the caller's own root only (the PHP SDK's allowCiSource
        # grants the whole bucket), for the CI actions the profile lists; a COS SDK
        # scope names COS actions only, so a scoped request gets no CI grant.
        statement = {
            "effect": "allow",
            "action": list(profile.ci_actions),
            "resource": [target.ci_resource(target.root + "*")],
        }
        if source_ip:
            statement["condition"] = {"ip_equal": {"qcs:ip": [source_ip]}}
        statements[("ci",)] = statement
    if deny_dot_segments and grants:
        statements[("deny",)] = dot_segment_deny(target, list(grants))
    return {"version": "2.0", "statement": list(statements.values())}


def dot_segment_deny(target: Target, actions: Sequence[str]) -> dict[str, Any]:
    """Deny `actions` on every key of the bucket with a '.', '..' or empty segment."""
    return {
        "effect": "deny",
        "action": list(actions),
        "resource": [target.resource(pattern) for pattern in DOT_SEGMENT_PATTERNS],
    }


def _granting_root(target: Target, profile: Profile, action: str, key: str) -> str:
    """The most specific declared root that covers `key` and grants `action`."""
    covering = [
        grant.root
        for grant in target.root_grants(profile.actions)
        if key.startswith(grant.root) and action in grant.actions
    ]
    return max(covering, key=len, default="")


def render(policy: Mapping[str, Any]) -> str:
    """Compact JSON: what STS receives (URL-encoded) and what the size cap measures."""
    return json.dumps(policy, separators=(",", ":"))


# -- the final guard ----------------------------------------------------------------


def _root_problem(root: str, user_id: Optional[str]) -> Optional[str]:
    if not root.endswith("/") or root.startswith("/"):
        return "a root must end with '/' and not start with '/'"
    if key_problem(root) or "*" in root:
        return "a root is not a safe key prefix"
    if user_id is not None and user_id not in root.split("/"):
        return "a user's root does not contain the user ID as a whole segment"
    return None


def _strings(value: Any) -> Optional[list[str]]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def guard(policy: Any, target: Target) -> None:
    """Raise PolicyViolation unless every grant in `policy` is confined to `target`."""
    per_user = [grant.per_user for grant in target.grants] or [True]
    for root, mine in zip(target.roots, per_user):
        problem = _root_problem(root, target.user_id if mine else None)
        if problem:
            raise PolicyViolation(problem)
    if not isinstance(policy, Mapping) or set(policy) != {"version", "statement"}:
        raise PolicyViolation("the policy must have exactly 'version' and 'statement'")
    if policy["version"] != "2.0":
        raise PolicyViolation("the policy version must be 2.0")
    statements = policy["statement"]
    if not isinstance(statements, list) or not statements:
        raise PolicyViolation("the policy must have statements")
    for statement in statements:
        _check_statement(statement, target)


def _inside(key: str, target: Target, actions: Sequence[str] = ()) -> bool:
    """`key` (a granted object key or ``prefix*``) lies inside a declared root that
    grants all of `actions` (a read-only shared area never carries a write)."""
    if key_problem(key) is not None:
        return False
    if not target.grants:
        return any(key.startswith(root) for root in target.roots)
    wanted = set(actions)
    return any(key.startswith(g.root) and wanted <= set(g.actions) for g in target.grants)


def _check_statement(statement: Any, target: Target) -> None:
    if not isinstance(statement, Mapping):
        raise PolicyViolation("a statement is not an object")
    if not set(statement) <= {"effect", "action", "resource", "condition"}:
        raise PolicyViolation("a statement has an unexpected element (e.g. principal)")
    if statement.get("effect") == "deny":
        _check_deny(statement, target)
        return
    if statement.get("effect") != "allow":
        raise PolicyViolation("only allow statements are issued")
    actions = _strings(statement.get("action"))
    if actions is None:
        raise PolicyViolation("a statement has no action list")
    resources = _strings(statement.get("resource"))
    if resources is None:
        raise PolicyViolation("a statement has no resource list")
    condition = statement.get("condition")
    _check_condition(condition)
    if all(CI_ACTION_RE.match(action) for action in actions):
        _check_ci_resources(resources, target)
        return
    _check_cos_actions(actions, condition)
    bucket = target.resource("")
    for resource in resources:
        if resource == bucket:
            _check_bucket_listing(actions, condition, target)
            continue
        if not resource.startswith(bucket):
            raise PolicyViolation("a resource lies outside the bucket")
        if not _inside(resource[len(bucket) :], target, actions):
            raise PolicyViolation(
                "a resource lies outside the declared roots granting its actions, or is unsafe"
            )
    _check_pins(actions, condition)


def _check_deny(statement: Mapping[str, Any], target: Target) -> None:
    """The one deny issued: explicit COS actions on the dot-segment patterns, unconditioned."""
    actions = _strings(statement.get("action"))
    resources = _strings(statement.get("resource"))
    if actions is None or resources is None or "condition" in statement:
        raise PolicyViolation(
            "only allow statements, and the dot-segment deny (actions, resources, no condition)"
        )
    _check_cos_actions(actions, None)
    allowed = {target.resource(pattern) for pattern in DOT_SEGMENT_PATTERNS}
    if not set(resources) <= allowed:
        raise PolicyViolation("only allow statements, and a deny only on the dot-segment keys")


def _check_cos_actions(actions: list[str], condition: Any) -> None:
    for action in actions:
        problem = action_problem(action)
        if problem:
            raise PolicyViolation(problem)


def _check_pins(actions: list[str], condition: Any) -> None:
    """Every statement that creates objects keeps them private and in a chosen class."""
    if any(action in CREATE_ACTIONS for action in actions):
        pins = (condition or {}).get(PIN, {})
        acls = _strings(pins.get("cos:x-cos-acl"))
        if acls is None or not set(acls) <= set(PRIVATE_ACLS):
            raise PolicyViolation("an upload statement must pin cos:x-cos-acl to private ACLs")
        if _strings(pins.get("cos:x-cos-storage-class")) is None:
            raise PolicyViolation("an upload statement must pin cos:x-cos-storage-class")


def _check_bucket_listing(actions: list[str], condition: Any, target: Target) -> None:
    """The bucket itself may be named only for listings pinned by `cos:prefix`."""
    if not all(action in LISTING_ACTIONS for action in actions):
        raise PolicyViolation("only listings may name the bucket itself: outside the roots")
    pinned = (condition or {}).get("string_like", {}).get("cos:prefix")
    values = _strings(pinned)
    if values is None:
        raise PolicyViolation("a listing on the bucket needs a cos:prefix condition")
    grants = target.root_grants(actions)
    allowed = {
        prefix_condition_value(g.root + "*") for g in grants if set(actions) <= set(g.actions)
    }
    for value in values:
        if "*" in value[:-1] or not any(value.startswith(root[:-1]) for root in allowed):
            raise PolicyViolation("a cos:prefix condition lies outside the declared roots")


def _check_ci_resources(resources: list[str], target: Target) -> None:
    prefix = target.ci_resource("")
    for resource in resources:
        if not resource.startswith(prefix) or not _inside(resource[len(prefix) :], target):
            raise PolicyViolation("a Cloud Infinite resource lies outside the declared roots")


def _check_condition(condition: Any) -> None:
    if condition is None:
        return
    if not isinstance(condition, Mapping) or not condition:
        raise PolicyViolation("a condition must be a non-empty object")
    for operator, keys in condition.items():
        allowed = CONDITION_KEYS.get(operator)
        if allowed is None or not isinstance(keys, Mapping) or not set(keys) <= allowed:
            raise PolicyViolation(f"unexpected condition {operator!r}")
