"""The two HTTP trigger events SCF delivers, built for local use: the endpoint's
API Gateway stand-in, console test events, tests and benchmarks all use these
(shapes: docs/tencent/scf.md §2 and §4)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from typing import Any, Optional, Union

from sts_core.cam_resources import appid_of

API_GATEWAY = "apigw"
FUNCTION_URL = "function-url"
Body = Union[bytes, str, Mapping[str, Any], list]


def body_text(body: Body) -> tuple[str, bool]:
    """(the event's body, isBase64Encoded): JSON for a document, Base64 for bytes
    that are not UTF-8, as the gateway sends them."""
    if isinstance(body, (Mapping, list)):
        return json.dumps(body, separators=(",", ":")), False
    if isinstance(body, str):
        return body, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def api_gateway_event(
    method: str = "POST",
    path: str = "/sts",
    *,
    headers: Optional[Mapping[str, str]] = None,
    body: Body = "",
    source_ip: str = "127.0.0.1",
    query: Optional[Mapping[str, Any]] = None,
    request_id: Optional[str] = None,
    service_id: str = "service-local",
) -> dict[str, Any]:
    """An API Gateway trigger event (integration request), as the gateway builds it."""
    text, encoded = body_text(body)
    return {
        "requestContext": {
            "serviceId": service_id,
            "path": path,
            "httpMethod": "ANY",
            "requestId": request_id or str(uuid.uuid4()),
            "identity": {},
            "sourceIp": source_ip,
            "stage": "release",
        },
        "headers": dict(headers or {}),
        "body": text,
        "isBase64Encoded": encoded,
        "pathParameters": {},
        "queryStringParameters": {},
        "headerParameters": {},
        "stageVariables": {"stage": "release"},
        "path": path,
        "queryString": dict(query or {}),
        "httpMethod": method,
    }


def function_url_event(
    method: str = "POST",
    path: str = "/sts",
    *,
    headers: Optional[Mapping[str, str]] = None,
    body: Body = "",
    source_ip: str = "127.0.0.1",
    query: Optional[Mapping[str, Any]] = None,
) -> dict[str, Any]:
    """A Function URL event: no requestContext, lower-case headers, the caller's
    address in x-scf-remote-addr."""
    text, encoded = body_text(body)
    sent = {name.lower(): value for name, value in (headers or {}).items()}
    sent.setdefault("x-scf-remote-addr", source_ip)
    event: dict[str, Any] = {
        "body": text,
        "headers": sent,
        "httpMethod": method,
        "path": path,
        "queryString": dict(query or {}),
    }
    if encoded:
        event["isBase64Encoded"] = True
    return event


def credential_request(
    token: Optional[str],
    body: Body = "",
    *,
    kind: str = API_GATEWAY,
    path: str = "/sts",
    headers: Optional[Mapping[str, str]] = None,
    source_ip: str = "127.0.0.1",
    query: Optional[Mapping[str, Any]] = None,
) -> dict[str, Any]:
    """A POST to the credential endpoint carrying `token` as a Bearer token."""
    sent = {"content-type": "application/json", **(headers or {})}
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    build = function_url_event if kind == FUNCTION_URL else api_gateway_event
    return build("POST", path, headers=sent, body=body, source_ip=source_ip, query=query)


def cos_record(
    event_name: str,
    bucket: str,
    region: str,
    key: str,
    *,
    size: Union[int, str] = 0,
    etag: str = "",
    content_type: str = "",
    metadata: Optional[Mapping[str, str]] = None,
    authorization: Optional[str] = None,
    event_time: Union[int, str] = 0,
    request_id: str = "",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """One record of the COS trigger's event, as COS sends it (docs/tencent/cos-events.md
    §1): the key URL-encoded under /<appid>/<short name>/, the region as its short code."""
    from urllib.parse import quote

    appid = appid_of(bucket)
    short = bucket[: -len(appid) - 1]
    meta: dict[str, str] = {"x-cos-request-id": request_id}
    if content_type:
        meta["Content-Type"] = content_type
    if etag:
        meta["ETag"] = etag
    meta.update(metadata or {})
    headers = {"Authorization": authorization} if authorization else {}
    encoded = quote(key, safe="/")
    return {
        "cos": {
            "cosSchemaVersion": "1.0",
            "cosObject": {
                "url": f"http://{bucket}.cos.{region}.myqcloud.com/{encoded}",
                "meta": meta,
                "vid": "",
                "key": f"/{appid}/{short}/{encoded}",
                "size": size,
            },
            "cosBucket": {
                "region": REGION_CODES.get(region, region),
                "name": short,
                "appid": appid,
            },
            "cosNotificationId": "unknown",
        },
        "event": {
            "eventName": event_name,
            "eventVersion": "1.0",
            "eventTime": event_time,
            "eventSource": "qcs::cos",
            "requestParameters": {"requestSourceIP": source_ip, "requestHeaders": headers},
            "eventQueue": f"qcs:0:scf:{region}:appid/{appid}:default.cos-sts.$DEFAULT",
            "reservedInfo": "",
            "reqid": 0,
        },
    }


def cos_event(*records: Mapping[str, Any]) -> dict[str, Any]:
    return {"Records": [dict(r) for r in records]}


# Short region codes in the event's cosBucket.region (a few; others pass unchanged).
REGION_CODES = {"ap-guangzhou": "gz", "ap-shanghai": "sh", "ap-chengdu": "cd",
                "ap-beijing": "bj", "ap-nanjing": "nj", "ap-chongqing": "cq"}  # fmt: skip
