"""The local jscode2session over HTTP: the front that applies scripted faults, then
lets `protocol` answer from the `backend`'s state. Serves /sns/jscode2session."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Optional
from urllib.parse import parse_qsl, urlsplit

from sts_tools.emulators.wechat.backend import WxBackend, WxFault
from sts_tools.emulators.wechat.protocol import answer, error_document
from sts_tools.support.loopback import LoopbackServer, Serving

PATH = "/sns/jscode2session"


class WxEmulator(Serving):
    """Start with `start()` or as a context manager; `endpoint` is the full
    jscode2session URL (what STS_WX_ENDPOINT / STS_QQ_ENDPOINT take)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 apps: Optional[dict[str, str]] = None) -> None:  # fmt: skip
        self.backend = WxBackend(apps)
        self._server = LoopbackServer(_Handler, self, host, port, name="wx-emulator",
                                      poll_interval=0.5)  # fmt: skip

    @property
    def endpoint(self) -> str:
        return self._server.url + PATH

    @property
    def port(self) -> int:
        return self._server.port

    def script(self, *faults: WxFault) -> None:
        self.backend.script(*faults)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the query holds the AppSecret: never printed

    def do_GET(self) -> None:
        emulator: WxEmulator = self.server.owner  # type: ignore[attr-defined]
        where = urlsplit(self.path)
        if where.path != PATH:
            self._send(404, b"")
            return
        fault = emulator.backend.next_fault()
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "http":
            self._send(fault.status, b"<html>error</html>")
            return
        if fault is not None and fault.kind == "errcode":
            document = error_document(fault.errcode)
        else:
            document = answer(emulator.backend, dict(parse_qsl(where.query)))
        self._send(200, json.dumps(document).encode("utf-8"))

    def _send(self, status: int, body: bytes) -> None:
        head = (
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
            "Content-Type: text/plain\r\n"  # WeChat's own: JSON, but not labelled so
            f"Content-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n\r\n"
        ).encode("latin-1")
        self.wfile.write(head + body)
        self.wfile.flush()


def main(argv: Optional[list[str]] = None) -> None:
    """Run the stand-in in the foreground until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sts_tools.emulators.wechat.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9103, help="0 picks a free port")
    args = parser.parse_args(argv)
    server = WxEmulator(host=args.host, port=args.port).start()
    print(f"jscode2session stand-in: STS_WX_ENDPOINT={server.endpoint}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
