"""The local COS's event notifications: what the COS trigger does for a deployed
function (docs/tencent/cos-events.md §1, §2), for every upload path the local COS
serves.

The server calls one line per operation, after the object is stored or removed:
``self.notify.created("Put", request, key, stored)`` or
``self.notify.removed("Delete", request, key)``. The event (the shape of
`sts_tools.support.trigger_events.cos_record`) is queued and delivered on a background
thread, so the COS answer never waits for it; a delivery that raises is retried
(SCF retries an asynchronous invocation twice by default) and then dropped, as SCF
drops an event when its retries and retention run out.

Which request carries the signer's ``q-ak`` into the event is unverified against
COS for forms and presigned URLs (docs/uploads.md): `ak_from` says which the local
COS passes on (header always; "query" and "form" by default too).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple, Optional

from sts_tools.support.trigger_events import cos_event, cos_record

RETRY_DELAYS = (0.5, 2.0)  # two retries, as SCF's default (its delays are longer)
AK_SOURCES = ("header", "query", "form")


class Delivered(NamedTuple):
    """One notification's fate, for the playground and tests."""

    time: float
    event_name: str
    key: str
    attempts: int
    outcome: str  # delivered, or failed: <reason>
    result: Any = None  # what the function returned (the local tools show it)


class Notifier:
    """Events of one local bucket to `deliver` (e.g. the function's handler)."""

    def __init__(
        self,
        deliver: Optional[Callable[[dict[str, Any]], Any]],
        bucket: str,
        region: str,
        *,
        ak_from: tuple[str, ...] = AK_SOURCES,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.deliver = deliver
        self.bucket, self.region = bucket, region
        self.ak_from = ak_from
        self.retry_delays = retry_delays
        self.clock = clock
        self.history: deque[Delivered] = deque(maxlen=200)
        self._queue: queue.Queue[Optional[dict[str, Any]]] = queue.Queue()
        self._ids = itertools.count(1)
        self._thread: Optional[threading.Thread] = None
        self._idle = threading.Event()
        self._idle.set()

    # -- the hooks --------------------------------------------------------------------

    def created(
        self, how: str, request: Any, key: str, stored: Any,
        form: Optional[Mapping[str, str]] = None,
    ) -> None:  # fmt: skip
        """cos:ObjectCreated:<how> (Put, Post, Copy, CompleteMultipartUpload)."""
        etag = f'"{stored.etag}"'
        self._queue_event(f"cos:ObjectCreated:{how}", request, key, len(stored.body), etag,
                          stored.content_type, stored.metadata, form)  # fmt: skip

    def removed(self, how: str, request: Any, key: str) -> None:
        """cos:ObjectRemove:<how> (Delete)."""
        self._queue_event(f"cos:ObjectRemove:{how}", request, key, 0, "", "", {}, None)

    # -- delivery ------------------------------------------------------------------------

    def wait(self, timeout: float = 10.0) -> bool:
        """Until every queued event is delivered or dropped (tests, the playground)."""
        return self._idle.wait(timeout)

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def _queue_event(
        self, name: str, request: Any, key: str, size: int, etag: str, content_type: str,
        metadata: Mapping[str, str], form: Optional[Mapping[str, str]],
    ) -> None:  # fmt: skip
        if self.deliver is None:
            return
        record = cos_record(
            name, self.bucket, self.region, key, size=size, etag=etag,
            content_type=content_type, metadata=metadata,
            authorization=self._authorization(request, form), event_time=int(self.clock()),
            request_id=f"local-{next(self._ids)}", source_ip=request.client_ip,
        )  # fmt: skip
        self._idle.clear()
        self._queue.put(cos_event(record))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cos-events", daemon=True)
            self._thread.start()

    def _authorization(self, request: Any, form: Optional[Mapping[str, str]]) -> Optional[str]:
        """What the event's requestHeaders.Authorization holds: the header as sent;
        for a presigned URL or a form, the signature's fields in the header's form."""
        header = request.headers.get("authorization")
        if header:
            return header
        if "query" in self.ak_from and request.param("q-ak"):
            return f"q-sign-algorithm=sha1&q-ak={request.param('q-ak')}"
        fields = {k.lower(): v for k, v in (form or {}).items()}
        if "form" in self.ak_from:
            if fields.get("q-ak"):
                return f"q-sign-algorithm=sha1&q-ak={fields['q-ak']}"
            if fields.get("signature"):  # the wx SDK's header-style form field
                return fields["signature"]
        return None

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            self._send(event)
            if self._queue.empty():
                self._idle.set()

    def _send(self, event: dict[str, Any]) -> None:
        record = event["Records"][0]
        name = record["event"]["eventName"]
        key = record["cos"]["cosObject"]["key"].split("/", 3)[3]
        outcome, attempts, deliver, result = "", 0, self.deliver, None
        for delay in (0.0, *self.retry_delays):
            time.sleep(delay)
            attempts += 1
            try:
                if deliver is not None:
                    result = deliver(event)
                outcome = "delivered"
                break
            except Exception as error:  # the function failed: SCF retries
                outcome = f"failed: {str(error)[:120]}"
        self.history.append(Delivered(self.clock(), name, key, attempts, outcome, result))
