"""What type a token claim must have to be used. JSON's ``true`` is a Python int
subclass, so every check refuses bool explicitly."""

from __future__ import annotations

from typing import Any


def is_identifier(value: Any) -> bool:
    """A claim usable as an ID (the user ID, a ``{claim:NAME}`` root segment): a
    string or an integer, never a bool, a float, a list or an object."""
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A time claim (``iat``): an integer or a float, never a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)
