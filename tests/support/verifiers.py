"""Token verifiers as tests read them: the user ID alone (the product asks for the
user ID and claims together, `identity`)."""

from __future__ import annotations

from typing import Any, Optional


def user_id_of(verifier: Any, authorization: Optional[str], deadline: Optional[float] = None):
    """The user ID a verifier accepts `authorization` for (raises as `identity` does)."""
    return verifier.identity(authorization, deadline)[0]
