"""Keys from the handler, used by the official COS SDK against the local COS."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
from typing import Any, Optional
from urllib.parse import quote, urlencode

import requests
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_auth import CosS3Auth
from qcloud_cos.cos_exception import CosServiceError
from urllib3.filepost import encode_multipart_formdata

import index
from tests.support import BUCKET, REGION, body_of, context, event, token

MIB = 1024 * 1024

# The SDK's two ways to reach a custom endpoint (docs/tencent/cos-api.md §7): `Domain`
# (the bucket appears nowhere; the local COS serves its one bucket) and `IP`
# + `Port` (virtual-host style: Host is <bucket>.cos.<region>.myqcloud.com).
MODES = ("domain", "virtual-host")

# action -> (method, query parameters), as the SDKs send them (docs/tencent/cos-api.md §1);
# None marks the listing's prefix (a bucket-level request).
REQUESTS = {
    "name/cos:PutObject": ("PUT", {}),
    "name/cos:GetObject": ("GET", {}),
    "name/cos:HeadObject": ("HEAD", {}),
    "name/cos:DeleteObject": ("DELETE", {}),
    "name/cos:InitiateMultipartUpload": ("POST", {"uploads": ""}),
    "name/cos:UploadPart": ("PUT", {"partNumber": "1", "uploadId": "u1"}),
    "name/cos:CompleteMultipartUpload": ("POST", {"uploadId": "u1"}),
    "name/cos:AbortMultipartUpload": ("DELETE", {"uploadId": "u1"}),
    "name/cos:ListParts": ("GET", {"uploadId": "u1"}),
    "name/cos:ListMultipartUploads": ("GET", {"uploads": "", "prefix": None}),
    "name/cos:GetBucket": ("GET", {"prefix": None}),
}


def mint(
    service: Any,
    user: str = "alice",
    body: Any = "",
    source_ip: Optional[str] = None,
    **claims: Any,
) -> dict[str, Any]:
    """Keys for `user` through the public handler, as an app gets them."""
    request = event(token(user, **claims), body)
    if source_ip is not None:
        request = copy.deepcopy(request)
        request["requestContext"]["sourceIp"] = source_ip
    response = index.handle(service, request, context())
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def client(
    cos: Any, keys: dict[str, Any], mode: str = "virtual-host", token: Any = "keys"
) -> CosS3Client:
    """cos-python-sdk-v5 configured with `keys` as an app would, pointed at `cos`.
    `token`: "keys" (the keys' own), None (no token) or another token string."""
    creds = keys["credentials"]
    session_token = creds["sessionToken"] if token == "keys" else token
    where: dict[str, Any]
    if mode == "domain":
        where = {"Domain": f"127.0.0.1:{cos.port}"}
    else:
        where = {"IP": "127.0.0.1", "Port": cos.port}
    config = CosConfig(
        Region=keys.get("region", REGION),
        SecretId=creds["tmpSecretId"],
        SecretKey=creds["tmpSecretKey"],
        Token=session_token,
        Scheme="http",
        Timeout=10,
        **where,
    )
    return CosS3Client(config, retry=0)


def sign(
    keys: dict[str, Any],
    method: str,
    key: str,
    params: Optional[dict[str, str]] = None,
    body: bytes = b"",
    headers: Optional[dict[str, str]] = None,
) -> tuple[str, str, dict[str, str], bytes]:
    """(method, target, headers, body) signed by the SDK's own signer (CosS3Auth), for
    `CosEmulator.handle` without a socket. `key` "" means a bucket-level request."""
    params = params or {}
    url = "http://127.0.0.1:1/" + quote(key.encode("utf-8"), "/-_.~").replace("./", ".%2F")
    if params:
        url += "?" + urlencode(params)
    creds = keys["credentials"]
    config = CosConfig(
        Region=REGION, SecretId=creds["tmpSecretId"], SecretKey=creds["tmpSecretKey"],
        Token=creds["sessionToken"], Scheme="http", IP="127.0.0.1", Port=1,
    )  # fmt: skip
    sent = {
        "Host": f"{BUCKET}.cos.{REGION}.myqcloud.com",
        "x-cos-security-token": creds["sessionToken"],
        **(headers or {}),
    }
    prepared = requests.Request(method, url, headers=sent, data=body or None).prepare()
    CosS3Auth(config, key, params, 600)(prepared)
    return method, prepared.path_url, dict(prepared.headers), prepared.body or b""


def refused(call: Any, *args: Any, **kwargs: Any) -> CosServiceError:
    """The COS error a call raised; fails the test if it succeeded."""
    try:
        call(*args, **kwargs)
    except CosServiceError as error:
        return error
    raise AssertionError(f"{getattr(call, '__name__', call)} succeeded but should be refused")


def last_record(cos: Any) -> dict[str, Any]:
    return json.loads(cos.log_lines[-1])


def form_upload(cos, keys, key, body, *, content_type=None, max_length=10 * MIB, extra=None):
    """A browser-style PostObject (docs/tencent/cos-api.md §2), signed here with plain hmac."""
    creds = keys["credentials"]
    now = int(time.time())
    key_time = f"{now - 60};{now + 900}"
    expiration = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now + 900))
    conditions = [
        {"q-sign-algorithm": "sha1"},
        {"q-ak": creds["tmpSecretId"]},
        {"q-sign-time": key_time},
        {"bucket": BUCKET},
        ["starts-with", "$key", keys["prefix"]],
        ["content-length-range", 0, max_length],
    ]
    policy = json.dumps({"expiration": expiration, "conditions": conditions}).encode()
    sign_key = hmac.new(creds["tmpSecretKey"].encode(), key_time.encode(), hashlib.sha1)
    digest = hashlib.sha1(policy).hexdigest()
    signature = hmac.new(sign_key.hexdigest().encode(), digest.encode(), hashlib.sha1)
    fields = {
        "key": key,
        "policy": base64.b64encode(policy).decode(),
        "q-sign-algorithm": "sha1",
        "q-ak": creds["tmpSecretId"],
        "q-key-time": key_time,
        "q-signature": signature.hexdigest(),
        "x-cos-security-token": creds["sessionToken"],
    }
    if content_type:
        fields["Content-Type"] = content_type
    fields.update(extra or {})  # uncovered by the policy: only CAM can refuse them
    return requests.post(
        cos.endpoint + "/",
        data=fields,
        files={"file": ("upload.bin", body)},
        headers={"Host": f"{BUCKET}.cos.{REGION}.myqcloud.com"},
        timeout=10,
    )


