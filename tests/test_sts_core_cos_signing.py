"""The function's own COS signer (sts_core/cos_request_signing.py), which signs tickets.

Oracles, each independent of the code under test: the published vectors of
docs/tencent/cos-signing.md §7 (values copied from the page, recomputed nowhere
here), and the official cos-python-sdk-v5 signer on random requests.
"""

from __future__ import annotations

import base64
import string
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qcloud_cos import CosConfig, CosS3Client

from sts_core.cos_request_signing import (
    http_string,
    post_policy_signature,
    sign_key,
    sign_request,
)
from sts_core.url_encoding import url_encode
from tests.support.examples import examples

DOC_ID, DOC_KEY = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q", "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"
SDK_ID, SDK_KEY, TOKEN = "AKIDEXAMPLE", "SKEXAMPLE", "tok-EXAMPLE"
H1 = "examplebucket-1250000000.cos.ap-beijing.myqcloud.com"
H2 = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
PY_WINDOW = "1699999940;1700003600"


def test_v1_the_documented_put():
    headers = {
        "Content-Length": "13", "Content-MD5": "mQ/fVh815F3k6TAUm8m0eg==",
        "Content-Type": "text/plain", "Date": "Thu, 16 May 2019 06:45:51 GMT", "Host": H1,
        "x-cos-acl": "private", "x-cos-grant-read": 'uin="100000000011"',
    }  # fmt: skip
    window = "1557989151;1557996351"
    assert sign_key(DOC_KEY, window) == "eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f"
    signed = sign_request(DOC_ID, DOC_KEY, window, "PUT", "/exampleobject(腾讯云)", {}, headers)
    assert signed.signature == "3b8851a11a569213c17ba8fa7dcf2abec6935172"
    assert signed.header_list == (
        "content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read"
    )
    assert signed.param_list == ""


def test_v2_the_documented_get_with_parameters():
    params = {"response-content-type": "application/octet-stream",
              "response-cache-control": "max-age=600"}  # fmt: skip
    headers = {"Date": "Thu, 16 May 2019 06:55:53 GMT", "Host": H1}
    assert http_string("GET", "/exampleobject(腾讯云)", params, headers) == (
        "get\n/exampleobject(腾讯云)\nresponse-cache-control=max-age%3D600&response-content-type"
        "=application%2Foctet-stream\ndate=Thu%2C%2016%20May%202019%2006%3A55%3A53%20GMT&host="
        "examplebucket-1250000000.cos.ap-beijing.myqcloud.com\n"
    )
    signed = sign_request(DOC_ID, DOC_KEY, "1557989753;1557996953", "GET",
                          "/exampleobject(腾讯云)", params, headers)  # fmt: skip
    assert signed.signature == "01681b8c9d798a678e43b685a9f1bba0f6c0e012"
    assert signed.param_list == "response-cache-control;response-content-type"


def test_v4_put_with_a_temporary_key_gives_the_sdks_authorization():
    headers = {"Host": H2, "Content-Type": "image/jpeg", "x-cos-security-token": TOKEN,
               "Content-Length": "11"}  # fmt: skip
    signed = sign_request(SDK_ID, SDK_KEY, PY_WINDOW, "PUT", "/users/alice/photo 1.jpg", {},
                          headers)  # fmt: skip
    assert signed.header == (
        "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time=1699999940;1700003600&q-key-time="
        "1699999940;1700003600&q-header-list=content-length;content-type;host;"
        "x-cos-security-token&q-url-param-list=&q-signature="
        "c926739fb8db684aa1cb6f8067c1186ace58b3c0"
    )


def test_v5_v6_v7_parameters_are_sorted_and_lower_cased():
    common = {"host": H2, "x-cos-security-token": TOKEN}
    listing = {"prefix": "users/alice/", "max-keys": "100", "delimiter": "/",
               "encoding-type": "url"}  # fmt: skip
    cases = [
        ("GET", "/", listing, common, "1220c8c5800d4ba72c8e918a29a3114906b38e43"),
        ("POST", "/users/alice/big.bin", {"uploads": ""}, {**common, "content-length": "0"},
         "9d21c7b3c88832f62ecaad2ad9bb45f91afa5f59"),
        ("PUT", "/users/alice/big.bin", {"partNumber": "1", "uploadId": "1700000000abcdef"},
         {**common, "content-length": "16"}, "f768e3d912cfe7bf9c770d69f2e371bad03a738a"),
        ("GET", "/users/alice/报告.pdf", {}, {**common, "range": "bytes=0-99"},
         "3c6aadff173674803e714a4b7513513f95d55264"),
    ]  # fmt: skip
    for method, path, params, headers, expected in cases:
        signed = sign_request(SDK_ID, SDK_KEY, PY_WINDOW, method, path, params, headers)
        assert signed.signature == expected, (method, path)


def test_v8_a_presigned_url_with_the_token_signed():
    window = "1699999940;1700000600"
    signed = sign_request(SDK_ID, SDK_KEY, window, "GET", "/users/alice/photo 1.jpg",
                          {"x-cos-security-token": TOKEN}, {"host": H2})  # fmt: skip
    assert signed.query == (
        "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time=1699999940%3B1700000600&q-key-time="
        "1699999940%3B1700000600&q-header-list=host&q-url-param-list=x-cos-security-token&"
        "q-signature=bb319fdff0380161634327100fdf5c05221d280d"
    )
    unsigned = sign_request(SDK_ID, SDK_KEY, window, "GET", "/users/alice/photo 1.jpg", {},
                            {"host": H2})  # fmt: skip
    assert unsigned.signature == "d94750aaa837b1cfad2546944db3ccbe676f46b6"


