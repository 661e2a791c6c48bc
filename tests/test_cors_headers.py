"""Every CORS header the browser SDKs need, on the credential endpoint and on the
local COS, over HTTP; and an origin that is not allowed gets none of them.

What is needed comes from the reference (docs/tencent/cos-api.md §6, docs/tencent/browser.md A8-A9):
the exact Access-Control-Request-Headers Chromium sends for each request
cos-js-sdk-v5 1.10.1 makes, the methods, and the response headers it must be able
to read (ETag above all: without it multipart uploads fail). For the endpoint: the
preflight of a Bearer JSON POST, and Allow-Origin on answers and errors alike
(else the page sees a network error instead of a 401).
"""

from __future__ import annotations

import pytest
import requests

import index
from sts_tools.emulators.cos.server import CosEmulator
from sts_tools.emulators.gateway import DevServer
from tests.support import BUCKET, REGION, make_env, make_service, shipped_config, token
from tests.support.cos import mint, sign

ORIGIN = "http://app.example.test:8080"
STRANGER = "http://evil.example.test"
COS_HOST = f"{BUCKET}.cos.{REGION}.localhost"

# Per request the SDK makes: (method, path with query, Access-Control-Request-Headers
# as Chromium sends them) - docs/tencent/cos-api.md §6, docs/tencent/browser.md A8.
TOKEN = "x-cos-security-token"
SDK_PREFLIGHTS = [
    ("PUT", "/users/alice/a.txt", f"authorization,cache-control,{TOKEN}"),
    ("GET", "/?uploads&prefix=users%2Falice%2Fbig.bin", f"authorization,{TOKEN}"),
    ("POST", "/users/alice/big.bin?uploads", f"authorization,cache-control,content-type,{TOKEN}"),
    ("PUT", "/users/alice/big.bin?partNumber=1&uploadId=U", f"authorization,{TOKEN}"),
    ("POST", "/users/alice/big.bin?uploadId=U", f"authorization,content-md5,content-type,{TOKEN}"),
    ("GET", "/users/alice/a.txt", f"authorization,{TOKEN}"),
    ("HEAD", "/users/alice/a.txt", f"authorization,{TOKEN}"),
    ("DELETE", "/users/alice/a.txt", f"authorization,{TOKEN}"),
    # A retry adds x-cos-sdk-retry (docs/tencent/browser.md §6).
    ("PUT", "/users/alice/a.txt", f"authorization,cache-control,x-cos-sdk-retry,{TOKEN}"),
]
# What the SDKs read from COS answers (docs/tencent/cos-api.md §6 "must be exposed").
COS_EXPOSED = ("etag", "content-length", "date", "x-cos-request-id")


def cors_headers(response):
    return {
        k.lower(): v for k, v in response.headers.items() if k.lower().startswith("access-control-")
    }


def listed(value):
    return {item.strip().lower() for item in (value or "").split(",") if item.strip()}


# -- the credential endpoint -----------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint(sts_emulator):
    document = shipped_config()
    document["cors"]["allowed_origins"] = [ORIGIN]
    service = make_service(make_env(sts_emulator.endpoint), document)
    server = DevServer(lambda event, context: index.handle(service, event, context), port=0)
    yield server.start().url + "/sts"
    server.stop()


def test_endpoint_preflight_grants_a_bearer_json_post(endpoint):
    response = requests.options(
        endpoint,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=10,
    )
    assert response.status_code == 204
    granted = cors_headers(response)
    assert granted["access-control-allow-origin"] == ORIGIN
    assert "POST" in {m.upper() for m in listed(granted["access-control-allow-methods"])}
    assert {"authorization", "content-type"} <= listed(granted["access-control-allow-headers"])
    assert int(granted["access-control-max-age"]) > 0
    assert "origin" in listed(response.headers.get("Vary"))


