"""From a verified user ID (and claims) to object-key roots (e.g. ``users/alice/``).

The root is a path *segment* match, as in Firebase's ``/users/{userId}/`` rules:
the template ends with ``/`` and a user ID can never contain ``/``, so no user's
root is a prefix of another's (``alice`` vs ``alice2``), and no ID can widen or
escape it. The rules in `check_user_id` hold whatever the configured pattern
allows: configuration can only narrow them. A ``{claim:NAME}`` segment (say a
tenant) is held to exactly the same rules as the user ID.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Optional

from .claim_types import is_identifier
from .errors import Forbidden

HARD_MAX_LENGTH = 128
# {uid} or {claim:NAME}: the only placeholders a root template may hold, each a
# whole path segment (checked when the config loads).
PLACEHOLDER = re.compile(r"\{(uid|claim:[A-Za-z0-9_.-]{1,64})\}")
# Path syntax, wildcards, CAM policy-variable syntax, percent-encoding, quotes.
FORBIDDEN_CHARACTERS = frozenset("/\\*?$%{}:\"'<>|#[]`")


def _reject(reason: str, what: str) -> Forbidden:
    code = "user_id_rejected" if what == "the user ID" else "claim_rejected"
    return Forbidden(code, f"{what} cannot be used for a prefix: {reason}")


def check_user_id(
    user_id: str, pattern: re.Pattern, max_length: int = HARD_MAX_LENGTH, what: str = "the user ID"
) -> str:
    """Return `user_id` if it is safe as one path segment, else raise Forbidden (403).
    `what` names the value in the message (a claim is held to the same rules)."""
    if not user_id:
        raise _reject("it is empty", what)
    if len(user_id) > min(max_length, HARD_MAX_LENGTH):
        raise _reject("it is too long", what)
    if user_id in (".", "..") or ".." in user_id:
        raise _reject("it contains '..'", what)
    for character in user_id:
        if character in FORBIDDEN_CHARACTERS:
            raise _reject(f"it contains {character!r}", what)
        if character.isspace() or unicodedata.category(character)[0] in ("C", "Z"):
            raise _reject("it contains whitespace or control characters", what)
    # Compatibility forms (full-width solidus U+FF0F, full stop U+FF0E...) could fold to
    # path syntax by something downstream; an ID must already be in NFKC form.
    if unicodedata.normalize("NFKC", user_id) != user_id:
        raise _reject("it is not in Unicode NFKC form", what)
    if not pattern.fullmatch(user_id):
        raise _reject("it does not match the configured user_id_pattern", what)
    return user_id


def claim_value(claims: Mapping[str, Any], name: str, pattern: re.Pattern, max_length: int) -> str:
    """A token claim used as a root segment: present, a string, and as safe as a user ID."""
    what = f"the {name!r} claim"
    value = claims.get(name)
    if value is None:
        raise Forbidden("claim_rejected", f"the token has no {name!r} claim, which the root needs")
    if not is_identifier(value):
        raise Forbidden("claim_rejected", f"{what} is not a string")
    return check_user_id(str(value), pattern, max_length, what)


def render_root(
    template: str,
    user_id: str,
    claims: Optional[Mapping[str, Any]] = None,
    pattern: Optional[re.Pattern] = None,
    max_length: int = HARD_MAX_LENGTH,
) -> str:
    """``users/{uid}/`` -> ``users/alice/``; ``tenants/{claim:tenant}/...`` takes the
    checked claim (403 when missing or unsafe). Plain replacement: no format-string
    features. `user_id` must already have passed `check_user_id`."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "uid":
            return user_id
        if pattern is None:
            raise Forbidden("claim_rejected", "claims need the user-ID pattern to be checked")
        return claim_value(claims or {}, name[len("claim:") :], pattern, max_length)

    return PLACEHOLDER.sub(value, template)
