"""What the local COS keeps beside an object's bytes, and how it answers with it.

- The headers COS stores and returns (its PUT Object and POST Object pages list them,
  docs/tencent/cos-api.md §2): Cache-Control, Content-Disposition, Content-Encoding,
  Expires, and the user's ``x-cos-meta-*``.
- The Content-Type of an upload that sends none: COS infers it from the key's
  extension (``2.zip`` -> application/zip). The table is fixed here, not read from the
  host's mime.types, so the answer is the same on every machine; what COS answers for
  extensions outside it is unverified (application/octet-stream here).
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import formatdate
from typing import Callable, Optional

from sts_tools.emulators.cos.responses import quoted
from sts_tools.emulators.cos.store import StoredObject

STORED_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Encoding", "Expires")
META_PREFIX = "x-cos-meta-"
DEFAULT_TYPE = "application/octet-stream"
# Extension -> type: the IANA registrations (as Python's mimetypes also maps them).
TYPES = {
    "7z": "application/x-7z-compressed", "aac": "audio/aac", "avi": "video/x-msvideo",
    "bmp": "image/bmp", "css": "text/css", "csv": "text/csv",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "gif": "image/gif", "gz": "application/gzip", "htm": "text/html", "html": "text/html",
    "ico": "image/vnd.microsoft.icon", "jpeg": "image/jpeg", "jpg": "image/jpeg",
    "js": "application/javascript", "json": "application/json", "m4a": "audio/mp4",
    "md": "text/markdown", "mov": "video/quicktime", "mp3": "audio/mpeg", "mp4": "video/mp4",
    "ogg": "audio/ogg", "pdf": "application/pdf", "png": "image/png",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "svg": "image/svg+xml", "tar": "application/x-tar", "tif": "image/tiff",
    "tiff": "image/tiff", "txt": "text/plain", "wasm": "application/wasm",
    "wav": "audio/x-wav", "webm": "video/webm", "webp": "image/webp",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xml": "text/xml", "zip": "application/zip",
}  # fmt: skip


def content_type(key: str, given: Optional[str]) -> str:
    """The type to store: the one the upload sent, else the one the key's extension
    names, else application/octet-stream."""
    if given:
        return given
    name = key.rsplit("/", 1)[-1]
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:  # no extension, or a dot file such as ".zip"
        return DEFAULT_TYPE
    return TYPES.get(extension.lower(), DEFAULT_TYPE)


def stored_headers(value_of: Callable[[str], Optional[str]]) -> dict[str, str]:
    """The stored headers an upload carries (`value_of` reads a header or a form field
    case-insensitively); empty values are not kept (the JS SDK always sends an empty
    Cache-Control, docs/tencent/cos-api.md §6)."""
    found = {name: (value_of(name.lower()) or "").strip() for name in STORED_HEADERS}
    return {name: value for name, value in found.items() if value}


def metadata(pairs: Mapping[str, str]) -> dict[str, str]:
    """The ``x-cos-meta-*`` entries, names lower-cased."""
    return {
        name.lower(): value for name, value in pairs.items() if name.lower().startswith(META_PREFIX)
    }


def object_headers(
    stored: StoredObject, unset_cache_control: Optional[str]
) -> list[tuple[str, str]]:
    """The headers a GET or HEAD of `stored` answers with. `unset_cache_control`: what
    to send for an object stored without Cache-Control (None: nothing, as COS)."""
    headers = [
        ("Content-Type", stored.content_type or DEFAULT_TYPE),
        ("ETag", quoted(stored.etag)),
        ("Last-Modified", formatdate(stored.last_modified, usegmt=True)),
        ("Accept-Ranges", "bytes"),
    ]
    headers += sorted(stored.headers.items())
    if "Cache-Control" not in stored.headers and unset_cache_control is not None:
        headers.append(("Cache-Control", unset_cache_control))
    headers += sorted(stored.metadata.items())
    return headers
