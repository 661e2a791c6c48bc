"""The COS CAM action names, and which of them a profile may grant.

CAM matches action names exactly and case-sensitively, and an unknown name in a
policy is not an error anywhere: STS issues the keys and COS then answers 403 at
upload time. So configured names are checked against this table at cold start
(source: COS's "API authorization policy" guide, listed with page and line in
docs/tencent/cam-policy.md §1; SDKs are no source: the JS SDK sends wrong names
for two APIs).

- Object actions act on keys, so they can be confined to a caller's root.
- Listings are bucket-level requests confined by their ``prefix`` parameter.
- Every other bucket-level action (and GetService) acts on the whole bucket and
  is never granted; the names are known so the message can say so.
"""

from __future__ import annotations

import re
from typing import Optional

COS = "name/cos:"
# Cloud Infinite publishes hundreds of action names and no single table: they are
# only checked for shape, and are granted on the caller's own root alone.
CI_ACTION_RE = re.compile(r"^name/ci:[A-Z][A-Za-z]{2,63}$")

# DeleteObject also grants Delete Multiple Objects (POST /?delete), which COS checks per
# key as DeleteObject and which has no action of its own (docs/tencent/cam-policy.md §1).
OBJECT_ACTIONS = frozenset(
    COS + name
    for name in (
        "PutObject", "PostObject", "AppendObject", "HeadObject", "GetObject",
        "InitiateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
        "AbortMultipartUpload", "ListParts", "DeleteObject", "GetObjectACL",
        "OptionsObject", "PostObjectRestore", "PutObjectTagging", "GetObjectTagging",
        "DeleteObjectTagging",
    )
)  # fmt: skip
LISTING_ACTIONS = (COS + "GetBucket", COS + "ListMultipartUploads")
# Real, but never granted: a caller could make their objects world-readable
# (an XML ACL body carries no header a condition could pin).
ACL_WRITE_ACTIONS = frozenset({COS + "PutObjectACL"})
BUCKET_ACTIONS = frozenset(
    COS + name
    for name in (
        "GetService", "PutBucket", "HeadBucket", "DeleteBucket", "PutBucketACL",
        "GetBucketACL", "PutBucketCORS", "GetBucketCORS", "DeleteBucketCORS",
        "PutBucketLifecycle", "GetBucketLifecycle", "DeleteBucketLifecycle",
        "GetBucketLocation", "PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy",
        "PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging", "PutBucketVersioning",
        "GetBucketVersioning", "PutBucketReplication", "GetBucketReplication",
        "DeleteBucketReplication", "PutBucketWebsite", "GetBucketWebsite",
        "DeleteBucketWebsite", "PutBucketReferer", "GetBucketReferer", "PutBucketDomain",
        "GetBucketDomain", "DeleteBucketDomain", "PutBucketOrigin", "GetBucketOrigin",
        "DeleteBucketOrigin", "PutBucketLogging", "GetBucketLogging", "GetBucketInventory",
        "ListBucketInventory", "DeleteBucketInventory", "PutBucketAccelerate",
        "GetBucketAccelerate", "PutBucketEncryption", "GetBucketEncryption",
        "DeleteBucketEncryption", "GetBucketObjectVersions",
    )
)  # fmt: skip
KNOWN_ACTIONS = OBJECT_ACTIONS | set(LISTING_ACTIONS) | ACL_WRITE_ACTIONS | BUCKET_ACTIONS

# Requests that create an object: they carry its length, type, ACL and storage class
# (of the object actions, cos:x-cos-storage-class applies to exactly these, and
# cos:x-cos-acl to these and PutObjectACL, which is never granted:
# docs/tencent/cam-policy.md §2).
LENGTH_ACTIONS = (COS + "PutObject", COS + "PostObject", COS + "AppendObject")
CREATE_ACTIONS = (*LENGTH_ACTIONS, COS + "InitiateMultipartUpload")
# What a shared area that holds other callers' roots may grant: reading only.
READ_ACTIONS = (COS + "GetObject", COS + "HeadObject", COS + "GetBucket")


def action_problem(action: str) -> Optional[str]:
    """Why `action` cannot be granted to a caller's root, or None."""
    if "*" in action:
        return f"wildcard action {action!r} is not allowed; list actions"
    if action in OBJECT_ACTIONS or action in LISTING_ACTIONS:
        return None
    if action in ACL_WRITE_ACTIONS:
        return f"{action} would let a caller make objects public; it is never granted"
    if action in BUCKET_ACTIONS:
        return f"{action} is bucket-level and cannot be confined to a caller's root"
    return f"{action!r} is not a COS action name{_suggestion(action)}"


def _suggestion(action: str) -> str:
    import difflib  # only on this error path

    service, _, name = action.rpartition(":")
    if service and service != COS[:-1]:
        return " (COS actions are written name/cos:<Action>)"
    by_case = {known.lower(): known for known in KNOWN_ACTIONS}
    close = [by_case[COS + name.lower()]] if COS + name.lower() in by_case else []
    close = close or difflib.get_close_matches(COS + name, sorted(KNOWN_ACTIONS), 1, cutoff=0.8)
    if not close:
        return " (names are case-sensitive, e.g. name/cos:PutObject)"
    if close[0] in BUCKET_ACTIONS or close[0] in ACL_WRITE_ACTIONS:
        return f" ({close[0]} exists but is never granted)"
    return f" (did you mean {close[0]}?)"


# The action each ticket method needs (a ticket is one request COS authorizes as such).
TICKET_ACTIONS = {
    "post": "name/cos:PostObject", "put": "name/cos:PutObject", "get": "name/cos:GetObject",
}  # fmt: skip
