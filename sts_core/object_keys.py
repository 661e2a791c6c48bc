"""What a granted object key (or ``prefix*``) may look like.

One rule set, used on scope entries from callers, on rendered roots by the final
guard, and on root templates when the config loads: a key that could mean
something else to COS, to CAM's wildcard matching or to a later Unicode
normalisation is refused.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Optional

MAX_KEY_BYTES = 850  # COS's object-key limit
_UNSAFE_CHARACTERS = re.compile(r"[?%\\]")


def _has_control_character(text: str) -> bool:
    return any(unicodedata.category(c)[0] == "C" for c in text)


def key_problem(key: str) -> Optional[str]:
    """Why `key` is unsafe as a granted object key or ``prefix*``, or None."""
    if not key:
        return "it is empty"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate (JSON's "\ud800") is no text COS can store
        return "it is not valid Unicode text"
    if size > MAX_KEY_BYTES:
        return "it is too long"
    if "*" in key[:-1]:
        return "'*' is allowed only as the last character"
    if _UNSAFE_CHARACTERS.search(key):
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


def random_name() -> str:
    """128 random bits as 32 hex digits: a folder or object name no one can guess and
    nothing already has."""
    import secrets  # only for fresh folders and tickets: off the common cold path

    return secrets.token_hex(16)
