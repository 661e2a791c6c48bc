"""The user as the function names it outside the answer: STS session names, log
lines, cache and rate-limit keys. Never the raw ID (unless logging.raw_user_id)."""

from __future__ import annotations

import hashlib


def user_digest(user_id: str) -> str:
    """Short SHA-256 of a user ID: names STS sessions and stands for the user in logs."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:16]
