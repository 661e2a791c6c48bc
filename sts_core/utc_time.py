"""Timestamps as text, always in UTC (never the machine's local time)."""

from __future__ import annotations

import time


def iso8601(timestamp: float) -> str:
    """``2019-02-25T05:24:25Z``: STS's Expiration, a PostObject policy's expiration."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def utc_date(timestamp: float) -> str:
    """``2019-02-25``: the UTC calendar date (TC3's credential scope, upload folders)."""
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))
