"""A request whose Content-Length is not one decimal number gets 400 from every
local stand-in (issue 24): the endpoint's gateway used to drop the connection on
``abc``, and it and the local COS waited forever on ``-1`` (reading to EOF). The
check lives in the servers' shared base (sts_tools/support/loopback.py).

Raw sockets: no HTTP client sends such a header.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

import index
from sts_tools.emulators.gateway import DevServer
from tests.support import make_env, make_service

BAD = {
    "letters": ["abc"],
    "negative": ["-1"],
    "plus-sign": ["+5"],
    "underscore": ["1_0"],
    "hex": ["0x10"],
    "list": ["5, 5"],
    "two-values": ["5", "6"],
    "empty": [""],
}


@pytest.fixture(scope="module")
def gateway(sts_emulator):
    service = make_service(make_env(sts_emulator.endpoint))
    server = DevServer(lambda event, context: index.handle(service, event, context), port=0)
    yield server.start().url
    server.stop()


@pytest.fixture(params=["gateway", "local-cos", "sts-emulator"])
def url(request, gateway, local_cos, sts_emulator):
    return {"gateway": gateway + "/sts", "local-cos": local_cos.endpoint + "/users/alice/a.txt",
            "sts-emulator": sts_emulator.endpoint + "/"}[request.param]  # fmt: skip


def send(url: str, lengths: list[str], body: bytes = b"", close: bool = False) -> bytes:
    """One raw request; everything the server answers until it closes (or 5 s pass).
    `close`: ask for the connection to close after the answer (else a well-formed
    request's keep-alive connection stays open until the timeout)."""
    parts = urlsplit(url)
    head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += "Connection: close\r\n" if close else ""
    head += "".join(f"Content-Length: {value}\r\n" for value in lengths)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            pass  # still open after 5 s: the hang this guards against
    return answer


@pytest.mark.parametrize("lengths", BAD.values(), ids=BAD.keys())
def test_a_malformed_content_length_is_400_and_the_connection_closes(url, lengths):
    answer = send(url, lengths, b"hello")
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"Connection: close" in answer


def test_a_wellformed_length_reaches_the_handler(url):
    """The twin: the same request with a true length is answered by the stand-in
    itself (its own status, not the base's 400)."""
    answer = send(url, ["5"], b"hello", close=True)
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    assert not answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:300]
