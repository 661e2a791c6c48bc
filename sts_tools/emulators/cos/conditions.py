"""CAM conditions for the local COS: parsed once into typed values, then tested.

Shape (docs/tencent/cam-policy.md §6): ``{operator: {key: value-or-list}}``. Several values
for one key are OR'ed; several keys, and several operators, are AND'ed.

Missing key (docs/tencent/cos-api.md §5): with ``_if_exist`` the condition holds, without it
it does not. A request value that does not parse as the key's type never holds.

Everything unknown (operator, ``for_any_value:`` qualifiers, key, a value of the
wrong type, an operator that does not fit the key's type) is a `PolicyError`
while parsing, which the caller turns into a deny: evaluation never meets a name
it does not know and cannot fail open. The operator table is modelled on MinIO's
``pkg/policy/condition`` (one function per family, negation as a flag).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple, Optional, Union

from sts_tools.emulators.cos.wildcard import match

Value = Union[str, int, float, bool, ipaddress.IPv4Network, ipaddress.IPv6Network]
RequestValue = Union[str, int, float, bool, ipaddress.IPv4Address, ipaddress.IPv6Address]


class PolicyError(ValueError):
    """The policy text is not one this evaluator understands completely (means: deny)."""


# Condition keys the local COS knows, with their type (docs/tencent/cam-policy.md §2).
KEYS: dict[str, str] = {
    "qcs:ip": "ip",
    "cos:content-length": "numeric",
    "cos:content-type": "string",
    # the request parser supplies it URL-encoded (docs/tencent/cos-api.md §5)
    "cos:prefix": "string",
    "cos:x-cos-acl": "string",
    "cos:x-cos-storage-class": "string",
    "cos:response-content-type": "string",
    "cos:versionid": "string",
    "cos:secure-transport": "bool",
}

_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _number(text: str) -> Optional[Union[int, float]]:
    # ASCII digits only: int() would also take " 1", "1_0" and non-ASCII digits.
    if not _NUMBER.fullmatch(text):
        return None
    return float(text) if "." in text else int(text)


def _address(text: str) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; CAM sees a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _boolean(text: str) -> Optional[bool]:
    return {"true": True, "false": False}.get(text)


# Request value (text) -> typed value, None when it does not parse.
_REQUEST: dict[str, Callable[[str], Optional[RequestValue]]] = {
    "string": lambda text: text,
    "numeric": _number,
    "ip": _address,
    "bool": _boolean,
}


def _policy_string(value: Any) -> str:
    if not isinstance(value, str):
        raise PolicyError(f"expected a string, got {value!r}")
    return value


def _policy_number(value: Any) -> Union[int, float]:
    # bool is an int in Python; true is not a number in a policy.
    if isinstance(value, bool):
        raise PolicyError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    number = _number(value) if isinstance(value, str) else None
    if number is None:
        raise PolicyError(f"expected a number, got {value!r}")
    return number


def _policy_network(value: Any) -> Union[ipaddress.IPv4Network, ipaddress.IPv6Network]:
    try:
        # strict=False: policies write "10.217.182.3/24" (docs/tencent/cam-policy.md §6).
        return ipaddress.ip_network(_policy_string(value), strict=False)
    except ValueError as error:
        raise PolicyError(f"expected an IP address or CIDR block, got {value!r}") from error


def _policy_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    flag = _boolean(value) if isinstance(value, str) else None
    if flag is None:
        raise PolicyError(f"expected true or false, got {value!r}")
    return flag


# Policy value (JSON) -> typed value, PolicyError when it does not fit.
_POLICY: dict[str, Callable[[Any], Value]] = {
    "string": _policy_string,
    "numeric": _policy_number,
    "ip": _policy_network,
    "bool": _policy_bool,
}


# One function per operator family: (request value, one policy value) -> bool.
def _string_like(request: str, value: str) -> bool:
    return match(value, request)


def _ip_within(request: Any, value: Any) -> bool:
    # An IPv4 address is never inside an IPv6 block and vice versa (no error).
    return request in value


def _equal(request: Any, value: Any) -> bool:
    return request == value


def _greater(request: Any, value: Any) -> bool:
    return request > value


def _greater_equal(request: Any, value: Any) -> bool:
    return request >= value


def _less(request: Any, value: Any) -> bool:
    return request < value


def _less_equal(request: Any, value: Any) -> bool:
    return request <= value


class Operator(NamedTuple):
    kind: str  # the key type it applies to
    test: Callable[[Any, Any], bool]
    negate: bool  # holds when the test fails for every value


OPERATORS: dict[str, Operator] = {
    "string_equal": Operator("string", _equal, False),
    "string_not_equal": Operator("string", _equal, True),
    "string_like": Operator("string", _string_like, False),
    "string_not_like": Operator("string", _string_like, True),
    "ip_equal": Operator("ip", _ip_within, False),
    "ip_not_equal": Operator("ip", _ip_within, True),
    "numeric_equal": Operator("numeric", _equal, False),
    "numeric_not_equal": Operator("numeric", _equal, True),
    "numeric_greater_than": Operator("numeric", _greater, False),
    "numeric_greater_than_equal": Operator("numeric", _greater_equal, False),
    "numeric_less_than": Operator("numeric", _less, False),
    "numeric_less_than_equal": Operator("numeric", _less_equal, False),
    "bool_equal": Operator("bool", _equal, False),
}

_IF_EXIST = "_if_exist"


class Condition(NamedTuple):
    """One (operator, key) pair of a condition block, parsed once."""

    operator: str  # as written, e.g. "numeric_less_than_equal_if_exist"
    key: str
    values: tuple  # converted: str, int/float, ip_network or bool
    if_exist: bool
    negate: bool
    kind: str
    test: Callable[[Any, Any], bool]


def parse_conditions(block: Any) -> tuple[Condition, ...]:
    """The statement's ``condition`` element -> conditions; PolicyError on anything odd."""
    if not isinstance(block, dict):
        raise PolicyError("condition must be an object of operator -> {key: values}")
    conditions = []
    for written, pairs in block.items():
        base = written[: -len(_IF_EXIST)] if written.endswith(_IF_EXIST) else written
        operator = OPERATORS.get(base)
        if operator is None:
            raise PolicyError(f"unknown condition operator {written!r}")
        if not isinstance(pairs, dict) or not pairs:
            raise PolicyError(f"{written}: expected a non-empty object of key -> values")
        for key, raw in pairs.items():
            kind = KEYS.get(key)
            if kind is None:
                raise PolicyError(f"{written}: unknown condition key {key!r}")
            if kind != operator.kind:
                raise PolicyError(f"{written} compares {operator.kind} values; {key} is {kind}")
            listed = raw if isinstance(raw, list) else [raw]
            if not listed:
                raise PolicyError(f"{written} {key}: no values")
            try:
                values = tuple(_POLICY[kind](item) for item in listed)
            except PolicyError as error:
                raise PolicyError(f"{written} {key}: {error}") from None
            conditions.append(
                Condition(
                    operator=written,
                    key=key,
                    values=values,
                    if_exist=written != base,
                    negate=operator.negate,
                    kind=kind,
                    test=operator.test,
                )
            )
    return tuple(conditions)


def holds(condition: Condition, values: Mapping[str, str]) -> bool:
    """Whether the request (key -> value as text; missing = absent) meets `condition`."""
    text = values.get(condition.key)
    if text is None:
        return condition.if_exist
    request = _REQUEST[condition.kind](text)
    if request is None:
        return False
    hit = any(condition.test(request, value) for value in condition.values)
    return not hit if condition.negate else hit


def describe(condition: Condition, values: Mapping[str, str]) -> str:
    """What the request had for the condition's key, e.g. "cos:content-length is absent"."""
    text = values.get(condition.key)
    if text is None:
        return f"{condition.key} is absent"
    if _REQUEST[condition.kind](text) is None:
        return f"{condition.key} is {text!r}, which is not a valid {condition.kind} value"
    return f"{condition.key} is {text!r}"


def render(condition: Condition) -> str:
    """E.g. "numeric_less_than_equal cos:content-length 104857600" (for reasons and logs)."""
    shown = [_show(value) for value in condition.values]
    values = shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"
    return f"{condition.operator} {condition.key} {values}"


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, str) else repr(value)
