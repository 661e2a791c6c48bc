"""Which URLs the function will talk to, or send clients to: https, or plain http to
this machine only. One rule for every configured endpoint (STS, JWKS and its
discovered ``jwks_uri``, WeChat/QQ, the tickets' COS endpoint).

Loopback means ``localhost``, ``127.0.0.1``, ``::1`` and any name under
``.localhost``: RFC 6761 §6.3 reserves those names for the loopback interface, and
the local stack names its COS ``<bucket>.cos.<region>.localhost`` (browsers and curl
resolve it there). A name that merely contains "localhost" (``localhost.example``,
``evillocalhost``) is not loopback.
"""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def is_loopback(hostname: Optional[str]) -> bool:
    """`hostname` as urlsplit gives it (lower case, no brackets)."""
    if not hostname:
        return False
    return hostname in LOOPBACK_HOSTS or hostname.endswith(".localhost")


def https_or_loopback(url: str) -> bool:
    """True for an https URL with a host, or an http URL to a loopback host: plain
    http elsewhere would carry tokens, keys or signed requests in clear text."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # a malformed [IPv6] host
        return False
    if not hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(hostname))
