"""The multipart APIs: initiate, upload a part (or copy one), complete, abort, list.

An upload id stays valid until it is completed or aborted (the store keeps no
expiry). The object is created in one store call, `complete_multipart_upload`.
"""

from __future__ import annotations

from urllib.parse import quote

from sts_tools.emulators.cos import cosxml
from sts_tools.emulators.cos.call import Call
from sts_tools.emulators.cos.object_meta import content_type, metadata, stored_headers
from sts_tools.emulators.cos.objects import read_source
from sts_tools.emulators.cos.request import COPY_SOURCE_RANGE, check_body, copy_range
from sts_tools.emulators.cos.responses import Response, quoted, xml


def initiate_multipart_upload(call: Call) -> Response:
    request = call.request
    upload_id = call.site.store.initiate_multipart_upload(
        call.site.bucket.name, call.key,
        content_type(call.key, request.headers.get("content-type")), metadata(request.headers),
        headers=stored_headers(request.headers.get),
    )  # fmt: skip
    return xml(cosxml.initiate_result(call.site.bucket.name, call.key, upload_id))


def upload_part(call: Call) -> Response:
    request = call.request
    check_body(request)
    etag = call.site.store.upload_part(
        call.site.bucket.name, call.key, request.param("uploadId") or "",
        request.number("partNumber"), request.body,
    )  # fmt: skip
    return Response(200, [("ETag", quoted(etag))])


def upload_part_copy(call: Call) -> Response:
    """Upload Part - Copy: the part's bytes come from x-cos-copy-source (the range
    x-cos-copy-source-range names, else all of it), which the caller must be able
    to read; the destination was allowed as an UploadPart."""
    request = call.request
    number = request.number("partNumber")
    source = read_source(call)
    start, end = copy_range(request.headers.get(COPY_SOURCE_RANGE), len(source.body))
    etag = call.site.store.upload_part(
        call.site.bucket.name, call.key, request.param("uploadId") or "", number,
        source.body[start : end + 1],
    )  # fmt: skip
    return xml(cosxml.copy_result("CopyPartResult", etag, call.site.clock()))


def complete_multipart_upload(call: Call) -> Response:
    request = call.request
    parts = cosxml.parse_complete(request.body)
    stored = call.site.store.complete_multipart_upload(
        call.site.bucket.name, call.key, request.param("uploadId") or "", parts
    )
    call.site.notify.created("CompleteMultipartUpload", request, call.key, stored)
    location = f"{request.host}/{quote(call.key)}"
    return xml(cosxml.complete_result(location, call.site.bucket.name, call.key, stored.etag))


def abort_multipart_upload(call: Call) -> Response:
    call.site.store.abort_multipart_upload(
        call.site.bucket.name, call.key, call.request.param("uploadId") or ""
    )
    return Response(204, [])


def list_parts(call: Call) -> Response:
    request = call.request
    marker = request.number("part-number-marker", "0")
    max_parts = request.number("max-parts", "1000")
    upload_id = request.param("uploadId") or ""
    parts, truncated = call.site.store.list_parts(
        call.site.bucket.name, call.key, upload_id, marker, max_parts
    )
    return xml(
        cosxml.list_parts_result(
            call.site.bucket.name,
            call.key,
            upload_id,
            parts,
            marker,
            max_parts,
            truncated,
            request.param("encoding-type") or "",
        )
    )


def list_multipart_uploads(call: Call) -> Response:
    prefix = call.request.param("prefix") or ""
    uploads = call.site.store.list_multipart_uploads(call.site.bucket.name, prefix)
    encoding = call.request.param("encoding-type") or ""
    return xml(cosxml.list_uploads_result(call.site.bucket.name, prefix, uploads, encoding))
