"""What the local COS answers: the `Response` value, and the one way an error becomes one.

Every refusal, whether the service, the HTTP front (a body too large) or a bug (500)
produced it, is rendered by `error_response`: COS's ``<Error>`` document
(docs/tencent/cos-api.md §4), no body on a HEAD.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from sts_tools.emulators.cos.errors import CosError, error_xml

XML = ("Content-Type", "application/xml")


class Response(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    # An object's own answer (GET, HEAD): its stored Cache-Control decides, not ours.
    object_answer: bool = False


def xml(document: bytes, status: int = 200) -> Response:
    return Response(status, [XML], document)


def quoted(etag: str) -> str:
    return f'"{etag}"'


def error_response(
    error: CosError,
    resource: str,
    request_id: str,
    message: Optional[str] = None,
    *,
    head: bool = False,
) -> Response:
    """`error` as COS answers it. `resource` is ``host/key``; `message` replaces the
    code's default <Message> (the local COS appends its reason there)."""
    body = b"" if head else error_xml(error, resource, request_id, message)
    return Response(error.status, [XML], body)
