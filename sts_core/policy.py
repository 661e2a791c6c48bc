"""The CAM policy sent to STS: built from a profile, narrowed by a scope, then guarded.

Everything here is a pure function of its arguments, so it is tested without mocks.

- `build_policy` grants the profile's actions on ``<root>*``, or, when the caller
  sends a COS SDK ``Scope``, only the listed (action, key) pairs. Size and type
  conditions are attached only to the upload actions they apply to (a size rule
  on GetObject would break downloads; reference §5.5).
- `check_scope` refuses (403), never clips, any entry outside the profile's
  actions or the caller's root.
- `guard` re-checks the final policy, independently of how it was built: explicit
  actions only, every resource inside ``qcs::cos:<region>:uid/<appid>:<bucket>/<root>``.
  A violation is a bug, and the request fails closed before STS is called.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Optional

from .config import ACTION_RE, LENGTH_ACTIONS, TYPE_ACTIONS, Profile
from .errors import Forbidden

MAX_KEY_BYTES = 850  # COS's object-key limit
CONDITION_KEYS = {
    "numeric_less_than_equal": {"cos:content-length"},
    "string_equal": {"cos:content-type"},
    "string_like": {"cos:content-type"},
    "ip_equal": {"qcs:ip"},
}


class PolicyViolation(Exception):
    """The rendered policy is not confined to the user's root: a bug, never sent."""


class Target(NamedTuple):
    """Where a grant may land: one bucket, one user's root inside it."""

    region: str
    appid: str
    bucket: str
    root: str
    user_id: str

    @property
    def root_resource(self) -> str:
        return self.resource(self.root)

    def resource(self, key: str) -> str:
        return f"qcs::cos:{self.region}:uid/{self.appid}:{self.bucket}/{key}"


class ScopeEntry(NamedTuple):
    """One COS SDK Scope item, already type-checked (see credential_request)."""

    action: str
    prefix: str
    bucket: Optional[str] = None
    region: Optional[str] = None


_UNSAFE_KEY_CHARACTERS = re.compile(r"[?%\\]")


def _has_control_character(text: str) -> bool:
    return any(unicodedata.category(c)[0] == "C" for c in text)


def key_problem(key: str) -> Optional[str]:
    """Why `key` is unsafe as a granted object key or ``prefix*``, or None."""
    if not key:
        return "it is empty"
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        return "it is too long"
    if "*" in key[:-1]:
        return "'*' is allowed only as the last character"
    if _UNSAFE_KEY_CHARACTERS.search(key):
        return "it contains '?', '%' or '\\'"
    segments = key.rstrip("*").split("/")
    if any(segment in (".", "..") for segment in segments):
        return "it has a '.' or '..' segment"
    if "//" in key:
        return "it has an empty segment"
    # For ASCII, isprintable() is exactly "no control characters", in C.
    if (not key.isprintable()) if key.isascii() else _has_control_character(key):
        return "it contains control characters"
    if unicodedata.normalize("NFKC", key) != key:
        return "it is not in Unicode NFKC form"
    return None


def check_scope(
    profile: Profile, target: Target, scope: Sequence[ScopeEntry]
) -> dict[str, list[str]]:
    """Map each requested action to its granted keys, or raise Forbidden (403)."""
    grants: dict[str, list[str]] = {}
    for index, entry in enumerate(scope):
        where = f"scope[{index}]"
        if entry.action not in profile.actions:
            raise Forbidden(
                "scope_denied",
                f"{where}: {entry.action!r} is not allowed by profile {profile.name!r}",
            )
        if entry.bucket is not None and entry.bucket != target.bucket:
            raise Forbidden("scope_denied", f"{where}: the bucket must be {target.bucket}")
        if entry.region is not None and entry.region != target.region:
            raise Forbidden("scope_denied", f"{where}: the region must be {target.region}")
        # SDKs disagree on a leading slash (qcloud-python-sts drops such scopes).
        key = entry.prefix[1:] if entry.prefix.startswith("/") else entry.prefix
        if not key.startswith(target.root):
            raise Forbidden("scope_denied", f"{where}: the key must start with {target.root}")
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
    if profile.content_types and action in TYPE_ACTIONS:
        operator = "string_like" if any("*" in t for t in profile.content_types) else "string_equal"
        condition[operator] = {"cos:content-type": list(profile.content_types)}
    if source_ip:
        condition["ip_equal"] = {"qcs:ip": [source_ip]}
    return condition


