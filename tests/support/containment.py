"""An independent containment oracle for policy tests: does a granted resource
reach outside the caller's root? Written without sts_core.policy: it normalises
keys the way a path-minded system might."""

from __future__ import annotations

import posixpath
import unicodedata

from sts_core.policy import Target
from sts_core.user_prefix import render_root

BUCKET = "examplebucket-1250000000"


def target_for(user_id, template="users/{uid}/"):
    return Target("ap-guangzhou", "1250000000", BUCKET, render_root(template, user_id), user_id)


def root_resource(target: Target) -> str:
    """The caller's root as a CAM resource."""
    return target.resource(target.root)


def resources_of(policy) -> list[str]:
    """Every resource a policy's statements name."""
    return [r for statement in policy.get("statement", ()) for r in statement.get("resource", ())]


def escapes_root(resource: str, target: Target) -> bool:
    """Independent oracle: could this resource match a key outside the root?"""
    bucket_prefix = f"qcs::cos:{target.region}:uid/{target.appid}:{target.bucket}/"
    if not resource.startswith(bucket_prefix):
        return True
    key = resource[len(bucket_prefix) :]
    body = key[:-1] if key.endswith("*") else key
    if any(c in body for c in "*?"):
        return True  # a mid-key wildcard matches more than it says
    for candidate in (body, unicodedata.normalize("NFKC", body), body.replace("\\", "/")):
        normal = posixpath.normpath("/" + candidate)
        inside = "/" + target.root.rstrip("/")
        if not (normal == inside or normal.startswith(inside + "/")):
            return True
        if "%" in candidate:
            return True  # percent-decoding could turn it into anything
    return False
