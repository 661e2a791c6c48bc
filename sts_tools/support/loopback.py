"""One HTTP server on a background thread: what every local stand-in is built on
(the endpoint's gateway, the STS emulator, the local COS, the playground, the
tests' identity provider).

The socket is bound when the server is made, so its port is known before it
serves; a port that is taken raises `PortInUse` naming it (no traceback for the
user to read). Each accepted connection gets TCP_NODELAY: the stand-ins answer
in one write, and Nagle plus delayed ACKs would add ~40 ms to every keep-alive
request. A client that hangs up is not an error worth printing.

Every stand-in's requests pass one check before its handler sees them: a
Content-Length that is not a single decimal number (``abc``, ``-1``, ``+5``, two
different values) is answered 400 and the connection closed, as RFC 9112 §6.3
asks, instead of the handler dropping the connection or reading to EOF forever.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, TypeVar

QUIET_ERRORS = (ConnectionError, ssl.SSLError, TimeoutError)
CONTENT_LENGTH_RE = re.compile(r"[0-9]{1,18}")  # RFC 9112 §6.2: 1*DIGIT (and a sane size)


class _ContentLengthChecked(BaseHTTPRequestHandler):
    """Mixed in before each stand-in's handler (see LoopbackServer)."""

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        values = self.headers.get_all("Content-Length") or []
        if values and (len(set(values)) > 1 or not CONTENT_LENGTH_RE.fullmatch(values[0])):
            # send_error closes the connection: the body's end is unknown.
            self.send_error(400, "Bad Request", "Content-Length is not one decimal number")
            return False
        return True


class PortInUse(OSError):
    """The port is taken by another program."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"{host}:{port} is already in use")
        self.host = host
        self.port = port


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        owner: Any,
        tls: Optional[ssl.SSLContext],
        on_connect: Optional[Callable[[], None]],
    ) -> None:
        self.owner = owner  # what the handler serves: `self.server.owner`
        self.tls = tls
        self.on_connect = on_connect
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.on_connect is not None:
            self.on_connect()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], QUIET_ERRORS):
            super().handle_error(request, client_address)


class LoopbackServer:
    """`handler` serves `owner` (reachable as ``self.server.owner``). Start with
    `start()` or as a context manager."""

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        owner: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str = "loopback",
        tls: Optional[ssl.SSLContext] = None,
        on_connect: Optional[Callable[[], None]] = None,
        poll_interval: float = 0.05,
    ) -> None:
        checked = type(handler.__name__, (_ContentLengthChecked, handler), {})
        try:
            self._server = _Server((host, port), checked, owner, tls, on_connect)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(host, port) from None
            raise
        self.name = name
        self._poll = poll_interval
        self._thread: Optional[threading.Thread] = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self._server.tls is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": self._poll},
            name=self.name, daemon=True,
        )  # fmt: skip
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for_interrupt(ready: Optional[str] = None) -> None:
    """Block until Ctrl-C or SIGTERM (what the local servers' commands run until).
    `ready`: printed once the handlers are in place, so whoever reads it ("Ctrl-C
    stops.") may send the signal at once."""
    import signal
    import time

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    # Both, explicitly: a background job starts with SIGINT ignored.
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    if ready is not None:
        print(ready, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


_Running = TypeVar("_Running", bound="Serving")


class Serving:
    """start/stop and the context manager of a stand-in that serves through the
    `LoopbackServer` it keeps as `_server`."""

    _server: LoopbackServer

    def start(self: _Running) -> _Running:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self: _Running) -> _Running:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
