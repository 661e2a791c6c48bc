"""Both trigger event shapes, every documented variation, and malformed events."""

from __future__ import annotations

import base64

import pytest

from sts_core.errors import BadRequest, PayloadTooLarge
from sts_core.scf_http_event import API_GATEWAY, FUNCTION_URL, parse_event
from tests.support import load_event


def test_official_api_gateway_sample():
    request = parse_event(load_event("apigw_official.json"))
    assert request.kind == API_GATEWAY
    assert request.method == "POST"
    assert request.path == "/test/value"
    assert request.source_ip == "10.0.2.14"
    assert request.gateway_request_id == "c6af9ac6-****-****-9a41-93e8deadbeef"
    # Mixed-case names in the sample are found case-insensitively.
    assert request.header("user-agent") == "User Agent String"
    assert request.header("HOST").startswith("service-3ei3tii4")
    assert request.body(1024) == b'{"test":"body"}'
    assert request.query == {"foo": ("bar",), "bob": ("alice",)}


def test_backend_sample_with_string_base64_flag_and_gateway_request_id_header():
    sample = load_event("apigw_backend.json")
    sample["body"] = base64.b64encode(b'{"profile":"download"}').decode()
    request = parse_event(sample)
    assert request.kind == API_GATEWAY
    assert request.base64_body is True  # "true" as a string
    assert request.body(1024) == b'{"profile":"download"}'
    assert request.gateway_request_id == "12345678906f******7cd8db0fe843dc"  # trimmed
    assert request.source_ip == "14.17.22.36"


def test_golib_sample_query_string_shapes():
    request = parse_event(load_event("apigw_golib.json"))
    assert request.query == {"a": ("b", "c"), "x": ("y",), "i": ("",)}
    assert request.method == "GET"
    assert request.gateway_request_id is None
    assert request.body(10) == b""


def test_function_url_sample():
    request = parse_event(load_event("function_url.json"))
    assert request.kind == FUNCTION_URL
    assert request.source_ip == "111.206.96.145"
    assert request.path == "/"
    assert request.body(1024) == b'{"test":"hello world"}'


@pytest.mark.parametrize("flag", [True, "true", "TRUE", " True "])
def test_base64_flag_spellings(flag):
    event = {
        "httpMethod": "POST",
        "body": base64.b64encode(b"{}").decode(),
        "isBase64Encoded": flag,
    }
    assert parse_event(event).body(10) == b"{}"


@pytest.mark.parametrize("flag", [False, "false", "", None])
def test_plain_body_flag_spellings(flag):
    event = {"httpMethod": "POST", "body": "e30=", "isBase64Encoded": flag}
    assert parse_event(event).body(10) == b"e30="


def test_repeated_and_non_string_headers():
    event = {
        "httpMethod": "post",
        "headers": {"X-A": ["1", "2"], "x-a": "3", "X-N": 5, "X-None": None, 7: "ignored"},
    }
    request = parse_event(event)
    assert request.method == "POST"
    assert request.header("x-a") == "1, 2, 3"
    assert request.header("x-n") == "5"
    assert request.header("x-none") is None


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (None, "not an HTTP"),
        ([], "not an HTTP"),
        ("POST /sts", "not an HTTP"),
        ({}, "httpMethod"),
        ({"httpMethod": None}, "httpMethod"),
        ({"httpMethod": 7}, "httpMethod"),
        ({"httpMethod": "POST", "body": {"a": 1}}, "body"),
        ({"httpMethod": "POST", "body": 12}, "body"),
        ({"httpMethod": "POST", "headers": ["Authorization: x"]}, "headers"),
        ({"httpMethod": "POST", "headers": "x"}, "headers"),
        ({"httpMethod": "POST", "isBase64Encoded": "yes"}, "isBase64Encoded"),
        ({"httpMethod": "POST", "isBase64Encoded": 1}, "isBase64Encoded"),
    ],
)
def test_malformed_events_are_bad_requests(event, words):
    with pytest.raises(BadRequest, match=words) as caught:
        parse_event(event)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_event"


@pytest.mark.parametrize("body", ["not base64!", "e30", "e3 0=", "\u00e9"])
def test_bad_base64_is_a_bad_request(body):
    request = parse_event({"httpMethod": "POST", "body": body, "isBase64Encoded": True})
    with pytest.raises(BadRequest, match="Base64"):
        request.body(100)


def test_odd_but_harmless_fields_are_tolerated():
    request = parse_event(
        {
            "httpMethod": "POST",
            "path": 5,
            "queryString": "a=b",
            "requestContext": {},
            "headers": None,
        }
    )
    assert (request.path, request.query, request.source_ip) == ("/", {}, None)
    assert request.kind == API_GATEWAY


@pytest.mark.parametrize("encoded", [False, True])
def test_body_limit_is_exact_and_checked_before_decoding(encoded):
    def make(size):
        raw = b"x" * size
        text = base64.b64encode(raw).decode() if encoded else raw.decode()
        return parse_event({"httpMethod": "POST", "body": text, "isBase64Encoded": encoded})

    assert make(100).body(100) == b"x" * 100
    with pytest.raises(PayloadTooLarge) as caught:
        make(101).body(100)
    assert caught.value.status == 413
    # Multi-byte characters count as bytes, not characters.
    wide = parse_event({"httpMethod": "POST", "body": "\u00e9" * 51})
    with pytest.raises(PayloadTooLarge):
        wide.body(100)


def test_request_repr_never_shows_headers_or_body():
    request = parse_event(
        {"httpMethod": "POST", "path": "/sts", "body": "{\"secret\":1}",
         "headers": {"Authorization": "Bearer eyJ.secret-token.sig"}}
    )  # fmt: skip
    text = repr(request)
    assert "POST /sts" in text
    assert "secret-token" not in text
    assert "secret" not in text.lower()