@pytest.mark.parametrize(
    ("bearer", "body", "status"),
    [
        ("alice", {"profile": "upload"}, 200),
        (None, {"profile": "upload"}, 401),
        ("not-a-token", {"profile": "upload"}, 401),
        ("alice", {"profile": "nope"}, 400),
        ("alice", {"scope": [{"action": "name/cos:PutObject", "prefix": "users/bob/*"}]}, 403),
    ],
    ids=["200", "401-missing", "401-invalid", "400", "403"],
)
def test_endpoint_answers_and_errors_carry_allow_origin(emulator, endpoint, bearer, body, status):
    headers = {"Origin": ORIGIN}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {token(bearer) if bearer == 'alice' else bearer}"
    response = requests.post(endpoint, json=body, headers=headers, timeout=10)
    assert response.status_code == status, response.text
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "origin" in listed(response.headers.get("Vary"))


def test_endpoint_gives_an_unlisted_origin_nothing(emulator, endpoint):
    preflight = requests.options(
        endpoint,
        headers={
            "Origin": STRANGER,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=10,
    )
    assert cors_headers(preflight) == {}
    for headers in ({"Authorization": f"Bearer {token('alice')}"}, {}):
        response = requests.post(
            endpoint, json={}, headers={"Origin": STRANGER, **headers}, timeout=10
        )
        assert response.status_code in (200, 401)
        assert cors_headers(response) == {}


# -- the local COS ----------------------------------------------------------------------------


@pytest.fixture
def cos(emulator):
    """A local COS whose CORS rule lists one origin (make run's allows any)."""
    with CosEmulator(
        emulator.keyring, bucket=BUCKET, region=REGION, cors_origins=[ORIGIN], log=lambda line: None
    ) as server:
        yield server


def cos_url(cos, target):
    return f"http://127.0.0.1:{cos.port}{target}"


@pytest.mark.parametrize(("method", "target", "asked"), SDK_PREFLIGHTS)
def test_cos_preflight_grants_what_the_js_sdk_asks(cos, method, target, asked):
    response = requests.options(
        cos_url(cos, target),
        headers={
            "Host": f"{COS_HOST}:{cos.port}",
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": asked,
        },
        timeout=10,
    )
    assert response.status_code == 200
    granted = cors_headers(response)
    assert granted["access-control-allow-origin"] in (ORIGIN, "*")
    methods = {m.upper() for m in listed(granted["access-control-allow-methods"])}
    assert {"GET", "PUT", "POST", "DELETE", "HEAD"} <= methods
    assert listed(asked) <= listed(granted["access-control-allow-headers"])


def test_cos_answers_expose_what_the_sdks_read(cos, emulator):
    service = make_service(make_env(emulator.endpoint))
    keys = mint(service, body={"profile": "read-write"})
    requests_made = [
        sign(keys, "PUT", "users/alice/a.txt", body=b"hello", headers={"Origin": ORIGIN}),  # 200
        sign(keys, "GET", "users/alice/absent.txt", headers={"Origin": ORIGIN}),  # 404
        sign(keys, "PUT", "users/bob/a.txt", body=b"x", headers={"Origin": ORIGIN}),  # 403
    ]
    statuses = []
    for method, target, headers, body in requests_made:  # signed for the myqcloud.com Host
        response = requests.request(
            method, cos_url(cos, target), headers=headers, data=body, timeout=10
        )
        statuses.append(response.status_code)
        granted = cors_headers(response)
        assert granted["access-control-allow-origin"] in (ORIGIN, "*")
        assert set(COS_EXPOSED) <= listed(granted["access-control-expose-headers"])
        assert "Date" in response.headers
        assert "x-cos-request-id" in response.headers
    assert statuses == [200, 404, 403]


def test_cos_gives_an_unlisted_origin_nothing(cos, emulator):
    preflight = requests.options(
        cos_url(cos, "/users/alice/a.txt"),
        headers={
            "Host": f"{COS_HOST}:{cos.port}",
            "Origin": STRANGER,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,cache-control,x-cos-security-token",
        },
        timeout=10,
    )
    assert preflight.status_code == 403
    assert "AccessForbidden" in preflight.text
    assert cors_headers(preflight) == {}
    keys = mint(make_service(make_env(emulator.endpoint)), body={"profile": "upload"})
    method, target, headers, body = sign(
        keys, "PUT", "users/alice/a.txt", body=b"hello", headers={"Origin": STRANGER}
    )
    response = requests.request(
        method, cos_url(cos, target), headers=headers, data=body, timeout=10
    )
    assert response.status_code == 200  # CORS is the browser's business: the write happens
    assert cors_headers(response) == {}
