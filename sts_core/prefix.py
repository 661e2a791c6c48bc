"""From a verified user ID to that user's object-key root (e.g. ``users/alice/``).

The root is a path *segment* match, as in Firebase's ``/users/{userId}/`` rules:
the template ends with ``/`` and a user ID can never contain ``/``, so no user's
root is a prefix of another's (``alice`` vs ``alice2``), and no ID can widen or
escape it. The rules in `check_user_id` hold whatever the configured pattern
allows: configuration can only narrow them.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import Forbidden

HARD_MAX_LENGTH = 128
# Path syntax, wildcards, CAM policy-variable syntax, percent-encoding, quotes.
FORBIDDEN_CHARACTERS = frozenset("/\\*?$%{}:\"'<>|#[]`")


def _reject(reason: str) -> Forbidden:
    return Forbidden("user_id_rejected", f"the user ID cannot be used for a prefix: {reason}")


def check_user_id(user_id: str, pattern: re.Pattern, max_length: int = HARD_MAX_LENGTH) -> str:
    """Return `user_id` if it is safe as one path segment, else raise Forbidden (403)."""
    if not user_id:
        raise _reject("it is empty")
    if len(user_id) > min(max_length, HARD_MAX_LENGTH):
        raise _reject("it is too long")
    if user_id in (".", "..") or ".." in user_id:
        raise _reject("it contains '..'")
    for character in user_id:
        if character in FORBIDDEN_CHARACTERS:
            raise _reject(f"it contains {character!r}")
        if character.isspace() or unicodedata.category(character)[0] in ("C", "Z"):
            raise _reject("it contains whitespace or control characters")
    # Compatibility forms (full-width solidus U+FF0F, full stop U+FF0E...) could fold to
    # path syntax by something downstream; an ID must already be in NFKC form.
    if unicodedata.normalize("NFKC", user_id) != user_id:
        raise _reject("it is not in Unicode NFKC form")
    if not pattern.fullmatch(user_id):
        raise _reject("it does not match the configured user_id_pattern")
    return user_id


def render_root(template: str, user_id: str) -> str:
    """``users/{uid}/`` -> ``users/alice/`` (plain replacement: no format-string features)."""
    return template.replace("{uid}", user_id)
