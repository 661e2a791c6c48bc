"""Temporary credentials as STS issued them: what the caches keep, tickets are signed
with, and the function hands out. Shared by the STS client, the caches, the
tickets' signing key and the handler."""

from __future__ import annotations

from typing import NamedTuple


class IssuedCredentials(NamedTuple):
    tmp_secret_id: str
    tmp_secret_key: str
    session_token: str
    start_time: int = 0
    expired_time: int = 0
    expiration: str = ""
    request_id: str = ""
    attempts: int = 1

    def __repr__(self) -> str:  # the temporary key and token stay out of logs
        return (
            f"IssuedCredentials(tmp_secret_id={self.tmp_secret_id!r}, "
            f"expired_time={self.expired_time}, request_id={self.request_id!r})"
        )