# The Host cos-wx-sdk-v5 signs and sends for `Domain: 'http://{Bucket}.cos.{Region}.localhost:9001'`.
WX_HOST = f"{BUCKET}.cos.{REGION}.localhost:9001"


def _header_signature(
    secret: str, key_time: str, method: str, path: str, headers: dict[str, str]
) -> str:
    """COS's header signature (docs/tencent/cos-signing.md §1) with plain hmac: written apart from
    the verifier under test. No query parameters (the SDK's postObject sends none)."""
    encoded = sorted((quote(k.lower(), "-_.~"), quote(v, "-_.~")) for k, v in headers.items())
    http_string = f"{method}\n{path}\n\n" + "&".join(f"{k}={v}" for k, v in encoded) + "\n"
    digest = hashlib.sha1(http_string.encode()).hexdigest()
    sign_key = hmac.new(secret.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    to_sign = f"sha1\n{key_time}\n{digest}\n"
    return hmac.new(sign_key.encode(), to_sign.encode(), hashlib.sha1).hexdigest()


def wx_post_form(
    keys: dict[str, Any],
    key: str,
    content: bytes = b"hello",
    *,
    fields: Optional[dict[str, str]] = None,
    headers: Optional[dict[str, str]] = None,
    signed: tuple[str, ...] = ("host",),
    secret: Optional[str] = None,
    key_time: Optional[str] = None,
    path: str = "/",
    form_token: Any = "keys",
    header_token: Any = "keys",
    authorization_header: Any = "signature",
    host: str = WX_HOST,
    filename: str = "tmp_upload.bin",
) -> tuple[str, str, dict[str, str], bytes]:
    """(method, target, headers, body) of cos-wx-sdk-v5 1.8.0's postObject as it goes on
    the wire (lib/request.js:56-105): POST / to the bucket; form fields key,
    success_action_status=200, Signature (the Authorization string, signed over post,
    "/", the listed headers), then `fields` (the SDK adds Content-Type, x-cos-meta-*,
    x-cos-storage-class... in its header order), the token, acl, Content-Type ''
    when absent; the file last, named "file". The Authorization and the token also
    go as HTTP headers, with `headers` (x-cos-acl, x-cos-forbid-overwrite...).

    `signed` names the headers the signature lists (their values are taken from the
    HTTP headers sent); "keys" means the keys' own token; None leaves a token or the
    Authorization header out; any other value is sent as is."""
    creds = keys["credentials"]
    now = int(time.time())
    window = key_time or f"{now - 1};{now + 900}"
    sent = {"Host": host, **(headers or {})}
    lowered = {name.lower(): value for name, value in sent.items()}
    signed_headers = {name: lowered[name] for name in signed if name in lowered}
    signature = _header_signature(
        secret or creds["tmpSecretKey"], window, "post", path, signed_headers
    )
    authorization = (
        f"q-sign-algorithm=sha1&q-ak={creds['tmpSecretId']}&q-sign-time={window}"
        f"&q-key-time={window}&q-header-list={';'.join(sorted(signed))}"
        f"&q-url-param-list=&q-signature={signature}"
    )
    token = creds["sessionToken"]
    items: list[tuple[str, Any]] = [
        ("key", key),
        ("success_action_status", "200"),
        ("Signature", authorization),
        *(fields or {}).items(),
    ]
    if form_token is not None:
        items.append(("x-cos-security-token", token if form_token == "keys" else form_token))
    if "x-cos-acl" in lowered:
        items.append(("acl", lowered["x-cos-acl"]))
    if not any(name == "Content-Type" for name, _ in items):
        items.append(("Content-Type", ""))
    items.append(("file", (filename, content, "application/octet-stream")))
    body, content_type = encode_multipart_formdata(items)
    if authorization_header is not None:
        sent["Authorization"] = (
            authorization if authorization_header == "signature" else authorization_header
        )
    if header_token is not None:
        sent["x-cos-security-token"] = token if header_token == "keys" else header_token
    sent["Content-Type"] = content_type
    return "POST", "/", sent, body
