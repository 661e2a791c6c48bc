"""The COS APIs the local COS knows, and which CAM action each is checked for
(docs/tencent/cos-api.md §1, docs/tencent/cam-policy.md §1).

An API's request-level action is ``name/cos:<its name>``, except for the APIs below
whose name is not a CAM action: a copy is checked as the write it performs (plus a
read of its source, `SOURCE_ACTION`), and Delete Multiple Objects has no action of its
own: each listed key is checked as a DeleteObject (`PER_KEY_ACTION`).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

COS = "name/cos:"
# Request-level action of the APIs named otherwise (docs/tencent/cam-policy.md §1: the
# destination of PUT Object - Copy is PutObject, of Upload Part - Copy UploadPart).
ACTION_OF = {"PutObjectCopy": "PutObject", "UploadPartCopy": "UploadPart"}
# What a copy's source must allow (docs/tencent/cam-policy.md §1).
SOURCE_ACTION = COS + "GetObject"
# APIs checked per listed key, with no request-level action (docs/tencent/cam-policy.md §1).
PER_KEY_ACTION = {"DeleteMultipleObjects": COS + "DeleteObject"}
BUCKET_LEVEL = frozenset({"ListMultipartUploads", "GetBucket", "HeadBucket"})


class Api(NamedTuple):
    name: str  # e.g. "PutObject"; the handler's and the log's name

    @property
    def action(self) -> Optional[str]:
        """The CAM action checked for the request as a whole; None: checked per key."""
        if self.name in PER_KEY_ACTION:
            return None
        return COS + ACTION_OF.get(self.name, self.name)

    @property
    def bucket_level(self) -> bool:
        return self.name in BUCKET_LEVEL
