"""The local COS's state: objects and multipart uploads, in memory, no HTTP.

Methods are named like the COS APIs they serve (docs/tencent/cos-api.md §1) and raise
`CosError` subclasses; the server renders them. One lock guards all state and
the clock is injected, so tests control `last_modified` and upload times.

Buckets need no creating: the server decides which buckets exist, the store
keeps one namespace per bucket name it is given.

An object is created or replaced in one place, `_write` (PUT, POST, PUT Object - Copy,
Complete Multipart Upload), and removed in one, `delete_object` (DELETE Object and each
key of Delete Multiple Objects): where anything that follows objects hooks in.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Callable, NamedTuple, Optional

from sts_tools.emulators.cos.errors import (
    CosError,
    EntityTooLarge,
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    MalformedXML,
    NoSuchKey,
    NoSuchUpload,
)

MAX_PART_NUMBER = 10_000  # docs/tencent/cos-api.md §3
MAX_OBJECT_SIZE = 5 * 1024**3  # PutObject and each part: 5 GB (docs/tencent/cos-api.md §3)
MAX_LIST_KEYS = 1000  # COS caps max-keys at 1000


class StoredObject(NamedTuple):
    key: str
    body: bytes
    etag: str  # unquoted: md5 hex, or "<md5 of the part md5s>-N" after multipart
    content_type: str
    last_modified: float
    metadata: dict[str, str]  # x-cos-meta-* headers, lower-case names
    # Cache-Control, Content-Disposition, Content-Encoding, Expires as sent
    headers: Mapping[str, str] = {}


class Part(NamedTuple):
    number: int
    etag: str
    size: int
    last_modified: float


class Upload(NamedTuple):
    key: str
    upload_id: str
    initiated: float


class ListPage(NamedTuple):
    objects: list[StoredObject]
    common_prefixes: list[str]
    truncated: bool
    next_marker: str  # the last key or common prefix returned when truncated, else ""


def _md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def _lower_names(metadata: Optional[Mapping[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in (metadata or {}).items()}


def _check_size(body: bytes, limit: int) -> None:
    if len(body) > limit:
        raise EntityTooLarge(detail=f"{len(body)} bytes > {limit}")


class Multipart:
    """One upload in progress; the completion rules live here (docs/tencent/cos-api.md §3)."""

    def __init__(
        self,
        key: str,
        upload_id: str,
        initiated: float,
        content_type: str,
        metadata: dict[str, str],
        headers: dict[str, str],
    ) -> None:
        self.key = key
        self.upload_id = upload_id
        self.initiated = initiated
        self.content_type = content_type
        self.metadata = metadata
        self.headers = headers
        self._parts: dict[int, tuple[Part, bytes]] = {}

    def upload(self) -> Upload:
        return Upload(self.key, self.upload_id, self.initiated)

    def set_part(self, number: int, body: bytes, now: float) -> str:
        """Store part ``number``; uploading a number again replaces it (docs/tencent/cos-api.md
        §3)."""
        etag = _md5(body)
        self._parts[number] = (Part(number, etag, len(body), now), body)
        return etag

    def parts(self) -> list[Part]:
        return [self._parts[number][0] for number in sorted(self._parts)]

    def complete(self, listed: list[tuple[int, str]], min_part_size: int) -> tuple[bytes, str]:
        """The object's bytes and ETag for the parts the client listed.

        Parts must be named in strictly ascending order, each with the ETag it was
        uploaded with (quotes ignored), and every part but the last must reach
        ``min_part_size``. Parts uploaded but not listed are dropped. The ETag is
        S3's: hex md5 of the concatenated binary part md5s, then ``-N``.
        """
        if not listed:
            raise MalformedXML(detail="CompleteMultipartUpload lists no part")
        chosen: list[tuple[Part, bytes]] = []
        for number, etag in listed:
            if chosen and number <= chosen[-1][0].number:
                raise InvalidPartOrder(detail=f"part {number} after part {chosen[-1][0].number}")
            found = self._parts.get(number)
            if found is None or found[0].etag != etag.strip().strip('"'):
                raise InvalidPart(detail=f"part {number} with ETag {etag!r} was not uploaded")
            if chosen and chosen[-1][0].size < min_part_size:
                previous = chosen[-1][0]
                raise EntityTooSmall(
                    detail=f"part {previous.number} has {previous.size} bytes, "
                    f"below the {min_part_size}-byte minimum for all parts but the last"
                )
            chosen.append(found)
        digests = b"".join(bytes.fromhex(part.etag) for part, _ in chosen)
        etag = f"{_md5(digests)}-{len(chosen)}"
        return b"".join(body for _, body in chosen), etag


class CosStore:
    """Objects and multipart uploads per bucket, guarded by one lock."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        min_part_size: int = 1024 * 1024,
        *,
        max_object_size: int = MAX_OBJECT_SIZE,
    ) -> None:
        self._clock = clock
        self._min_part_size = min_part_size
        self._max_object_size = max_object_size
        self._lock = threading.Lock()
        self._objects: dict[str, dict[str, StoredObject]] = {}
        self._uploads: dict[tuple[str, str], Multipart] = {}
        self._sequence = itertools.count()

    def reset(self) -> None:
        with self._lock:
            self._objects.clear()
            self._uploads.clear()

    # -- objects ---------------------------------------------------------------

    def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes,
        content_type: str = "",
        metadata: Optional[Mapping[str, str]] = None,
        exists_error: Optional[CosError] = None,
        *,
        headers: Optional[Mapping[str, str]] = None,
    ) -> StoredObject:
        """PUT and POST Object. `exists_error`: raised instead when the key exists
        (x-cos-forbid-overwrite), checked under the same lock as the write, so two
        uploads cannot both win."""
        _check_size(body, self._max_object_size)
        etag = _md5(body)  # hashed outside the lock: other requests need not wait
        with self._lock:
            stored = StoredObject(
                key, bytes(body), etag, content_type, self._clock(), _lower_names(metadata),
                dict(headers or {}),
            )  # fmt: skip
            self._write(bucket, stored, exists_error)
        return _copy(stored)

    def copy_object(
        self,
        bucket: str,
        source: str,
        key: str,
        replace: Optional[tuple[str, Mapping[str, str], Mapping[str, str]]] = None,
        exists_error: Optional[CosError] = None,
    ) -> StoredObject:
        """PUT Object - Copy within `bucket`: `source`'s bytes under `key`, with the
        source's type, metadata and headers, or `replace`'s (type, x-cos-meta-*,
        headers: x-cos-metadata-directive Replaced). The copy's ETag is its bytes' MD5."""
        original = self.get_object(bucket, source)
        etag = _md5(original.body)
        content_type, metadata, headers = replace or (
            original.content_type,
            original.metadata,
            original.headers,
        )
        with self._lock:
            stored = StoredObject(
                key, original.body, etag, content_type, self._clock(), _lower_names(metadata),
                dict(headers),
            )  # fmt: skip
            self._write(bucket, stored, exists_error)
        return _copy(stored)

    def _write(self, bucket: str, stored: StoredObject, exists_error: Optional[CosError]) -> None:
        # Caller holds the lock. The one place an object is created or replaced.
        if exists_error is not None and stored.key in self._objects.get(bucket, {}):
            raise exists_error
        self._objects.setdefault(bucket, {})[stored.key] = stored

    def get_object(self, bucket: str, key: str) -> StoredObject:
        with self._lock:
            stored = self._objects.get(bucket, {}).get(key)
        if stored is None:
            raise NoSuchKey()
        return _copy(stored)

    def delete_object(self, bucket: str, key: str) -> None:
        """Deleting a missing key is not an error (COS answers 204 either way)."""
        with self._lock:
            self._objects.get(bucket, {}).pop(key, None)

    def objects(self, bucket: str) -> list[StoredObject]:
        with self._lock:
            found = list(self._objects.get(bucket, {}).values())
        return [_copy(stored) for stored in sorted(found, key=lambda stored: stored.key)]

    def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        marker: str = "",
        max_keys: int = MAX_LIST_KEYS,
    ) -> ListPage:
        """GetBucket: keys after ``marker`` under ``prefix``, grouped at ``delimiter``.

        Python orders str by code point, which is UTF-8 byte order, so sorting
        the keys gives COS's (and S3's) order. A common prefix counts as one entry
        toward ``max_keys`` (capped at 1000); one at or before ``marker`` was
        returned by an earlier page and is skipped.
        """
        if max_keys < 0:
            raise InvalidArgument(detail=f"max-keys {max_keys} is negative")
        limit = min(max_keys, MAX_LIST_KEYS)
        if limit == 0:
            return ListPage([], [], False, "")
        with self._lock:
            candidates = sorted(
                (
                    (key, stored)
                    for key, stored in self._objects.get(bucket, {}).items()
                    if key.startswith(prefix) and key > marker
                ),
                key=lambda item: item[0],
            )
        objects: list[StoredObject] = []
        prefixes: list[str] = []
        last = ""
        for key, stored in candidates:
            common = _common_prefix(key, prefix, delimiter)
            if common is not None and (marker.startswith(common) or common == last):
                continue
            if len(objects) + len(prefixes) == limit:
                return ListPage(objects, prefixes, True, last)
            if common is None:
                objects.append(_copy(stored))
                last = key
            else:
                prefixes.append(common)
                last = common
        return ListPage(objects, prefixes, False, "")

    # -- multipart -------------------------------------------------------------

    def initiate_multipart_upload(
        self,
        bucket: str,
        key: str,
        content_type: str = "",
        metadata: Optional[Mapping[str, str]] = None,
        *,
        headers: Optional[Mapping[str, str]] = None,
    ) -> str:
        with self._lock:
            now = self._clock()
            # Time and a sequence first so that ids sort in creation order (the
            # Python SDK resumes the last listed upload for a key); the random
            # tail makes them unguessable.
            upload_id = f"{max(int(now), 0):010d}{next(self._sequence):08x}{secrets.token_hex(16)}"
            self._uploads[(bucket, upload_id)] = Multipart(
                key, upload_id, now, content_type, _lower_names(metadata), dict(headers or {})
            )
        return upload_id

    def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, body: bytes
    ) -> str:
        """Store one part and return its (unquoted) ETag."""
        if not 1 <= part_number <= MAX_PART_NUMBER:
            raise InvalidArgument(
                f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive.",
                detail=f"partNumber={part_number}",
            )
        _check_size(body, self._max_object_size)
        with self._lock:
            multipart = self._multipart(bucket, key, upload_id)
            return multipart.set_part(part_number, bytes(body), self._clock())

    def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> StoredObject:
        with self._lock:
            multipart = self._multipart(bucket, key, upload_id)
            body, etag = multipart.complete(parts, self._min_part_size)
            stored = StoredObject(
                key, body, etag, multipart.content_type, self._clock(), multipart.metadata,
                multipart.headers,
            )  # fmt: skip
            self._write(bucket, stored, None)
            del self._uploads[(bucket, upload_id)]
        return _copy(stored)

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with self._lock:
            self._multipart(bucket, key, upload_id)
            del self._uploads[(bucket, upload_id)]

    def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        marker: int = 0,
        max_parts: int = 1000,
    ) -> tuple[list[Part], bool]:
        """Parts numbered above ``marker``, at most ``max_parts``, and whether more follow."""
        if marker < 0 or max_parts < 0:
            raise InvalidArgument(detail=f"part-number-marker={marker} max-parts={max_parts}")
        with self._lock:
            parts = self._multipart(bucket, key, upload_id).parts()
        after = [part for part in parts if part.number > marker]
        return after[:max_parts], len(after) > max_parts

    def list_multipart_uploads(self, bucket: str, prefix: str = "") -> list[Upload]:
        """Uploads in progress under ``prefix``, sorted by key, then upload id."""
        with self._lock:
            found = [
                multipart.upload()
                for (name, _), multipart in self._uploads.items()
                if name == bucket and multipart.key.startswith(prefix)
            ]
        return sorted(found, key=lambda upload: (upload.key, upload.upload_id))

    def _multipart(self, bucket: str, key: str, upload_id: str) -> Multipart:
        # Caller holds the lock. An id used with another key is as unknown as a
        # made-up one: COS ties an upload to the key it was initiated for.
        multipart = self._uploads.get((bucket, upload_id))
        if multipart is None or multipart.key != key:
            raise NoSuchUpload(detail=f"upload {upload_id!r} for key {key!r}")
        return multipart


def _copy(stored: StoredObject) -> StoredObject:
    # Callers get their own dicts, so they cannot change the store's.
    return stored._replace(metadata=dict(stored.metadata), headers=dict(stored.headers))


def _common_prefix(key: str, prefix: str, delimiter: str) -> Optional[str]:
    if not delimiter:
        return None
    cut = key.find(delimiter, len(prefix))
    return None if cut < 0 else key[: cut + len(delimiter)]
