"""The local STS over HTTP(S): the front that applies scripted faults, then lets
`protocol` answer from the `backend`'s state."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Optional

from sts_tools.emulators.keyring import Keyring
from sts_tools.emulators.sts.backend import Call, EmulatorKey, Fault, StsBackend
from sts_tools.emulators.sts.protocol import Scheme, answer, error_document
from sts_tools.support.loopback import LoopbackServer, Serving

MAX_BODY = 1 << 20
# STS does not document its inline-policy limit; CAM's stored-policy limit is a
# conservative stand-in (docs/tencent/cam-policy.md §10).
MAX_POLICY_CHARS = 6144


class StsEmulator(Serving):
    """Start with `start()` or as a context manager; `endpoint` is its base URL.
    Tests script failures with `script(Fault...)`; each request consumes the next."""

    def __init__(
        self,
        keys: Optional[Mapping[str, EmulatorKey]] = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: Optional[ssl.SSLContext] = None,
        clock: Callable[[], float] = time.time,
        root_account: bool = False,
        max_policy_chars: int = MAX_POLICY_CHARS,
        keyring: Optional[Keyring] = None,
        schemes: Optional[Mapping[str, Scheme]] = None,
    ) -> None:
        self.backend = StsBackend(
            keys, clock=clock, root_account=root_account, max_policy_chars=max_policy_chars,
            keyring=keyring,
        )  # fmt: skip
        self.schemes = dict(schemes or {})
        self._server = LoopbackServer(
            _Handler, self, host, port, name="sts-emulator", tls=tls,
            on_connect=self.backend.connected, poll_interval=0.5,
        )  # fmt: skip

    # -- what tests and the local COS read --------------------------------------------

    @property
    def keys(self) -> dict[str, EmulatorKey]:
        return self.backend.keys

    @property
    def keyring(self) -> Keyring:
        return self.backend.keyring

    @property
    def calls(self) -> list[Call]:
        return self.backend.calls

    @property
    def connections(self) -> int:
        return self.backend.connections

    @property
    def requests_seen(self) -> int:
        return self.backend.requests_seen

    @property
    def endpoint(self) -> str:
        return self._server.url

    def script(self, *faults: Fault) -> None:
        self.backend.script(*faults)

    def reset(self) -> None:
        self.backend.reset()

    def handle(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """Answer one POST without a socket: the JSON document STS would send."""
        return answer(self.backend, headers, body, self.schemes)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines would only add noise to test output

    def do_POST(self) -> None:
        emulator: StsEmulator = self.server.owner  # type: ignore[attr-defined]
        began = emulator.backend.generation
        fault = emulator.backend.next_fault()
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, b"")
            return
        body = self.rfile.read(length)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
            if emulator.backend.generation != began:
                # Reset while stalled: the test that scripted the stall is over, and
                # a call recorded now would land in the next test's count.
                self.close_connection = True
                return
        if fault is not None and fault.kind == "http":
            self._send(fault.status, fault.body)
            return
        if fault is not None and fault.kind == "error":
            document = error_document(fault.code, fault.message)
        else:
            headers = {name.lower(): value for name, value in self.headers.items()}
            document = emulator.handle(headers, body)
        self._send(200, json.dumps(document).encode("utf-8"))

    def do_GET(self) -> None:
        self._send(405, b"")

    def _send(self, status: int, body: bytes) -> None:
        # Status line, headers and body in a single write: with TCP_NODELAY this
        # keeps delayed-ACK stalls out of latency measurements.
        head = (
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n\r\n"
        ).encode("latin-1")
        self.wfile.write(head + body)
        self.wfile.flush()


def main(argv: Optional[list[str]] = None, schemes: Optional[Mapping[str, Scheme]] = None) -> None:
    """Run the emulator in the foreground until Ctrl-C."""
    import argparse

    from sts_tools.emulators.sts.backend import DEV_SECRET_ID, DEV_SECRET_KEY

    parser = argparse.ArgumentParser(
        prog="python -m sts_tools.emulators.sts.server", description=main.__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100, help="0 picks a free port")
    parser.add_argument("--certfile", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--keyfile", help="the certificate's private key (PEM)")
    args = parser.parse_args(argv)
    tls = None
    if args.certfile:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.certfile, args.keyfile)
    server = StsEmulator(host=args.host, port=args.port, tls=tls, schemes=schemes).start()
    print(f"STS emulator listening on {server.endpoint} (fake credentials only)", flush=True)
    print(f"  permanent key: STS_SECRET_ID={DEV_SECRET_ID} STS_SECRET_KEY={DEV_SECRET_KEY}")
    print(f"  STS_ENDPOINT={server.endpoint}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
