"""A loopback receiver of the function's signed webhook: what `python -m sts_tools
webhook-listen`, the playground, the tests and the benchmark point STS_WEBHOOK_URL
at. Each delivery is verified with Standard Webhooks' own library
(``standardwebhooks``, a development dependency: the oracle, never our signer),
deduplicated on ``webhook-id``, kept, and answered with `status` (a test sets 500
or a delay to see the function fail and SCF retry)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, NamedTuple, Optional

from .loopback import LoopbackServer

INSTALL_HINT = "pip install standardwebhooks (it is in requirements-dev.txt)"


class Delivery(NamedTuple):
    webhook_id: str
    verified: bool
    duplicate: bool  # its webhook-id was accepted before
    accepted: bool  # verified and answered 2xx
    payload: Any  # the parsed body when verified, else None
    error: str  # why verification failed ("" when verified)


def verifier(secret: str) -> Callable[[bytes, dict[str, str]], Any]:
    """Standard Webhooks' verification (ImportError with INSTALL_HINT without it)."""
    try:
        from standardwebhooks.webhooks import Webhook
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    hook = Webhook(secret)
    return hook.verify


class WebhookReceiver:
    def __init__(
        self,
        secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_delivery: Optional[Callable[[Delivery], None]] = None,
    ) -> None:
        self.verify = verifier(secret)
        self.secret = secret
        self.deliveries: deque[Delivery] = deque(maxlen=1000)
        self.seen: set[str] = set()
        self.status = 204
        self.delay = 0.0
        self.on_delivery = on_delivery
        self._lock = threading.Lock()
        self._server = LoopbackServer(_Handler, self, host, port, name="webhook-receiver")

    @property
    def url(self) -> str:
        return self._server.url + "/webhook"

    def start(self) -> WebhookReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def verified(self) -> list[Any]:
        """Each verified message once (a retry of a delivered id is not repeated)."""
        with self._lock:
            return [d.payload for d in self.deliveries if d.accepted and not d.duplicate]

    def receive(self, body: bytes, headers: dict[str, str]) -> Delivery:
        webhook_id = headers.get("webhook-id", "")
        try:
            self.verify(body, headers)
            payload, error = json.loads(body), ""
        except Exception as exc:
            payload, error = None, f"{type(exc).__name__}: {exc}"
        with self._lock:
            accepted = self.status < 300 and payload is not None
            duplicate = webhook_id in self.seen
            if accepted:
                self.seen.add(webhook_id)
            delivery = Delivery(
                webhook_id, payload is not None, duplicate, accepted, payload, error
            )
            self.deliveries.append(delivery)
        if self.on_delivery is not None:
            self.on_delivery(delivery)
        return delivery


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        receiver: WebhookReceiver = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(min(length, 1 << 20))
        headers = {name.lower(): value for name, value in self.headers.items()}
        if receiver.delay:
            time.sleep(receiver.delay)
        delivery = receiver.receive(body, headers)
        status = receiver.status if delivery.verified else 400
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
