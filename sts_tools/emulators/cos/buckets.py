"""The bucket-level APIs: list objects, HEAD Bucket, and Delete Multiple Objects."""

from __future__ import annotations

from sts_tools.emulators.cos import cosxml
from sts_tools.emulators.cos.actions import PER_KEY_ACTION
from sts_tools.emulators.cos.call import Call
from sts_tools.emulators.cos.errors import AccessDenied
from sts_tools.emulators.cos.request import check_body
from sts_tools.emulators.cos.responses import Response, xml


def get_bucket(call: Call) -> Response:
    request = call.request
    prefix = request.param("prefix") or ""
    delimiter = request.param("delimiter") or ""
    marker = request.param("marker") or ""
    max_keys = request.number("max-keys", "1000")
    page = call.site.store.list_objects(call.site.bucket.name, prefix, delimiter, marker, max_keys)
    return xml(
        cosxml.list_bucket_result(
            call.site.bucket.name,
            prefix,
            marker,
            max_keys,
            delimiter,
            page,
            request.param("encoding-type") or "",
        )
    )


def head_bucket(call: Call) -> Response:
    return Response(200, [])


def delete_multiple_objects(call: Call) -> Response:
    """POST /?delete: each listed key is decided as a DeleteObject of its own
    (docs/tencent/cam-policy.md §1) and removed with the same store call as DELETE
    Object. A refused key is an <Error> in the 200 answer, as COS reports it; with
    <Quiet>true</Quiet> only the errors are listed."""
    check_body(call.request)
    quiet, keys = cosxml.parse_delete(call.request.body)
    action = PER_KEY_ACTION["DeleteMultipleObjects"]
    deleted: list[str] = []
    errors: list[tuple[str, str, str]] = []
    for key in keys:
        decision = call.caller.check(action, key, key)
        if not decision.allowed:
            errors.append((key, AccessDenied.code, AccessDenied.default_message))
            continue
        call.site.store.delete_object(call.site.bucket.name, key)
        # The event name COS uses for a batch delete's keys is unverified: as DELETE's.
        call.site.notify.removed("Delete", call.request, key)
        deleted.append(key)
    return xml(cosxml.delete_result([] if quiet else deleted, errors))
