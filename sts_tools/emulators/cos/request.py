"""Raw HTTP -> one typed `CosRequest`: bucket, key, API, CAM resource, condition values.

Parsing is kept apart from deciding (cam) and from state (store): each consumes
only the fields it needs. The CAM resource and condition values follow
docs/tencent/cos-api.md §1 and §5.2; where COS's behaviour is unverified the reading is a
parameter (`list_resource`), so tests can run the product under both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple, Optional
from urllib.parse import quote, unquote, unquote_plus, urlsplit

from sts_tools.emulators.cos.actions import Api, api_for
from sts_tools.emulators.cos.errors import InvalidRequest, NoSuchBucket

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
    api: Optional[Api]
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
    names = {name for name, _ in query}
    return CosRequest(
        method=method.upper(),
        host=host,
        key=key,
        path=path,
        query=query,
        headers=lowered,
        api=api_for(method.upper(), key, names),
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
