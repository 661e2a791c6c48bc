"""Secrets an operator rotates with an overlap (docs/runbook.md).

``NAME`` holds the current secret: it signs everything new. ``NAME_PREVIOUS``
holds earlier ones, separated by spaces or commas (generated secrets hold neither):
tokens they signed are still accepted until the operator removes them. The list
is read once, at cold start; a new list takes effect as instances restart (a
configuration change restarts them all).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_SEPARATORS = re.compile(r"[\s,]+")


def previous_name(name: str) -> str:
    return f"{name}_PREVIOUS"


def rotating_secrets(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """(current, *previous), without blanks or repeats; () when `name` is unset."""
    current = env.get(name) or ""
    if not current:
        return ()
    previous = _SEPARATORS.split(env.get(previous_name(name)) or "")
    return tuple(dict.fromkeys([current, *(p for p in previous if p)]))
