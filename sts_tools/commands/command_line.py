"""What every command of ``python -m sts_tools`` shares: one way to fail, and the
readers of arguments that name files, JSON or NAME=VALUE pairs (each raises
ValueError with a one-line message for `fail`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, Union


def fail(message: str, status: int = 2) -> int:
    """Print `error: message` on stderr; the exit status (2: the caller's mistake)."""
    print(f"error: {message}", file=sys.stderr)
    return status


def pairs(pairs: Sequence[str], option: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"{option} takes NAME=VALUE, got {pair!r}")
        values[name] = value
    return values


def read_file(path: str, what: str) -> bytes:
    """A file the user named, or ValueError saying in one line why it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ValueError(f"{what} {path}: {exc.strerror or type(exc).__name__}") from None


def parse_json(text: Union[str, bytes], what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise ValueError(f"{what} is not JSON: {exc}") from None


def parse_claims(pairs: Sequence[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--claim takes NAME=VALUE, got {pair!r}")
        try:
            claims[name] = json.loads(value)
        except ValueError:
            claims[name] = value
    return claims
