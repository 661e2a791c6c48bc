"""CAM evaluation of a temporary key's policy for the local COS.

An independent oracle for the product's policy builder: it imports nothing from
``sts_core`` outside this folder. The policy text is parsed once, strictly, into
frozen `Policy` / `Statement` / `Condition` values (docs/tencent/cam-policy.md §3); anything
it does not fully understand is a `PolicyError`, which callers treat as a deny.

`decide` follows docs/tencent/cos-api.md §5: any matching deny wins, else any matching allow,
else the default deny. A statement matches when one of its action patterns, one
of its resource patterns and every one of its conditions match.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional

from sts_tools.emulators.cos.conditions import (
    Condition,
    PolicyError,
    describe,
    holds,
    parse_conditions,
    render,
)
from sts_tools.emulators.cos.wildcard import match

__all__ = ["Decision", "Policy", "PolicyError", "Statement", "decide", "parse_policy"]

_POLICY_ELEMENTS = frozenset({"version", "statement"})
_STATEMENT_ELEMENTS = frozenset({"effect", "action", "resource", "condition"})
_VERB = {"allow": "allowed", "deny": "denied"}


class Statement(NamedTuple):
    effect: str  # "allow" or "deny"
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...]


class Policy(NamedTuple):
    statements: tuple[Statement, ...]


class Decision(NamedTuple):
    allowed: bool
    statement: Optional[int]  # index of the deciding statement (deny or allow), else None
    condition: Optional[str]  # the condition(s) that decided, rendered
    reason: str  # one sentence a developer can act on


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal names; a policy read two ways is refused.
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise PolicyError(f"element {name!r} appears twice")
        result[name] = value
    return result


def _no_constant(name: str) -> Any:
    raise PolicyError(f"{name} is not a JSON number")


def _check_elements(found: dict[str, Any], allowed: frozenset, where: str) -> None:
    for name in found:
        if name == "principal":
            raise PolicyError(f"{where}: principal is not allowed in an STS policy")
        if name not in allowed:
            hint = " (element names are lower-case)" if name.lower() in allowed else ""
            raise PolicyError(f"{where}: unknown element {name!r}{hint}")


def _patterns(value: Any, name: str, where: str) -> tuple[str, ...]:
    listed = value if isinstance(value, list) else [value]
    if not listed or not all(isinstance(item, str) and item for item in listed):
        raise PolicyError(f"{where}: {name} must be a non-empty string or list of them")
    return tuple(listed)


def _statement(raw: Any, where: str) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} is not an object")
    _check_elements(raw, _STATEMENT_ELEMENTS, where)
    for name in ("effect", "action", "resource"):
        if name not in raw:
            raise PolicyError(f"{where}: {name} is missing")
    effect = raw["effect"]
    if effect not in ("allow", "deny"):
        raise PolicyError(f"{where}: effect must be 'allow' or 'deny', got {effect!r}")
    try:
        conditions = parse_conditions(raw["condition"]) if "condition" in raw else ()
    except PolicyError as error:
        raise PolicyError(f"{where}: {error}") from None
    return Statement(
        effect=effect,
        actions=_patterns(raw["action"], "action", where),
        resources=_patterns(raw["resource"], "resource", where),
        conditions=conditions,
    )


def parse_policy(text: str) -> Policy:
    """The policy JSON text -> Policy; PolicyError on anything not understood."""
    if not isinstance(text, str):
        raise PolicyError("the policy must be JSON text")
    try:
        document = json.loads(text, object_pairs_hook=_object, parse_constant=_no_constant)
    except PolicyError:
        raise
    except (ValueError, RecursionError) as error:
        raise PolicyError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise PolicyError("the policy must be a JSON object")
    _check_elements(document, _POLICY_ELEMENTS, "policy")
    if document.get("version") != "2.0":
        raise PolicyError(f'version must be "2.0", got {document.get("version")!r}')
    statements = document.get("statement")
    if not isinstance(statements, list) or not statements:
        raise PolicyError("statement must be a non-empty list")
    return Policy(tuple(_statement(raw, f"statement[{i}]") for i, raw in enumerate(statements)))


def _first(patterns: tuple[str, ...], text: str) -> Optional[str]:
    return next((pattern for pattern in patterns if match(pattern, text)), None)


def _failed(conditions: tuple[Condition, ...], values: Mapping[str, str]) -> Optional[Condition]:
    return next((c for c in conditions if not holds(c, values)), None)


def _all_rendered(conditions: tuple[Condition, ...]) -> Optional[str]:
    return " and ".join(render(c) for c in conditions) if conditions else None


def decide(policy: Policy, action: str, resource: str, values: Mapping[str, str]) -> Decision:
    """Deny first, then allow, else the default deny with the closest miss as reason."""
    # Closest misses among allow statements, for the default deny's reason.
    failed_condition: Optional[tuple[int, Condition]] = None  # action and resource matched
    missed_resource: list[tuple[int, Statement]] = []  # only the action matched
    for effect in ("deny", "allow"):
        for index, statement in enumerate(policy.statements):
            if statement.effect != effect:
                continue
            action_pattern = _first(statement.actions, action)
            if action_pattern is None:
                continue
            resource_pattern = _first(statement.resources, resource)
            if resource_pattern is None:
                if effect == "allow":
                    missed_resource.append((index, statement))
                continue
            failed = _failed(statement.conditions, values)
            if failed is not None:
                if effect == "allow" and failed_condition is None:
                    failed_condition = (index, failed)
                continue
            observed = "; ".join(
                f"{render(c)} ({describe(c, values)})" for c in statement.conditions
            )
            held = f", and its conditions hold: {observed}" if observed else ""
            reason = (
                f"{_VERB[effect]} by statement[{index}] ({effect}): action {action!r} matches "
                f"{action_pattern!r}, resource {resource!r} matches {resource_pattern!r}{held}"
            )
            return Decision(effect == "allow", index, _all_rendered(statement.conditions), reason)
    return _default_deny(policy, action, resource, values, failed_condition, missed_resource)


def _default_deny(
    policy: Policy,
    action: str,
    resource: str,
    values: Mapping[str, str],
    failed_condition: Optional[tuple[int, Condition]],
    missed_resource: list[tuple[int, Statement]],
) -> Decision:
    if failed_condition is not None:
        index, failed = failed_condition
        shown = render(failed)
        reason = (
            f"denied by default: statement[{index}] allows {action!r} on {resource!r} "
            f"but its condition {shown} does not hold ({describe(failed, values)})"
        )
        return Decision(False, None, shown, reason)
    if missed_resource:
        indexes = ", ".join(f"statement[{index}]" for index, _ in missed_resource)
        verb = "allows" if len(missed_resource) == 1 else "allow"
        covered = [pattern for _, statement in missed_resource for pattern in statement.resources]
        reason = (
            f"denied by default: {indexes} {verb} {action!r} but no resource covers "
            f"{resource!r}; the allowed resources are {covered!r}"
        )
        return Decision(False, None, None, reason)
    granted = list(
        dict.fromkeys(a for s in policy.statements if s.effect == "allow" for a in s.actions)
    )
    if not granted:
        return Decision(False, None, None, "denied by default: the policy has no allow statement")
    reason = (
        f"denied by default: no allow statement has the action {action!r} "
        f"(actions are case-sensitive); the allowed actions are {granted!r}"
    )
    return Decision(False, None, None, reason)
