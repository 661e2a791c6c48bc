"""Raw HTTP -> one typed `CosRequest`: bucket, key, CAM resource, condition values, and
the headers that need reading (a Range, a copy source and its range).

Parsing is kept apart from deciding (cam) and from state (store): each consumes
only the fields it needs. The CAM resource and condition values follow
docs/tencent/cos-api.md §1 and §5.2; where COS's behaviour is unverified the reading is a
parameter (`list_resource`), so tests can run the product under both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from typing import NamedTuple, Optional
from urllib.parse import quote, unquote, unquote_plus, urlsplit

from sts_tools.emulators.cos.actions import Api
from sts_tools.emulators.cos.errors import (
    BadDigest,
    InvalidArgument,
    InvalidDigest,
    InvalidRange,
    InvalidRequest,
    MissingContentLength,
    NoSuchBucket,
)

# Reading of the resource COS checks for bucket-level listings (docs/tencent/cos-api.md
# §5, and §9 open point 3): "prefix" = R(<prefix parameter>) (the documented, default
# reading); "bucket" = R(""), the bucket itself, whatever the prefix.
LIST_RESOURCE_PREFIX = "prefix"
LIST_RESOURCE_BUCKET = "bucket"
LIST_RESOURCE_MODES = (LIST_RESOURCE_PREFIX, LIST_RESOURCE_BUCKET)

# <bucket>-<appid>.cos.<region>.<anything>: myqcloud.com, tencentcos.cn, or the
# `*.localhost` names Chromium resolves to loopback by itself (docs/tencent/cos-api.md §7).
_VIRTUAL_HOST = re.compile(
    r"^(?P<bucket>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-\d+)\.cos\.(?P<region>[a-z0-9-]+)\.", re.ASCII
)
# Header condition keys compare raw, parameter keys URL-encoded (docs/tencent/cos-api.md §5).
HEADER_KEYS = {
    "cos:content-length": "content-length",
    "cos:content-type": "content-type",
    "cos:x-cos-acl": "x-cos-acl",
    "cos:x-cos-storage-class": "x-cos-storage-class",
}
PARAMETER_KEYS = {
    "cos:prefix": "prefix",
    "cos:response-content-type": "response-content-type",
    "cos:versionid": "versionId",
}


class Bucket(NamedTuple):
    """The one bucket this local COS serves."""

    name: str  # <short name>-<appid>
    region: str

    @property
    def appid(self) -> str:
        return self.name.rsplit("-", 1)[-1]

    def resource(self, key: str) -> str:
        """R(key) of docs/tencent/cos-api.md §1 (the decoded key)."""
        return f"qcs::cos:{self.region}:uid/{self.appid}:{self.name}/{key}"


class CosRequest(NamedTuple):
    method: str
    host: str
    key: str  # decoded, without the leading '/'
    path: str  # decoded, with the leading '/': what the signature covers
    query: tuple[tuple[str, str], ...]  # decoded pairs, in order
    headers: dict[str, str]  # lower-case names
    body: bytes
    client_ip: str

    def param(self, name: str) -> Optional[str]:
        for key, value in self.query:
            if key == name:
                return value
        return None

    @property
    def parameter_names(self) -> set[str]:
        return {key for key, _ in self.query}

    def number(self, name: str, default: Optional[str] = None) -> int:
        """A non-negative integer parameter; absent and no default, or not digits: 400."""
        value = self.param(name)
        value = default if value is None else value
        if value is None or not _digits(value) or not value:
            raise InvalidArgument(detail=f"{name} must be a non-negative integer")
        return int(value)

    def byte_range(self, size: int) -> Optional[tuple[int, int]]:
        """The inclusive span the Range header selects from `size` bytes (`byte_range`)."""
        return byte_range(self.headers.get("range"), size)

    def copy_source(self) -> Optional[CopySource]:
        """The x-cos-copy-source header, read; None when the request carries none."""
        value = self.headers.get(COPY_SOURCE)
        return None if value is None else parse_copy_source(value)


def _bucket_from_host(host: str, bucket: Bucket) -> None:
    """Refuse a virtual-host name for another bucket or region. A bare address
    (the SDKs' Domain mode, docs/tencent/cos-api.md §7) means the configured bucket."""
    match = _VIRTUAL_HOST.match(host.lower())
    if match and (match["bucket"], match["region"]) != (bucket.name, bucket.region):
        raise NoSuchBucket(detail=f"this local COS serves {bucket.name} in {bucket.region}")


def _query_pairs(query: str) -> tuple[tuple[str, str], ...]:
    # A "+" is a space in a query (the Python SDK sends prefixes that way via
    # requests); a literal plus arrives as %2B.
    pairs = []
    for item in query.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value)))
    return tuple(pairs)


def parse(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    client_ip: str,
    bucket: Bucket,
) -> CosRequest:
    """The typed request; raises NoSuchBucket or InvalidRequest."""
    lowered = {name.lower(): value for name, value in headers.items()}
    host = lowered.get("host", "")
    _bucket_from_host(host, bucket)
    parts = urlsplit(target)
    path = unquote(parts.path or "/")
    if not path.startswith("/"):
        raise InvalidRequest(detail="the request target is not a path")
    query = _query_pairs(parts.query)
    key = path[1:]
    return CosRequest(
        method=method.upper(),
        host=host,
        key=key,
        path=path,
        query=query,
        headers=lowered,
        body=body,
        client_ip=client_ip,
    )


