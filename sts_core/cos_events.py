"""The COS trigger's event, read into plain records (docs/tencent/cos-events.md §1).

A COS event reaches the function as the raw notification, never inside an HTTP
envelope: a top-level ``Records`` list whose every entry has a ``cos`` object and
an ``event`` object from ``qcs::cos``, and no ``httpMethod``. Whatever an HTTP
caller sends lands in an envelope's body, headers or query, so it can never be
read as one (`is_cos_event`).

Two documented field types are accepted for the size (number or string) and the
time (Unix seconds or ISO 8601). The object key is ``cosObject.key`` less its
``/<appid>/<short bucket>/`` prefix, percent-decoded exactly once. Anything else
malformed is a `BadRecord` for that record alone. Pure: no I/O.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional
from urllib.parse import parse_qsl, unquote

from .tickets import TICKET_META

SOURCE = "qcs::cos"
CREATED = "cos:ObjectCreated:"
REMOVED = "cos:ObjectRemove:"
_AK = re.compile(r"[A-Za-z0-9_-]{1,128}")
_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?")


class BadRecord(ValueError):
    """One record that is not a usable COS notification (the message is safe to log)."""


class ObjectEvent(NamedTuple):
    kind: str  # "created" or "removed"
    event_name: str  # e.g. cos:ObjectCreated:Put
    bucket: str  # name-APPID
    key: str  # the object key, decoded
    size: Optional[int]
    etag: Optional[str]
    content_type: Optional[str]
    time: int  # Unix seconds
    request_id: str  # COS's x-cos-request-id ("" if absent)
    version_id: str
    access_key: Optional[str]  # q-ak of the request's Authorization, when COS passed it
    ticket_id: Optional[str]  # the signed x-cos-meta field of an upload ticket

    @property
    def identity(self) -> str:
        """What makes this event itself: the same on every redelivery."""
        return "\n".join(
            (self.bucket, self.key, self.event_name, str(self.time), self.request_id,
             self.version_id)
        )  # fmt: skip


def is_cos_event(event: Any) -> bool:
    """The COS trigger's envelope, and nothing an HTTP trigger can produce."""
    if not isinstance(event, Mapping) or "httpMethod" in event or "requestContext" in event:
        return False
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        return False
    return all(
        isinstance(r, Mapping)
        and isinstance(r.get("cos"), Mapping)
        and isinstance(r.get("event"), Mapping)
        and r["event"].get("eventSource") == SOURCE
        for r in records
    )


def parse_record(record: Mapping[str, Any], decode_keys: bool = True) -> ObjectEvent:
    """One record of a COS event (BadRecord when unusable)."""
    cos, event = record["cos"], record["event"]
    obj = _mapping(cos.get("cosObject"), "cosObject")
    bucket_info = _mapping(cos.get("cosBucket"), "cosBucket")
    name = event.get("eventName")
    if not isinstance(name, str) or not name.startswith((CREATED, REMOVED)):
        raise BadRecord("not an object created or removed event")
    appid, short = _text(bucket_info.get("appid")), _text(bucket_info.get("name"))
    if not appid or not short:
        raise BadRecord("the event names no bucket")
    raw_key = _text(obj.get("key"))
    lead = f"/{appid}/{short}/"
    if not raw_key.startswith(lead) or raw_key == lead:
        raise BadRecord("the object key is not inside the event's bucket")
    key = raw_key[len(lead) :]
    if decode_keys:
        key = unquote(key, errors="strict")  # once: %2541 is the key "%41"
    meta = obj.get("meta") if isinstance(obj.get("meta"), Mapping) else {}
    lower = {str(k).lower(): v for k, v in meta.items()}
    return ObjectEvent(
        kind="created" if name.startswith(CREATED) else "removed",
        event_name=name,
        bucket=f"{short}-{appid}",
        key=key,
        size=_size(obj.get("size")),
        etag=_optional(lower.get("etag")),
        content_type=_optional(lower.get("content-type")),
        time=_time(event.get("eventTime")),
        request_id=_text(lower.get("x-cos-request-id")),
        version_id=_text(obj.get("vid")),
        access_key=access_key(event.get("requestParameters")),
        ticket_id=_optional(lower.get(TICKET_META)),
    )


def access_key(parameters: Any) -> Optional[str]:
    """q-ak from the uploader's Authorization header, as COS copies it into the event."""
    headers = parameters.get("requestHeaders") if isinstance(parameters, Mapping) else None
    if not isinstance(headers, Mapping):
        return None
    for name, value in headers.items():
        if str(name).lower() == "authorization" and isinstance(value, str):
            ak = dict(parse_qsl(value, keep_blank_values=True)).get("q-ak")
            return ak if ak and _AK.fullmatch(ak) else None
    return None


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadRecord(f"the event has no {name}")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _optional(value: Any) -> Optional[str]:
    text = _text(value).strip()
    return text[:256] or None


def _size(value: Any) -> Optional[int]:
    """A number or a string of digits (the two documented types); None if absent."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise BadRecord("the object size is not a whole number")


def _time(value: Any) -> int:
    """Unix seconds as a number or digits, or an ISO 8601 string (the older pages)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    text = _text(value).strip()
    if text.isdigit():
        return int(text)
    match = _ISO.fullmatch(text)
    if not match:
        raise BadRecord("the event time is neither Unix seconds nor ISO 8601")
    year, month, day, hour, minute, second, zone = match.groups()
    stamp = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute),
                             int(second), 0, 0, 0))  # fmt: skip
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        stamp -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return stamp
