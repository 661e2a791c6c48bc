"""How the local COS reads an object key with dot segments (`..`, `.`) or empty ones (`//`).

Whether COS collapses such keys, and whether CAM then sees the raw or the collapsed
key, is not settled by any source (docs/tencent/cos-api.md §9, open point 10). Each
reading is one row below; `read_key` is the whole rule, pure, so tests can run the
product under every reading and break each one on purpose.

- "literal" (the default): evaluated and stored as sent (`..` is two characters).
  The reading docs/tencent/cos-api.md §1 and §5 state: the key is the decoded path,
  and CAM evaluates R(key) of that same key. No Tencent source says COS rewrites it.
- "collapse": collapsed, then evaluated and stored. The official SDKs refuse a
  GetObject key that collapses to "/", "so as not to call GetBucket": a hint that
  COS routes some requests on the collapsed path (open point 10).
- "evaluate-raw-store-collapsed": CAM sees the raw key, the store the collapsed
  one. The dangerous reading: `users/alice/../bob/x` passes `users/alice/*` and
  lands in bob's folder.
- "refuse": a key with such a segment is a 400 InvalidArgument.
"""

from __future__ import annotations

from typing import NamedTuple

COLLAPSE = "collapse"
LITERAL = "literal"
RAW_THEN_COLLAPSED = "evaluate-raw-store-collapsed"
REFUSE = "refuse"
KEY_READINGS = (COLLAPSE, LITERAL, RAW_THEN_COLLAPSED, REFUSE)
DEFAULT_KEY_READING = LITERAL


class KeyRead(NamedTuple):
    evaluated: str  # the key in the CAM resource R(key)
    stored: str  # the key the object API acts on


class UnreadableKey(ValueError):
    """The key is refused under this reading (the emulator answers 400)."""


def has_odd_segments(key: str) -> bool:
    """A `.` or `..` segment, or an empty segment before the last (`a//b`)."""
    segments = key.split("/")
    return any(s in (".", "..") for s in segments) or "" in segments[:-1]


def collapse(key: str) -> str:
    """POSIX-style: empty and `.` segments dropped, `..` removes the one before
    (nothing above the bucket); a trailing `/` kept (a folder object stays one)."""
    kept: list[str] = []
    for segment in key.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment not in ("", "."):
            kept.append(segment)
    folder = key.endswith("/") and bool(kept)
    return "/".join(kept) + ("/" if folder else "")


def read_key(key: str, reading: str) -> KeyRead:
    """The (evaluated, stored) keys for `key`; raises UnreadableKey when refused."""
    if reading not in KEY_READINGS:
        raise ValueError(f"key_reading must be one of {KEY_READINGS}")
    if reading == LITERAL or not has_odd_segments(key):
        return KeyRead(key, key)
    if reading == REFUSE:
        raise UnreadableKey(f"the key has a '.', '..' or empty segment (key_reading={reading})")
    collapsed = collapse(key)
    if not collapsed:
        raise UnreadableKey(f"the key collapses to the bucket itself (key_reading={reading})")
    if reading == RAW_THEN_COLLAPSED:
        return KeyRead(key, collapsed)
    return KeyRead(collapsed, collapsed)
