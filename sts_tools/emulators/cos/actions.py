"""Which COS API a request is, and so which CAM action COS checks (docs/tencent/cos-api.md §1).

One table keyed by (method, level, query flag), in the order the flags are
tested, so adding an API is one row. The first matching row wins.
"""

from __future__ import annotations

from collections.abc import Container
from typing import NamedTuple, Optional

OBJECT, BUCKET = "object", "bucket"


class Api(NamedTuple):
    name: str  # e.g. "PutObject"; the store method and log name

    @property
    def action(self) -> str:
        return f"name/cos:{self.name}"

    @property
    def bucket_level(self) -> bool:
        return self.name in BUCKET_LEVEL


# (method, level, query parameter that must be present or None) -> API name
TABLE: tuple[tuple[str, str, Optional[str], str], ...] = (
    ("PUT", OBJECT, "uploadId", "UploadPart"),
    ("PUT", OBJECT, None, "PutObject"),
    ("GET", OBJECT, "uploadId", "ListParts"),
    ("GET", OBJECT, None, "GetObject"),
    ("HEAD", OBJECT, None, "HeadObject"),
    ("DELETE", OBJECT, "uploadId", "AbortMultipartUpload"),
    ("DELETE", OBJECT, None, "DeleteObject"),
    ("POST", OBJECT, "uploads", "InitiateMultipartUpload"),
    ("POST", OBJECT, "uploadId", "CompleteMultipartUpload"),
    ("POST", OBJECT, "append", "AppendObject"),
    ("GET", BUCKET, "uploads", "ListMultipartUploads"),
    ("GET", BUCKET, None, "GetBucket"),
    ("HEAD", BUCKET, None, "HeadBucket"),
    ("POST", BUCKET, None, "PostObject"),
)
BUCKET_LEVEL = frozenset({"ListMultipartUploads", "GetBucket", "HeadBucket"})
# Sub-resources we do not emulate (ACLs, tagging, ...): better a clear refusal
# than treating `PUT /key?acl` as a PutObject that overwrites the object.
UNSUPPORTED_FLAGS = frozenset(
    {"acl", "tagging", "cors", "policy", "lifecycle", "versioning", "versions", "delete",
     "restore", "select", "website", "referer", "domain", "logging", "inventory", "torrent"}
)  # fmt: skip


def api_for(method: str, key: str, query: Container[str]) -> Optional[Api]:
    """The API a request calls; `query` holds the decoded parameter names. None:
    a request the local COS does not serve."""
    if any(flag in query for flag in UNSUPPORTED_FLAGS):
        return None
    level = OBJECT if key else BUCKET
    for row_method, row_level, flag, name in TABLE:
        if row_method == method and row_level == level and (flag is None or flag in query):
            return Api(name)
    return None