def resource_for(
    bucket: Bucket, api: Api, key: str, prefix: Optional[str], list_resource: str
) -> str:
    """The CAM resource COS evaluates for `api` (docs/tencent/cos-api.md §1, §5.2).

    Object APIs: R(key). Bucket-level listings: R(prefix) under the documented
    reading, R("") under the strict one.
    """
    if list_resource not in LIST_RESOURCE_MODES:
        raise ValueError(f"list_resource must be one of {LIST_RESOURCE_MODES}")
    if api.bucket_level:
        listed = (prefix or "") if list_resource == LIST_RESOURCE_PREFIX else ""
        return bucket.resource(listed)
    return bucket.resource(key)


def condition_values(request: CosRequest, secure: bool = False) -> dict[str, str]:
    """The condition keys this request carries, as COS compares them (docs/tencent/cam-policy.md
    §7):
    headers raw, parameters URL-encoded; a key the request lacks is absent."""
    values = {"qcs:ip": request.client_ip, "cos:secure-transport": "true" if secure else "false"}
    for key, header in HEADER_KEYS.items():
        if header in request.headers:
            values[key] = request.headers[header].strip()
    for key, parameter in PARAMETER_KEYS.items():
        value = request.param(parameter)
        if value is not None:
            values[key] = quote(value, safe="-_.~")
    return values


def check_body(request: CosRequest) -> None:
    """A request with a body says how long it is, and its Content-MD5 (if any) holds.

    A chunked body is read, but a profile's size limit then refuses it in CAM (no
    Content-Length, no cos:content-length: docs/clients.md)."""
    chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
    if "content-length" not in request.headers and not chunked:
        raise MissingContentLength()
    digest = request.headers.get("content-md5")
    if digest is not None:
        try:
            expected = base64.b64decode(digest, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidDigest() from None
        if len(expected) != 16:
            raise InvalidDigest()
        if hashlib.md5(request.body).digest() != expected:  # noqa: S324 - COS's checksum
            raise BadDigest()


# -- headers that need reading ----------------------------------------------------------

COPY_SOURCE = "x-cos-copy-source"
COPY_SOURCE_RANGE = "x-cos-copy-source-range"
# <bucket>-<appid>.cos.<region>.<domain>/<key>, the key URL-encoded (docs/tencent/cos-api.md §1).
_COPY_SOURCE = re.compile(
    r"^/?(?P<bucket>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-\d+)\.cos\.(?P<region>[a-z0-9-]+)\.[^/]+/(?P<key>.+)$",
    re.ASCII,
)


class CopySource(NamedTuple):
    bucket: Bucket
    key: str  # decoded
    version_id: Optional[str]


def parse_copy_source(value: str) -> CopySource:
    """``<bucket>-<appid>.cos.<region>.myqcloud.com/<key>[?versionId=<id>]``; anything
    else is InvalidArgument (a scheme, a bare path, an empty key)."""
    text, _, query = value.strip().partition("?")
    match = _COPY_SOURCE.match(text)
    if match is None:
        raise InvalidArgument(
            "x-cos-copy-source must be <bucket>-<appid>.cos.<region>.myqcloud.com/<key>.",
            detail=f"x-cos-copy-source {value[:200]!r}",
        )
    version = dict(_query_pairs(query)).get("versionId")
    key = unquote(match["key"])
    return CopySource(Bucket(match["bucket"], match["region"]), key, version)


def copy_range(header: Optional[str], size: int) -> tuple[int, int]:
    """The inclusive span x-cos-copy-source-range selects, the whole object without one.

    Unlike Range, only the exact form ``bytes=<first>-<last>`` is read, and nothing is
    ignored: a malformed value is InvalidArgument, a span past the end InvalidRange
    (S3's documented rules; COS's own are unverified, docs/local-stack.md)."""
    if header is None:
        if size == 0:
            raise InvalidRange(detail="x-cos-copy-source-range of an empty object")
        return 0, size - 1
    unit, equals, spec = header.strip().partition("=")
    first, dash, last = spec.partition("-")
    if unit != "bytes" or not equals or not dash or not first or not last:
        raise InvalidArgument(
            "x-cos-copy-source-range must be bytes=<first>-<last>.", detail=repr(header[:100])
        )
    if not _digits(first, last) or int(first) > int(last):
        raise InvalidArgument(
            "x-cos-copy-source-range must be bytes=<first>-<last>.", detail=repr(header[:100])
        )
    if int(last) >= size:
        raise InvalidRange(detail=f"x-cos-copy-source-range {header!r} of {size} bytes")
    return int(first), int(last)


def byte_range(header: Optional[str], size: int) -> Optional[tuple[int, int]]:
    """The inclusive (start, end) a ``Range`` header selects from ``size`` bytes.

    None means "send the whole object": no header, or a form that RFC 7233 §3.1
    says to ignore (not ``bytes=``, not digits, first > last) or that S3 ignores
    (several ranges; what COS does with those is unverified). A range that starts
    at or past the end, ``bytes=-0``, or any range of an empty object is
    unsatisfiable: InvalidRange (416).
    """
    if not header:
        return None
    unit, equals, spec = header.strip().partition("=")
    if not equals or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first or last) or not _digits(first, last):
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise InvalidRange(detail=f"{header!r} of {size} bytes")
        return max(size - suffix, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise InvalidRange(detail=f"{header!r} of {size} bytes")
    return start, min(int(last), size - 1) if last else size - 1


def _digits(*texts: str) -> bool:
    # str.isdigit accepts "²" and int() accepts "+1", " 1" and "1_0"; a range does not.
    return all(all("0" <= char <= "9" for char in text) for text in texts)