def build_policy(
    profile: Profile,
    target: Target,
    grants: Optional[Mapping[str, Sequence[str]]] = None,
    source_ip: Optional[str] = None,
) -> dict[str, Any]:
    """The policy for `profile` on `target`; `grants` (from check_scope) narrows it."""
    if grants is None:
        grants = {action: [target.root + "*"] for action in profile.actions}
    # Actions that share resources and conditions share one statement. Conditions
    # depend only on which upload headers an action sends, so that is the key.
    statements: dict[tuple[Any, ...], dict[str, Any]] = {}
    for action, keys in grants.items():
        group = (tuple(keys), action in LENGTH_ACTIONS, action in TYPE_ACTIONS)
        statement = statements.get(group)
        if statement is None:
            statement = {"effect": "allow", "action": [], "resource": []}
            statement["resource"] = [target.resource(key) for key in keys]
            condition = _conditions(profile, action, source_ip)
            if condition:
                statement["condition"] = condition
            statements[group] = statement
        statement["action"].append(action)
    return {"version": "2.0", "statement": list(statements.values())}


def render(policy: Mapping[str, Any]) -> str:
    """Compact JSON: what STS receives (URL-encoded) and what the size cap measures."""
    return json.dumps(policy, separators=(",", ":"))


# -- the final guard ----------------------------------------------------------------


def _root_problem(target: Target) -> Optional[str]:
    root = target.root
    if not root.endswith("/") or root.startswith("/"):
        return "the root must end with '/' and not start with '/'"
    if key_problem(root) or "*" in root:
        return "the root itself is not a safe key prefix"
    if target.user_id not in root.split("/"):
        return "the root does not contain the user ID as a whole segment"
    return None


def _strings(value: Any) -> Optional[list[str]]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def guard(policy: Any, target: Target) -> None:
    """Raise PolicyViolation unless every grant in `policy` is confined to `target`."""
    problem = _root_problem(target)
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


def _check_statement(statement: Any, target: Target) -> None:
    if not isinstance(statement, Mapping):
        raise PolicyViolation("a statement is not an object")
    if not set(statement) <= {"effect", "action", "resource", "condition"}:
        raise PolicyViolation("a statement has an unexpected element (e.g. principal)")
    if statement.get("effect") != "allow":
        raise PolicyViolation("only allow statements are issued")
    actions = _strings(statement.get("action"))
    if actions is None:
        raise PolicyViolation("a statement has no action list")
    for action in actions:
        if not ACTION_RE.match(action) or "Bucket" in action or action == "name/cos:GetService":
            raise PolicyViolation(f"{action!r} is not an explicit object-level COS action")
    resources = _strings(statement.get("resource"))
    if resources is None:
        raise PolicyViolation("a statement has no resource list")
    prefix = target.root_resource
    for resource in resources:
        if not resource.startswith(prefix):
            raise PolicyViolation("a resource lies outside the user's root")
        problem = key_problem(resource[len(prefix) - len(target.root) :])
        if problem:
            raise PolicyViolation(f"a resource key is unsafe: {problem}")
    _check_condition(statement.get("condition"))


def _check_condition(condition: Any) -> None:
    if condition is None:
        return
    if not isinstance(condition, Mapping) or not condition:
        raise PolicyViolation("a condition must be a non-empty object")
    for operator, keys in condition.items():
        allowed = CONDITION_KEYS.get(operator)
        if allowed is None or not isinstance(keys, Mapping) or not set(keys) <= allowed:
            raise PolicyViolation(f"unexpected condition {operator!r}")


def resources_of(policy: Mapping[str, Any]) -> Iterable[str]:
    for statement in policy.get("statement", ()):
        yield from _strings(statement.get("resource")) or ()
