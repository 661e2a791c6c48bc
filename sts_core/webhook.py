"""The signed webhook to the app's server (docs/tencent/cos-events.md §3).

Standard Webhooks: the body is JSON; the headers are ``webhook-id`` (derived from
the COS event, so every retry of the same event carries the same id: the
receiver's idempotency key), ``webhook-timestamp`` (Unix seconds, the time of
sending) and ``webhook-signature: v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>.<body>">`` under the secret's bytes (``whsec_<base64>``).

Delivery is one POST with bounded timeouts; any answer but 2xx, a timeout or a
network error raises `DeliveryFailed`, which fails the invocation so that SCF's
asynchronous retry delivers the event again. Nothing secret goes into the body,
the headers' values other than the signature, or an error message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Optional

SECRET_PREFIX = "whsec_"  # noqa: S105 - the convention's prefix, not a secret
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
MIN_SECRET_BYTES = 24


class DeliveryFailed(Exception):
    """The app's server did not take the delivery; the message is safe to log."""


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (ValueError when malformed)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("must be whsec_ followed by Base64 (Standard Webhooks)")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        raise ValueError("must be whsec_ followed by Base64 (Standard Webhooks)") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"must hold at least {MIN_SECRET_BYTES} random bytes")
    return key


def message_id(identity: str) -> str:
    """A webhook-id that depends only on the event, so a retry repeats it."""
    return "msg_" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_request(
    key: bytes, msg_id: str, timestamp: int, payload: dict[str, Any]
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, msg_id, timestamp, body),
    }
    return body, headers


class Webhook:
    """One warm instance's sender (a keep-alive session)."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self._key = secret_bytes(secret)
        self._session: Optional[Any] = None

    def __repr__(self) -> str:  # the URL may carry a token of the app's; the key never shows
        return "Webhook(...)"

    def deliver(self, msg_id: str, payload: dict[str, Any], now: float, time_left: float) -> int:
        """POST once within `time_left` seconds; the status, or DeliveryFailed."""
        import requests

        if time_left < 0.1:
            raise DeliveryFailed("no time left in the invocation to deliver")
        body, headers = signed_request(self._key, msg_id, int(now), payload)
        if self._session is None:
            self._session = requests.Session()
            self._session.trust_env = False  # no proxy settings from the environment
        # Connecting and reading together stay within the time left.
        timeout = (min(CONNECT_TIMEOUT, time_left / 2), min(READ_TIMEOUT, time_left / 2))
        try:
            response = self._session.post(
                self.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            )
        except requests.Timeout:
            raise DeliveryFailed("the webhook timed out") from None
        except requests.RequestException as error:
            raise DeliveryFailed(
                f"the webhook could not be reached ({type(error).__name__})"
            ) from None
        response.close()
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"the webhook answered {response.status_code}")
        return response.status_code