V3_POLICY = (
    "ewogICAgImV4cGlyYXRpb24iOiAiMjAxOS0wOC0zMFQwOTozODoxMi40MTRaIiwKICAgICJjb25k"
    "aXRpb25zIjogWwogICAgICAgIHsgImFjbCI6ICJkZWZhdWx0IiB9LAogICAgICAgIHsgImJ1Y2tl"
    "dCI6ICJleGFtcGxlYnVja2V0LTEyNTAwMDAwMDAiIH0sCiAgICAgICAgWyAic3RhcnRzLXdpdGgi"
    "LCAiJGtleSIsICJmb2xkZXIvc3ViZm9sZGVyLyIgXSwKICAgICAgICBbICJzdGFydHMtd2l0aCIs"
    "ICIkQ29udGVudC1UeXBlIiwgImltYWdlLyIgXSwKICAgICAgICBbICJzdGFydHMtd2l0aCIsICIk"
    "c3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiLCAiaHR0cHM6Ly9teS53ZWJzaXRlLyIgXSwKICAgICAg"
    "ICBbICJlcSIsICIkeC1jb3Mtc2VydmVyLXNpZGUtZW5jcnlwdGlvbiIsICJBRVMyNTYiIF0sCiAg"
    "ICAgICAgeyAicS1zaWduLWFsZ29yaXRobSI6ICJzaGExIiB9LAogICAgICAgIHsgInEtYWsiOiAi"
    "QUtJRFFqejNsdG9tcFZqQm5pNUxpdGtXSEZsRnB3a245VTVxIiB9LAogICAgICAgIHsgInEtc2ln"
    "bi10aW1lIjogIjE1NjcxNTA2OTI7MTU2NzE1Nzg5MiIgfQogICAgXQp9"
)


def test_v3_v9_post_policy_signatures():
    text = base64.b64decode(V3_POLICY).decode("utf-8")
    assert post_policy_signature(DOC_KEY, "1567150692;1567157892", text) == (
        "7758dc9a832e9d301dca704cacbf9d9f8172fdef"
    )
    v9 = (
        '{"expiration":"2023-11-14T22:28:20.000Z","conditions":[{"q-sign-algorithm":"sha1"},'
        '{"q-ak":"AKIDEXAMPLE"},{"q-sign-time":"1700000000;1700000900"},'
        '{"bucket":"examplebucket-1250000000"},["starts-with","$key","users/alice/"],'
        '["content-length-range",0,10485760]]}'
    )
    assert post_policy_signature(SDK_KEY, "1700000000;1700000900", v9) == (
        "4cc06f100cab06768622f2284c0c73c643cf36eb"
    )


def test_url_encode_keeps_only_the_unreserved_characters():
    assert url_encode("a b/c~d.e-f_g+h=i&j") == "a%20b%2Fc~d.e-f_g%2Bh%3Di%26j"
    assert url_encode("报") == "%E6%8A%A5"


# -- against the official SDK on random requests ------------------------------------------

ALPHABET = string.ascii_letters + string.digits + " -_.~/!*()'+=&;,报告"
secrets_ = st.text(string.ascii_letters + string.digits + "+/", min_size=1, max_size=40)
object_keys = st.text(ALPHABET, min_size=1, max_size=30).filter(
    lambda key: key.rsplit("/", 1)[-1] not in (".", "..") and not key.startswith("/")
)
param_names = st.text(string.ascii_letters + "-_", min_size=1, max_size=12).filter(
    lambda name: not name.lower().startswith("q-") and name != "x-cos-security-token"
)
params_ = st.dictionaries(param_names, st.text(ALPHABET, max_size=20), max_size=3).filter(
    lambda params: len({name.lower() for name in params}) == len(params)
)
signed_headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(["image/jpeg", "text/plain; charset=utf-8"]),
        "Content-Length": st.integers(0, 10**9).map(str),
        "x-cos-acl": st.sampled_from(["private", "default"]),
        "x-cos-storage-class": st.sampled_from(["STANDARD", "STANDARD_IA"]),
        "x-cos-forbid-overwrite": st.just("true"),
        "x-cos-meta-note": st.text(string.ascii_letters + " =&", max_size=12).map(str.strip),
    },
)


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=secrets_, key=object_keys, method=st.sampled_from(["GET", "PUT", "POST"]),
       params=params_, headers=signed_headers, now=st.integers(1_500_000_000, 2_000_000_000),
       expire=st.integers(1, 7200))  # fmt: skip
def test_presigned_urls_match_the_sdks(secret, key, method, params, headers, now, expire):
    """cos-python-sdk-v5's get_presigned_url and ours, on the same request, give the
    same seven fields (its window: now-60 .. now+expire)."""
    config = CosConfig(Region="ap-guangzhou", SecretId=SDK_ID, SecretKey=secret)
    with mock.patch("qcloud_cos.cos_auth.time.time", return_value=now):
        url = CosS3Client(config).get_presigned_url(
            Bucket="examplebucket-1250000000", Key=key, Method=method, Expired=expire,
            Params=dict(params), Headers=dict(headers),  # copies: the SDK adds to them
        )  # fmt: skip
    theirs = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    window = f"{now - 60};{now + expire}"
    ours = sign_request(SDK_ID, secret, window, method, "/" + key, params,
                        {"host": H2, **headers})  # fmt: skip
    assert dict(ours.fields()) == {name: theirs[name] for name, _ in ours.fields()}
