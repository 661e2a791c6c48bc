"""Users an operator has stopped (docs/runbook.md): checked on every request right
after the token, before any key is reused or issued and before a sign-in.

Each entry is a time T for one user: tokens issued before T (their ``iat``) are
refused with 401 ``token_revoked``, so the app signs in again (log out
everywhere); T = REVOKED refuses the user outright (403 ``user_revoked``), fresh
tokens and sign-ins included. A token without a numeric ``iat`` counts as issued
at 0 for a user with an entry.

- From the config (`revocation.users`, `revocation.not_before`): takes effect as
  instances restart with the new configuration.
- With Redis: one hash, field = the HMAC name of the user ID (redis_link.py), value
  = T, written by ``python -m sts_tools revoke``. Each instance reads the whole hash
  at most every ``revocation.refresh`` seconds (one round trip, whatever the number
  of users), so a change is in force everywhere within that time. While Redis
  fails the instance keeps the list it last read (and the config's entries).
- A user's reused keys are keyed with their entry's T (`generation`): after a
  revocation, and after ``revoke --undo`` (which leaves T at the moment of undoing:
  older tokens stay refused), keys cached before it are never handed out again, on
  any instance or in Redis.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional

from .claim_types import is_number
from .config_model import RevocationSettings
from .errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from .redis_link import RedisLink

REVOKED = 1 << 40  # "tokens issued before the year 36812": every token
NAME_KIND = "rv"  # the kind of a user's field name (RedisLink.name)
HASH_SUFFIX = "{rv}:users"  # the hash's key, after the configured key prefix


def hash_key(link: RedisLink) -> str:
    return f"{link.key_prefix}{HASH_SUFFIX}"


def field_name(link: RedisLink, user_id: str) -> str:
    return link.name(NAME_KIND, user_id.encode("utf-8"))


class Revocations:
    def __init__(
        self,
        settings: RevocationSettings,
        link: Optional[RedisLink] = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._configured: dict[str, int] = dict.fromkeys(settings.users, REVOKED)
        for user, when in settings.not_before.items():
            self._configured[user] = max(when, self._configured.get(user, 0))
        self.refresh = settings.refresh
        self.link = link
        self._shared: dict[str, int] = {}  # field name -> T, as last read
        self._read_at = float("-inf")
        self._monotonic = monotonic

    def not_before(self, user_id: str, deadline: float, on_failure: Callable[[str], None]) -> int:
        """The user's T, or 0 when no entry stops them."""
        configured = self._configured.get(user_id, 0)
        if self.link is None:
            return configured
        self._maybe_read(deadline, on_failure)
        if not self._shared:
            return configured
        return max(configured, self._shared.get(field_name(self.link, user_id), 0))

    def check(
        self,
        user_id: str,
        claims: Mapping[str, Any],
        deadline: float,
        on_failure: Callable[[str], None],
    ) -> int:
        """Raise if the user or this token is refused; else the user's generation."""
        not_before = self.not_before(user_id, deadline, on_failure)
        if not not_before:
            return 0
        if not_before >= REVOKED:
            raise Forbidden("user_revoked", "this user may not use the service")
        issued_at = claims.get("iat")
        if not is_number(issued_at):
            issued_at = 0
        if issued_at < not_before:
            raise Unauthorized("token_revoked", "this token was revoked; sign in again")
        return not_before

    def _maybe_read(self, deadline: float, on_failure: Callable[[str], None]) -> None:
        now = self._monotonic()
        if now - self._read_at < self.refresh:
            return
        link = self.link
        if link is None:
            return
        try:
            reply = link.command(deadline, "HGETALL", hash_key(link))
        except link.Error as error:
            on_failure(error.kind)
            return
        self._read_at = now
        self._shared = _parse(reply)


def _parse(reply: Any) -> dict[str, int]:
    """HGETALL's flat [field, value, ...] (or a dict): values that are not whole
    numbers are skipped, never an error."""
    if not isinstance(reply, (list, dict)):
        return {}
    pairs = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2])
    entries: dict[str, int] = {}
    for field, value in pairs:
        try:
            name = field.decode("ascii") if isinstance(field, bytes) else str(field)
            entries[name] = min(int(value), REVOKED)
        except (TypeError, ValueError, UnicodeDecodeError):
            continue
    return entries
