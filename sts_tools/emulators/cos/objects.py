"""The object APIs: PUT, POST (form), GET, HEAD, DELETE and PUT Object - Copy.

Each takes the admitted `Call` and answers a `Response`; each object is created or
removed in exactly one store call (`put_object`, `copy_object`, `delete_object`).
"""

from __future__ import annotations

from urllib.parse import quote

from sts_tools.emulators.cos import cosxml
from sts_tools.emulators.cos.actions import SOURCE_ACTION
from sts_tools.emulators.cos.call import Call
from sts_tools.emulators.cos.errors import (
    AccessDenied,
    InvalidArgument,
    NoSuchBucket,
)
from sts_tools.emulators.cos.object_meta import (
    content_type,
    metadata,
    object_headers,
    stored_headers,
)
from sts_tools.emulators.cos.post_policy import field
from sts_tools.emulators.cos.request import check_body
from sts_tools.emulators.cos.responses import XML, Response, quoted, xml
from sts_tools.emulators.cos.store import StoredObject

RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
METADATA_DIRECTIVES = ("Copy", "Replaced")


def put_object(call: Call) -> Response:
    request = call.request
    check_body(request)
    stored = call.site.store.put_object(
        call.site.bucket.name, call.key, request.body,
        content_type(call.key, request.headers.get("content-type")),
        metadata(request.headers), call.site.forbid_overwrite(request.headers),
        headers=stored_headers(request.headers.get),
    )  # fmt: skip
    call.site.notify.created("Put", request, call.key, stored)
    return Response(200, [("ETag", quoted(stored.etag))])


def post_object(call: Call) -> Response:
    form, request = call.form, call.request
    if form is None:
        raise ValueError("PostObject is admitted with its form")
    stored = call.site.store.put_object(
        call.site.bucket.name, call.key, form.file,
        content_type(call.key, field(form, "content-type")),
        metadata(form.fields), call.site.forbid_overwrite(request.headers),
        headers=stored_headers(lambda name: field(form, name)),
    )  # fmt: skip
    call.site.notify.created("Post", request, call.key, stored, form.fields)
    location = f"http://{request.host}/{quote(call.key)}"
    headers = [("ETag", quoted(stored.etag)), ("Location", location)]
    status = field(form, "success_action_status")
    if status in ("200", "201"):
        document = cosxml.post_result(location, call.site.bucket.name, call.key, stored.etag)
        return Response(int(status), [*headers, XML], document)
    return Response(204, headers)


def get_object(call: Call) -> Response:
    request = call.request
    stored = call.site.store.get_object(call.site.bucket.name, call.key)
    headers = object_headers(stored, call.site.unset_cache_control)
    span = request.byte_range(len(stored.body))
    body = stored.body
    status = 200
    if span is not None:
        start, end = span
        body = stored.body[start : end + 1]
        status = 206
        headers.append(("Content-Range", f"bytes {start}-{end}/{len(stored.body)}"))
    for parameter, header in RESPONSE_OVERRIDES.items():
        value = request.param(parameter)
        if value is not None and call.site.applies(request, parameter):
            headers = [(n, v) for n, v in headers if n != header] + [(header, value)]
    return Response(status, headers, body, object_answer=True)


def head_object(call: Call) -> Response:
    stored = call.site.store.get_object(call.site.bucket.name, call.key)
    # No body, but the length a GET would send.
    headers = object_headers(stored, call.site.unset_cache_control)
    return Response(200, [*headers, ("Content-Length", str(len(stored.body)))], object_answer=True)


def delete_object(call: Call) -> Response:
    call.site.store.delete_object(call.site.bucket.name, call.key)
    call.site.notify.removed("Delete", call.request, call.key)
    return Response(204, [])


def put_object_copy(call: Call) -> Response:
    """PUT Object - Copy: the destination was allowed as a PutObject; the source needs
    GetObject (docs/tencent/cam-policy.md §1). x-cos-metadata-directive Copy (the
    default) keeps the source's type, metadata and headers; Replaced takes the request's."""
    request = call.request
    directive = request.headers.get("x-cos-metadata-directive", "Copy").strip()
    if directive not in METADATA_DIRECTIVES:
        raise InvalidArgument(
            "x-cos-metadata-directive must be Copy or Replaced.", detail=repr(directive[:50])
        )
    source = read_source(call)
    replace = None
    if directive == "Replaced":
        replace = (
            content_type(call.key, request.headers.get("content-type")),
            metadata(request.headers), stored_headers(request.headers.get),
        )  # fmt: skip
    stored = call.site.store.copy_object(
        call.site.bucket.name, source.key, call.key, replace,
        call.site.forbid_overwrite(request.headers),
    )  # fmt: skip
    call.site.notify.created("Copy", request, call.key, stored)
    return xml(cosxml.copy_result("CopyObjectResult", stored.etag, stored.last_modified))


def read_source(call: Call) -> StoredObject:
    """The object x-cos-copy-source names, once the caller may read it."""
    source = call.request.copy_source()
    if source is None:
        raise ValueError("a copy is routed only with x-cos-copy-source")
    decision = call.caller.check(SOURCE_ACTION, source.key, f"source {source.key}", source.bucket)
    if not decision.allowed:
        raise AccessDenied(detail=decision.reason)
    if source.bucket != call.site.bucket:
        raise NoSuchBucket(detail=f"the copy source is in {source.bucket.name}; this local COS "
                           f"serves {call.site.bucket.name} only")  # fmt: skip
    if source.version_id:
        raise InvalidArgument(detail="the local COS keeps no versions (versionId in the source)")
    return call.site.store.get_object(call.site.bucket.name, source.key)
