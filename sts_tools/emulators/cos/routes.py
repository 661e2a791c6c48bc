"""Which API a request calls, and the function that serves it: one registry.

A row is (method, level, query parameter that must be present, header that must be
present, handler); the first matching row wins, so the more specific rows come
first. The API's name is the handler's, in COS's spelling (`Api`), so a row cannot
name an API without serving it, and an API the table lacks (Append Object, ACLs,
tagging, ...) is refused as 405 before any key is looked at.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from sts_tools.emulators.cos import buckets, multipart, objects
from sts_tools.emulators.cos.actions import Api
from sts_tools.emulators.cos.call import Handler
from sts_tools.emulators.cos.request import COPY_SOURCE, CosRequest

OBJECT, BUCKET = "object", "bucket"


class Route(NamedTuple):
    method: str
    level: str  # OBJECT (a key in the path) or BUCKET ("/")
    flag: Optional[str]  # a query parameter the request must carry
    header: Optional[str]  # a header the request must carry
    handler: Handler

    @property
    def api(self) -> Api:
        return Api(_api_name(self.handler))


def _api_name(handler: Handler) -> str:
    # put_object_copy -> PutObjectCopy
    return "".join(part.capitalize() for part in handler.__name__.split("_"))


ROUTES: tuple[Route, ...] = (
    Route("PUT", OBJECT, "uploadId", COPY_SOURCE, multipart.upload_part_copy),
    Route("PUT", OBJECT, "uploadId", None, multipart.upload_part),
    Route("PUT", OBJECT, None, COPY_SOURCE, objects.put_object_copy),
    Route("PUT", OBJECT, None, None, objects.put_object),
    Route("GET", OBJECT, "uploadId", None, multipart.list_parts),
    Route("GET", OBJECT, None, None, objects.get_object),
    Route("HEAD", OBJECT, None, None, objects.head_object),
    Route("DELETE", OBJECT, "uploadId", None, multipart.abort_multipart_upload),
    Route("DELETE", OBJECT, None, None, objects.delete_object),
    Route("POST", OBJECT, "uploads", None, multipart.initiate_multipart_upload),
    Route("POST", OBJECT, "uploadId", None, multipart.complete_multipart_upload),
    Route("GET", BUCKET, "uploads", None, multipart.list_multipart_uploads),
    Route("GET", BUCKET, None, None, buckets.get_bucket),
    Route("HEAD", BUCKET, None, None, buckets.head_bucket),
    Route("POST", BUCKET, "delete", None, buckets.delete_multiple_objects),
    Route("POST", BUCKET, None, None, objects.post_object),
)
# Sub-resources the local COS does not serve (ACLs, tagging, appends, ...): better a clear
# refusal than treating `PUT /key?acl` as a PutObject that overwrites the object.
UNSUPPORTED_FLAGS = frozenset(
    {"acl", "tagging", "cors", "policy", "lifecycle", "versioning", "versions", "append",
     "restore", "select", "website", "referer", "domain", "logging", "inventory", "torrent"}
)  # fmt: skip


def check_routes(routes: tuple[Route, ...]) -> None:
    """Every row serves an API, and no two rows serve the same one (checked at import)."""
    names = [_api_name(route.handler) for route in routes if callable(route.handler)]
    if len(names) != len(routes):
        raise TypeError("a route without a handler")
    if len(set(names)) != len(names):
        raise TypeError(f"an API routed twice: {sorted(names)}")


check_routes(ROUTES)


def route_for(request: CosRequest) -> Optional[Route]:
    """The row serving `request`; None: a request the local COS does not serve."""
    names = request.parameter_names
    if names & UNSUPPORTED_FLAGS:
        return None
    level = OBJECT if request.key else BUCKET
    for route in ROUTES:
        if (
            route.method == request.method
            and route.level == level
            and (route.flag is None or route.flag in names)
            and (route.header is None or route.header in request.headers)
        ):
            return route
    return None
