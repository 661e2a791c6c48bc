"""The local COS's request-signature verifier (docs/tencent/cos-signing.md).

Vectors V1-V8 stage by stage (each assertion names its stage), one test per
tolerance of docs/tencent/cos-signing.md §3-§4, the refusals, and a hypothesis differential test
against
the official cos-python-sdk-v5 signer, in both the header and the pre-signed
URL form.
"""

from __future__ import annotations

import hashlib
import string
from unittest import mock
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest
import requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_auth import CosS3Auth

from sts_tools.emulators.cos import signature as sig
from sts_tools.emulators.cos.signature import (
    AuthFields,
    MalformedAuthorization,
    UnsignedName,
    http_headers,
    http_parameters,
    http_string,
    parse_authorization,
    query_fields,
    sign_key,
    signature,
    string_to_sign,
    verify,
)
from tests.support.examples import examples

DOC_ID = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q"
DOC_KEY = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"
DOC_HOST = "examplebucket-1250000000.cos.ap-beijing.myqcloud.com"
DOC_PATH = unquote("/exampleobject(%E8%85%BE%E8%AE%AF%E4%BA%91)")
SDK_ID, SDK_KEY, TOKEN = "AKIDEXAMPLE", "SKEXAMPLE", "tok-EXAMPLE"
GZ_HOST = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
NOW = 1700000000
PY_WINDOW = "1699999940;1700003600"  # PY signs now-60 ; now+3600


def sha1_hex(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def assert_stages(case, *, secret, key_time, method, path, query, param_names, headers,
                  header_names, expected):  # fmt: skip
    """Recompute every stage and name the first that differs from the vector."""
    key = sign_key(secret, key_time)
    text = http_string(
        method, path, http_parameters(query, param_names), http_headers(headers, header_names)
    )
    to_sign = string_to_sign(key_time, text)
    actual = {
        "SignKey": key,
        "HttpString": text,
        "SHA1(HttpString)": sha1_hex(text),
        "StringToSign": to_sign,
        "Signature": signature(key, to_sign),
    }
    for stage, value in expected.items():
        assert actual[stage] == value, f"{case}: stage {stage} differs"
    return actual


def fields_for(key_time, header_names, param_names, signed, ak=SDK_ID, in_query=False):
    return AuthFields("sha1", ak, key_time, key_time, tuple(header_names), tuple(param_names),
                      signed, in_query)  # fmt: skip


# -- V1, V2: the documentation's examples ------------------------------------------------

V1_HEADERS = {
    "content-length": "13",
    "content-md5": "mQ/fVh815F3k6TAUm8m0eg==",
    "content-type": "text/plain",
    "date": "Thu, 16 May 2019 06:45:51 GMT",
    "host": DOC_HOST,
    "x-cos-acl": "private",
    "x-cos-grant-read": 'uin="100000000011"',
}
V1_HEADER_LIST = "content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read"
V1_SIGNATURE = "3b8851a11a569213c17ba8fa7dcf2abec6935172"


def test_v1_put_doc_example_stage_by_stage():
    assert DOC_PATH == "/exampleobject(腾讯云)"
    assert_stages(
        "V1", secret=DOC_KEY, key_time="1557989151;1557996351", method="PUT", path=DOC_PATH,
        query=[], param_names=[], headers=V1_HEADERS, header_names=V1_HEADER_LIST.split(";"),
        expected={
            "SignKey": "eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f",
            "HttpString": "put\n/exampleobject(腾讯云)\n\ncontent-length=13&content-md5="
            "mQ%2FfVh815F3k6TAUm8m0eg%3D%3D&content-type=text%2Fplain&date=Thu%2C%2016%20May"
            "%202019%2006%3A45%3A51%20GMT&host=examplebucket-1250000000.cos.ap-beijing."
            "myqcloud.com&x-cos-acl=private&x-cos-grant-read=uin%3D%22100000000011%22\n",
            "SHA1(HttpString)": "8b2751e77f43a0995d6e9eb9477f4b685cca4172",
            "Signature": V1_SIGNATURE,
        },
    )  # fmt: skip


def test_v1_through_parse_authorization_and_verify():
    fields = parse_authorization(
        f"q-sign-algorithm=sha1&q-ak={DOC_ID}&q-sign-time=1557989151;1557996351"
        f"&q-key-time=1557989151;1557996351&q-header-list={V1_HEADER_LIST}"
        f"&q-url-param-list=&q-signature={V1_SIGNATURE}"
    )
    assert fields.param_list == ()
    assert fields.header_list == tuple(V1_HEADER_LIST.split(";"))
    checked = verify("PUT", DOC_PATH, [], V1_HEADERS, fields, DOC_KEY, 1557989200)
    assert checked.problem is None, checked.detail


def test_v1_english_doc_path_does_not_reproduce():
    # docs/tencent/cos-signing.md §2: "/exampleobject(tencentcloud)" is a translation slip.
    fields = fields_for("1557989151;1557996351", V1_HEADER_LIST.split(";"), [], V1_SIGNATURE)
    checked = verify(
        "PUT", "/exampleobject(tencentcloud)", [], V1_HEADERS, fields, DOC_KEY, 1557989200
    )
    assert checked.problem == "mismatch"


def test_v1_encoded_path_does_not_verify():
    # The path signed is the DECODED one; a verifier handed the raw path must refuse.
    fields = fields_for("1557989151;1557996351", V1_HEADER_LIST.split(";"), [], V1_SIGNATURE)
    raw = "/exampleobject(%E8%85%BE%E8%AE%AF%E4%BA%91)"
    assert verify("PUT", raw, [], V1_HEADERS, fields, DOC_KEY, 1557989200).problem == "mismatch"


V2_QUERY = [
    ("response-content-type", "application/octet-stream"),
    ("response-cache-control", "max-age=600"),
]
V2_HEADERS = {"date": "Thu, 16 May 2019 06:55:53 GMT", "host": DOC_HOST}
V2_SIGNATURE = "01681b8c9d798a678e43b685a9f1bba0f6c0e012"


def test_v2_get_doc_example_stage_by_stage():
    assert_stages(
        "V2", secret=DOC_KEY, key_time="1557989753;1557996953", method="GET", path=DOC_PATH,
        query=V2_QUERY, param_names=["response-cache-control", "response-content-type"],
        headers=V2_HEADERS, header_names=["date", "host"],
        expected={
            "SignKey": "937914bf490e9e8c189836aad2052e4feeb35eaf",
            "HttpString": "get\n/exampleobject(腾讯云)\nresponse-cache-control=max-age%3D600"
            "&response-content-type=application%2Foctet-stream\ndate=Thu%2C%2016%20May%202019"
            "%2006%3A55%3A53%20GMT&host=examplebucket-1250000000.cos.ap-beijing.myqcloud.com\n",
            "SHA1(HttpString)": "54ecfe22f59d3514fdc764b87a32d8133ea611e6",
            "Signature": V2_SIGNATURE,
        },
    )  # fmt: skip
    fields = fields_for(
        "1557989753;1557996953", ["date", "host"],
        ["response-cache-control", "response-content-type"], V2_SIGNATURE,
    )  # fmt: skip
    checked = verify("GET", DOC_PATH, V2_QUERY, V2_HEADERS, fields, DOC_KEY, 1557989800)
    assert checked.problem is None, checked.detail


# -- V4-V8: the official Python SDK with a temporary key --------------------------------

V4_HEADERS = {
    "content-length": "11",
    "content-type": "image/jpeg",
    "host": GZ_HOST,
    "x-cos-security-token": TOKEN,
}
V4_AUTHORIZATION = (
    "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time=1699999940;1700003600"
    "&q-key-time=1699999940;1700003600&q-header-list=content-length;content-type;host;"
    "x-cos-security-token&q-url-param-list=&q-signature=c926739fb8db684aa1cb6f8067c1186ace58b3c0"
)
V4_PATH = "/users/alice/photo 1.jpg"


def test_v4_put_object_stage_by_stage():
    fields = parse_authorization(V4_AUTHORIZATION)
    assert_stages(
        "V4", secret=SDK_KEY, key_time=PY_WINDOW, method="PUT", path=V4_PATH, query=[],
        param_names=fields.param_list, headers=V4_HEADERS, header_names=fields.header_list,
        expected={
            "SignKey": "20816949cf4f6e4b104eae82dfa3bfecbd84226d",
            "HttpString": "put\n/users/alice/photo 1.jpg\n\ncontent-length=11&content-type="
            "image%2Fjpeg&host=examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
            "&x-cos-security-token=tok-EXAMPLE\n",
            "SHA1(HttpString)": "c00eec113cc91b229d300bdae421b6e771dcc99b",
            "Signature": "c926739fb8db684aa1cb6f8067c1186ace58b3c0",
        },
    )  # fmt: skip
    checked = verify("PUT", V4_PATH, [], V4_HEADERS, fields, SDK_KEY, NOW)
    assert checked.problem is None, checked.detail


def test_v4_verification_shows_the_strings_with_the_token_redacted():
    checked = verify("PUT", V4_PATH, [], V4_HEADERS, parse_authorization(V4_AUTHORIZATION),
                     SDK_KEY, NOW)  # fmt: skip
    assert TOKEN not in checked.http_string
    assert "&x-cos-security-token=<redacted>\n" in checked.http_string
    # The StringToSign is over the real HttpString (the V4 SHA1), not the redacted one.
    assert checked.string_to_sign == (
        f"sha1\n{PY_WINDOW}\nc00eec113cc91b229d300bdae421b6e771dcc99b\n"
    )
    assert SDK_KEY not in repr(checked)
    assert sign_key(SDK_KEY, PY_WINDOW) not in repr(checked)


V5_QUERY = [
    ("prefix", "users/alice/"),
    ("max-keys", "100"),
    ("delimiter", "/"),
    ("encoding-type", "url"),
]
V5_PARAMS = ["delimiter", "encoding-type", "max-keys", "prefix"]
V5_HEADERS = {"host": GZ_HOST, "x-cos-security-token": TOKEN}
V5_SIGNATURE = "1220c8c5800d4ba72c8e918a29a3114906b38e43"


def test_v5_get_bucket_stage_by_stage():
    assert_stages(
        "V5", secret=SDK_KEY, key_time=PY_WINDOW, method="GET", path="/", query=V5_QUERY,
        param_names=V5_PARAMS, headers=V5_HEADERS, header_names=["host", "x-cos-security-token"],
        expected={
            "HttpString": "get\n/\ndelimiter=%2F&encoding-type=url&max-keys=100&prefix=users"
            "%2Falice%2F\nhost=examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
            "&x-cos-security-token=tok-EXAMPLE\n",
            "SHA1(HttpString)": "35c1f1b97c1f5bee5d65df35b71a1d7688f74d13",
            "Signature": V5_SIGNATURE,
        },
    )  # fmt: skip
    fields = fields_for(PY_WINDOW, ["host", "x-cos-security-token"], V5_PARAMS, V5_SIGNATURE)
    assert verify("GET", "/", V5_QUERY, V5_HEADERS, fields, SDK_KEY, NOW).problem is None


V6B_QUERY = [("partNumber", "1"), ("uploadId", "1700000000abcdef")]
V6B_HEADERS = {"content-length": "16", "host": GZ_HOST, "x-cos-security-token": TOKEN}
V6B_SIGNATURE = "f768e3d912cfe7bf9c770d69f2e371bad03a738a"
V6B_FIELDS = fields_for(
    PY_WINDOW, ["content-length", "host", "x-cos-security-token"], ["partnumber", "uploadid"],
    V6B_SIGNATURE,
)  # fmt: skip


def test_v6_initiate_multipart_stage_by_stage():
    assert_stages(
        "V6a", secret=SDK_KEY, key_time=PY_WINDOW, method="POST", path="/users/alice/big.bin",
        query=[("uploads", "")], param_names=["uploads"],
        headers={"content-length": "0", "host": GZ_HOST, "x-cos-security-token": TOKEN},
        header_names=["content-length", "host", "x-cos-security-token"],
        expected={
            "HttpString": f"post\n/users/alice/big.bin\nuploads=\ncontent-length=0&host="
            f"{GZ_HOST}&x-cos-security-token=tok-EXAMPLE\n",
            "SHA1(HttpString)": "7e8938847c49a4f3688ba00c7148b92859bd273a",
            "Signature": "9d21c7b3c88832f62ecaad2ad9bb45f91afa5f59",
        },
    )  # fmt: skip


def test_v6_upload_part_lower_cases_parameter_names():
    assert_stages(
        "V6b", secret=SDK_KEY, key_time=PY_WINDOW, method="PUT", path="/users/alice/big.bin",
        query=V6B_QUERY, param_names=V6B_FIELDS.param_list, headers=V6B_HEADERS,
        header_names=V6B_FIELDS.header_list,
        expected={
            "HttpString": f"put\n/users/alice/big.bin\npartnumber=1&uploadid=1700000000abcdef\n"
            f"content-length=16&host={GZ_HOST}&x-cos-security-token=tok-EXAMPLE\n",
            "SHA1(HttpString)": "2d8f4d8c9bfa8f684f06f97d2af6ce6027df7558",
            "Signature": V6B_SIGNATURE,
        },
    )  # fmt: skip
    checked = verify("PUT", "/users/alice/big.bin", V6B_QUERY, V6B_HEADERS, V6B_FIELDS,
                     SDK_KEY, NOW)  # fmt: skip
    assert checked.problem is None, checked.detail


V7_PATH = "/users/alice/报告.pdf"
V7_HEADERS = {"host": GZ_HOST, "range": "bytes=0-99", "x-cos-security-token": TOKEN}
V7_FIELDS = fields_for(PY_WINDOW, ["host", "range", "x-cos-security-token"], [],
                       "3c6aadff173674803e714a4b7513513f95d55264")  # fmt: skip


def test_v7_ranged_get_of_a_non_ascii_key_stage_by_stage():
    assert unquote("/users/alice/%E6%8A%A5%E5%91%8A.pdf") == V7_PATH
    assert_stages(
        "V7", secret=SDK_KEY, key_time=PY_WINDOW, method="GET", path=V7_PATH, query=[],
        param_names=[], headers=V7_HEADERS, header_names=V7_FIELDS.header_list,
        expected={
            "HttpString": f"get\n{V7_PATH}\n\nhost={GZ_HOST}&range=bytes%3D0-99"
            "&x-cos-security-token=tok-EXAMPLE\n",
            "SHA1(HttpString)": "bfa0a830fcc33dc38a653afad54c0d7945e07dc5",
            "Signature": V7_FIELDS.signature,
        },
    )  # fmt: skip
    assert verify("GET", V7_PATH, [], V7_HEADERS, V7_FIELDS, SDK_KEY, NOW).problem is None


V8_URL = (
    f"https://{GZ_HOST}/users/alice/photo%201.jpg?q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE"
    "&q-sign-time=1699999940%3B1700000600&q-key-time=1699999940%3B1700000600"
    "&q-header-list=host&q-url-param-list=x-cos-security-token"
    "&q-signature=bb319fdff0380161634327100fdf5c05221d280d&x-cos-security-token=tok-EXAMPLE"
)


def server_view(url, headers=None):
    """What a server sees of a URL: decoded path, decoded pairs (form-encoding, since
    requests and the PY SDK write a space as '+'), and Host from the URL."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    seen = {name.lower(): value for name, value in (headers or {}).items()}
    seen.setdefault("host", parts.netloc)
    return unquote(parts.path), query, seen


def test_v8_presigned_url_with_the_token_signed():
    path, query, headers = server_view(V8_URL)
    fields = query_fields(query)
    assert fields is not None
    assert fields.in_query
    assert (fields.sign_time, fields.key_time) == ("1699999940;1700000600",) * 2
    assert fields.param_list == ("x-cos-security-token",)
    assert_stages(
        "V8", secret=SDK_KEY, key_time=fields.key_time, method="GET", path=path,
        query=[pair for pair in query if not pair[0].startswith("q-")],
        param_names=fields.param_list, headers=headers, header_names=fields.header_list,
        expected={
            "SignKey": "f60c1df92e88bf57e0fd619fc529107face4a77b",
            "HttpString": "get\n/users/alice/photo 1.jpg\nx-cos-security-token=tok-EXAMPLE\n"
            f"host={GZ_HOST}\n",
            "Signature": "bb319fdff0380161634327100fdf5c05221d280d",
        },
    )  # fmt: skip
    # The q-* pairs themselves sit in the query and are not part of HttpParameters.
    assert verify("GET", path, query, headers, fields, SDK_KEY, NOW).problem is None


def test_v8_presigned_url_without_the_token():
    url = V8_URL.replace("q-url-param-list=x-cos-security-token", "q-url-param-list=")
    url = url.replace("bb319fdff0380161634327100fdf5c05221d280d",
                      "d94750aaa837b1cfad2546944db3ccbe676f46b6")  # fmt: skip
    url = url.replace("&x-cos-security-token=tok-EXAMPLE", "")
    path, query, headers = server_view(url)
    fields = query_fields(query)
    assert fields is not None
    assert fields.param_list == ()
    assert verify("GET", path, query, headers, fields, SDK_KEY, NOW).problem is None
    # NODE/JS append the token after signing: present but unsigned, still valid.
    query.append(("x-cos-security-token", TOKEN))
    assert verify("GET", path, query, headers, fields, SDK_KEY, NOW).problem is None


# -- tolerances (docs/tencent/cos-signing.md §3-§4) -------------------------------------


def sdk_authorization(method, url, *, headers=None, params=None, key="k", secret=SDK_KEY,
                      token=TOKEN, now=NOW, expire=3600, body=None):  # fmt: skip
    """Sign with the official SDK's CosS3Auth (the independent oracle)."""
    conf = CosConfig(Region="ap-guangzhou", SecretId=SDK_ID, SecretKey=secret, Token=token)
    request = requests.Request(method, url, headers=headers or {}, params=params or {},
                               data=body).prepare()  # fmt: skip
    if token:
        # CosS3Client.send_request adds the token header before signing.
        request.headers["x-cos-security-token"] = token
    with mock.patch("qcloud_cos.cos_auth.time.time", return_value=now):
        CosS3Auth(conf, key, params or {}, expire)(request)
    return request


def sdk_fields_and_view(request):
    fields = parse_authorization(request.headers["Authorization"])
    path, query, headers = server_view(request.url, request.headers)
    headers.pop("authorization")
    return fields, path, query, headers


def test_host_signed_without_the_port_verifies_against_host_with_port():
    # PY signs urlparse(url).hostname, yet sends Host with the port (docs/tencent/cos-signing.md
    # §4).
    request = sdk_authorization("GET", "http://127.0.0.1:8080/k")
    fields, path, query, headers = sdk_fields_and_view(request)
    assert headers["host"] == "127.0.0.1:8080"
    assert "host" in fields.header_list
    checked = verify("GET", path, query, headers, fields, SDK_KEY, NOW)
    assert checked.problem is None, checked.detail
    assert "host=127.0.0.1&x-cos-security-token=<redacted>" in checked.http_string


def test_host_signed_with_the_port_verifies():
    # NODE/JS (and PY in IP mode) sign the Host they send, port included.
    request = sdk_authorization("GET", "http://127.0.0.1:8080/k",
                                headers={"Host": "127.0.0.1:8080"})  # fmt: skip
    fields, path, query, headers = sdk_fields_and_view(request)
    checked = verify("GET", path, query, headers, fields, SDK_KEY, NOW)
    assert checked.problem is None, checked.detail
    assert "host=127.0.0.1%3A8080" in checked.http_string


def test_ipv6_host_signed_as_hostname_verifies():
    request = sdk_authorization("GET", "http://[::1]:8080/k")
    fields, path, query, headers = sdk_fields_and_view(request)
    assert headers["host"] == "[::1]:8080"
    assert verify("GET", path, query, headers, fields, SDK_KEY, NOW).problem is None


@pytest.mark.parametrize(
    "received",
    [
        "127.0.0.2:8080",
        "127.0.0.2",
        "evil.example",
        "127.0.0.1.evil:8080",
        "",
        "127.0.0.1/x",
        "u@127.0.0.1",
        "127.0.0.1:8080/",
        "127.0.0.1 :8080",
    ],
)
def test_another_host_does_not_verify(received):
    request = sdk_authorization("GET", "http://127.0.0.1:8080/k")
    fields, path, query, headers = sdk_fields_and_view(request)
    headers["host"] = received
    assert verify("GET", path, query, headers, fields, SDK_KEY, NOW).problem == "mismatch"


def test_signed_host_with_port_does_not_match_another_port():
    request = sdk_authorization("GET", "http://127.0.0.1:8080/k",
                                headers={"Host": "127.0.0.1:8080"})  # fmt: skip
    fields, path, query, headers = sdk_fields_and_view(request)
    headers["host"] = "127.0.0.1:9090"
    assert verify("GET", path, query, headers, fields, SDK_KEY, NOW).problem == "mismatch"


def test_token_signed_verifies_and_a_changed_token_does_not():
    request = sdk_authorization("PUT", f"https://{GZ_HOST}/k", body=b"x")
    fields, path, query, headers = sdk_fields_and_view(request)
    assert "x-cos-security-token" in fields.header_list
    assert verify("PUT", path, query, headers, fields, SDK_KEY, NOW).problem is None
    headers["x-cos-security-token"] = "tok-OTHER"
    assert verify("PUT", path, query, headers, fields, SDK_KEY, NOW).problem == "mismatch"


def test_token_unsigned_verifies():
    request = sdk_authorization("PUT", f"https://{GZ_HOST}/k", body=b"x", token=None)
    fields, path, query, headers = sdk_fields_and_view(request)
    assert "x-cos-security-token" not in fields.header_list
    headers["x-cos-security-token"] = TOKEN  # added after signing, as NODE/JS do
    assert verify("PUT", path, query, headers, fields, SDK_KEY, NOW).problem is None


def test_no_header_needs_to_be_signed():
    text = http_string("get", "/k", "", "")
    key = sign_key(SDK_KEY, PY_WINDOW)
    fields = fields_for(PY_WINDOW, [], [], signature(key, string_to_sign(PY_WINDOW, text)))
    headers = {"host": GZ_HOST, "content-type": "text/plain"}
    assert verify("GET", "/k", [("acl", "")], headers, fields, SDK_KEY, NOW).problem is None


def test_unsigned_parameters_and_headers_are_ignored():
    query = [*V6B_QUERY, ("extra", "1"), ("x-cos-traffic-limit", "8192")]
    headers = {**V6B_HEADERS, "user-agent": "cos-python-sdk-v5", "x-cos-meta-extra": "1"}
    checked = verify("PUT", "/users/alice/big.bin", query, headers, V6B_FIELDS, SDK_KEY, NOW)
    assert checked.problem is None, checked.detail


def test_q_fields_in_the_query_are_never_signed_parameters():
    # Every SDK signs before it appends the q-* pairs (docs/tencent/cos-signing.md §3), so a
    # signature that
    # claims to cover one (here computed honestly over q-ak) is still refused.
    query = [*V6B_QUERY, ("q-ak", SDK_ID)]
    names = ["partnumber", "q-ak", "uploadid"]
    text = http_string(
        "put", "/users/alice/big.bin", http_parameters(query, names),
        http_headers(V6B_HEADERS, V6B_FIELDS.header_list),
    )  # fmt: skip
    signed = signature(sign_key(SDK_KEY, PY_WINDOW), string_to_sign(PY_WINDOW, text))
    fields = V6B_FIELDS._replace(param_list=tuple(names), signature=signed)
    checked = verify("PUT", "/users/alice/big.bin", query, V6B_HEADERS, fields, SDK_KEY, NOW)
    assert checked.problem == "mismatch"
    assert "q-ak" in checked.detail


def test_listed_parameter_missing_is_a_mismatch():
    query = [("partNumber", "1")]
    checked = verify("PUT", "/users/alice/big.bin", query, V6B_HEADERS, V6B_FIELDS, SDK_KEY, NOW)
    assert checked.problem == "mismatch"
    assert "uploadid" in checked.detail


def test_listed_header_missing_is_a_mismatch():
    headers = {name: value for name, value in V7_HEADERS.items() if name != "range"}
    checked = verify("GET", V7_PATH, [], headers, V7_FIELDS, SDK_KEY, NOW)
    assert checked.problem == "mismatch"
    assert "range" in checked.detail


def test_listed_parameter_repeated_is_a_mismatch():
    query = [*V6B_QUERY, ("uploadid", "other")]
    checked = verify("PUT", "/users/alice/big.bin", query, V6B_HEADERS, V6B_FIELDS, SDK_KEY, NOW)
    assert checked.problem == "mismatch"


def test_names_compare_lower_case():
    fields = V6B_FIELDS._replace(
        header_list=("Content-Length", "HOST", "x-cos-security-token"),
        param_list=("PartNumber", "uploadId"),
    )
    headers = {"Content-Length": "16", "Host": GZ_HOST, "X-Cos-Security-Token": TOKEN}
    checked = verify("PUT", "/users/alice/big.bin", V6B_QUERY, headers, fields, SDK_KEY, NOW)
    assert checked.problem is None, checked.detail


def test_surrounding_whitespace_in_header_values_is_dropped():
    headers = {**V7_HEADERS, "range": " bytes=0-99\t"}
    assert verify("GET", V7_PATH, [], headers, V7_FIELDS, SDK_KEY, NOW).problem is None


@pytest.mark.parametrize(
    ("case", "method", "path", "query", "headers"),
    [
        ("method", "POST", "/users/alice/big.bin", V6B_QUERY, V6B_HEADERS),
        ("path", "PUT", "/users/alice/big.bin2", V6B_QUERY, V6B_HEADERS),
        ("path case", "PUT", "/users/alice/BIG.bin", V6B_QUERY, V6B_HEADERS),
        ("parameter value", "PUT", "/users/alice/big.bin",
         [("partNumber", "2"), ("uploadId", "1700000000abcdef")], V6B_HEADERS),
        ("header value", "PUT", "/users/alice/big.bin", V6B_QUERY,
         {**V6B_HEADERS, "content-length": "17"}),
    ],
)  # fmt: skip
def test_tampered_request_is_a_mismatch(case, method, path, query, headers):
    checked = verify(method, path, query, headers, V6B_FIELDS, SDK_KEY, NOW)
    assert checked.problem == "mismatch", case


@pytest.mark.parametrize(
    "signed", [V6B_SIGNATURE[:-1] + "b", V6B_SIGNATURE.upper(), "", V6B_SIGNATURE + "0", "é" * 40]
)
def test_tampered_signature_is_a_mismatch(signed):
    fields = V6B_FIELDS._replace(signature=signed)
    checked = verify("PUT", "/users/alice/big.bin", V6B_QUERY, V6B_HEADERS, fields, SDK_KEY, NOW)
    assert checked.problem == "mismatch"


def test_wrong_secret_is_a_mismatch():
    checked = verify("PUT", "/users/alice/big.bin", V6B_QUERY, V6B_HEADERS, V6B_FIELDS,
                     "SKEXAMPLE2", NOW)  # fmt: skip
    assert checked.problem == "mismatch"


def test_signatures_are_compared_in_constant_time(monkeypatch):
    calls = []
    real = sig.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(sig.hmac, "compare_digest", spy)
    checked = verify("PUT", "/users/alice/big.bin", V6B_QUERY, V6B_HEADERS, V6B_FIELDS,
                     SDK_KEY, NOW)  # fmt: skip
    assert checked.problem is None
    assert (V6B_SIGNATURE.encode(), V6B_SIGNATURE.encode()) in calls


# -- time ---------------------------------------------------------------------------------


def at(now, fields=V6B_FIELDS, path="/users/alice/big.bin"):
    return verify("PUT", path, V6B_QUERY, V6B_HEADERS, fields, SDK_KEY, now).problem


def test_time_window_edges():
    start, end = 1699999940, 1700003600
    assert at(end) is None
    assert at(end + 0.5) == "expired"
    assert at(end + 1) == "expired"
    assert at(start) is None
    assert at(start - sig.START_TOLERANCE) is None
    assert at(start - sig.START_TOLERANCE - 1) == "not_yet_valid"


def test_time_tolerance_is_a_parameter():
    checked = verify("PUT", "/users/alice/big.bin", V6B_QUERY, V6B_HEADERS, V6B_FIELDS,
                     SDK_KEY, 1699999939, start_tolerance=0)  # fmt: skip
    assert checked.problem == "not_yet_valid"


def test_expired_is_only_said_of_an_authentic_request():
    assert at(1700003601, path="/users/alice/other.bin") == "mismatch"


def test_key_time_window_is_checked_too():
    # q-key-time normally equals q-sign-time; a wider sign window does not extend it.
    key_time = "1699999940;1700000000"
    text = http_string("put", "/k", "", "")
    signed = signature(sign_key(SDK_KEY, key_time), string_to_sign(PY_WINDOW, text))
    fields = AuthFields("sha1", SDK_ID, PY_WINDOW, key_time, (), (), signed, False)
    assert verify("PUT", "/k", [], {}, fields, SDK_KEY, 1700000000).problem is None
    assert verify("PUT", "/k", [], {}, fields, SDK_KEY, 1700000001).problem == "expired"


@pytest.mark.parametrize(
    "window", ["abc;123", "1.5;2", "1700000100;1700000000", "1;2;3", "", ";", "-1;5", "1;",
               "\u0661;\u0662", " 1;2", "1 ;2"],
)  # fmt: skip
def test_malformed_time_windows(window):
    assert at(NOW, V6B_FIELDS._replace(sign_time=window)) == "malformed"
    assert at(NOW, V6B_FIELDS._replace(key_time=window)) == "malformed"


@pytest.mark.parametrize("algorithm", ["sha256", "SHA1", "", "sha1 "])
def test_other_algorithms_are_malformed(algorithm):
    assert at(NOW, V6B_FIELDS._replace(algorithm=algorithm)) == "malformed"


# -- parsing ------------------------------------------------------------------------------


def test_parse_authorization_reads_every_field():
    fields = parse_authorization(V4_AUTHORIZATION)
    assert fields == AuthFields(
        algorithm="sha1", ak="AKIDEXAMPLE", sign_time=PY_WINDOW, key_time=PY_WINDOW,
        header_list=("content-length", "content-type", "host", "x-cos-security-token"),
        param_list=(), signature="c926739fb8db684aa1cb6f8067c1186ace58b3c0", in_query=False,
    )  # fmt: skip


def test_absent_lists_read_as_empty():
    value = "q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-key-time=1;2&q-signature=s"
    fields = parse_authorization(value)
    assert (fields.header_list, fields.param_list) == ((), ())


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "not name=value"),
        ("q-sign-algorithm=sha1&q-ak=a&q-key-time=1;2&q-signature=s", "q-sign-time"),
        ("q-sign-algorithm=sha1&q-sign-time=1;2&q-key-time=1;2&q-signature=s", "q-ak"),
        ("q-ak=a&q-sign-time=1;2&q-key-time=1;2&q-signature=s", "q-sign-algorithm"),
        ("q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-key-time=1;2", "q-signature"),
        ("q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-signature=s", "q-key-time"),
        ("q-sign-algorithm=sha1&q-ak=a&q-ak=b&q-sign-time=1;2&q-key-time=1;2&q-signature=s",
         "twice"),
        ("q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-key-time=1;2&q-header-list=host;;range"
         "&q-signature=s", "empty name"),
        ("q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-key-time=1;2&q-url-param-list=a;"
         "&q-signature=s", "empty name"),
        ("q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-key-time=1;2&q-header-list=host;Host"
         "&q-signature=s", "twice"),
        ("q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-key-time=1;2&q-signature", "name=value"),
        ("Q-SIGN-ALGORITHM=sha1&q-ak=a&q-sign-time=1;2&q-key-time=1;2&q-signature=s",
         "q-sign-algorithm"),
    ],
)  # fmt: skip
def test_malformed_authorization(value, reason):
    with pytest.raises(MalformedAuthorization, match=reason):
        parse_authorization(value)


def test_query_fields_none_without_a_signature():
    assert query_fields([("prefix", "a"), ("q-ak", "x")]) is None
    assert query_fields([]) is None


def test_query_fields_reads_a_decoded_semicolon_and_refuses_repeats():
    pairs = [("q-sign-algorithm", "sha1"), ("q-ak", "a"), ("q-sign-time", "1;2"),
             ("q-key-time", "1;2"), ("q-header-list", "host"), ("q-url-param-list", ""),
             ("q-signature", "s")]  # fmt: skip
    fields = query_fields(pairs)
    assert fields is not None
    assert (fields.sign_time, fields.header_list, fields.in_query) == ("1;2", ("host",), True)
    with pytest.raises(MalformedAuthorization, match="twice"):
        query_fields([*pairs, ("q-signature", "t")])
    with pytest.raises(MalformedAuthorization, match="q-key-time"):
        query_fields([pair for pair in pairs if pair[0] != "q-key-time"])


def test_step_functions_report_unsigned_names():
    with pytest.raises(UnsignedName):
        http_parameters([("a", "1")], ["b"])
    with pytest.raises(UnsignedName):
        http_headers({"host": "h"}, ["range"])
    # Encoded then lower-cased: a '/' in a name becomes %2f.
    assert http_parameters([("A/B", "x y")], ["a%2fb"]) == "a%2fb=x%20y"
    assert http_parameters([("uploads", "")], ["uploads"]) == "uploads="


# -- differential: every signature the official SDK makes must verify ---------------------

KEY_ALPHABET = st.characters(exclude_categories=("Cs",))
# The SDK refuses a key that starts or ends with a space (CosConfig.convert_secret_value).
secrets_ = st.text(KEY_ALPHABET, min_size=1, max_size=40).filter(lambda s: s.strip(" ") == s)
object_keys = st.text(KEY_ALPHABET, min_size=1, max_size=30).filter(
    # requests resolves a trailing "." / ".." segment (RFC 3986 §5.2.4) after the
    # SDK signed it: a client-side limit, not the verifier's.
    lambda key: key.rsplit("/", 1)[-1] not in (".", "..")
)
param_names = st.text(KEY_ALPHABET, min_size=1, max_size=12).filter(
    lambda name: name not in sig.SIGN_FIELDS and name != "x-cos-security-token"
)
params_ = st.dictionaries(param_names, st.text(KEY_ALPHABET, max_size=20), max_size=4).filter(
    # Two names equal once encoded and lower-cased are one signed name: ambiguous.
    lambda params: len({quote(name, safe="-_.~").lower() for name in params}) == len(params)
)
TOKEN_CHARS = string.ascii_lowercase + string.digits + "-_.!#$&'*+^`|~"
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24).map(
    str.strip
)  # HTTP drops surrounding whitespace
meta_headers = st.dictionaries(
    st.text(TOKEN_CHARS, min_size=1, max_size=10).map(lambda s: "x-cos-meta-" + s),
    header_values,
    max_size=3,
)
standard_headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(["image/jpeg", "text/plain; charset=utf-8", ""]),
        "Range": st.sampled_from(["bytes=0-99", "bytes=-5"]),
        "x-cos-acl": st.sampled_from(["private", "public-read"]),
        "User-Agent": header_values,  # not on the SDK's whitelist: sent unsigned
        "X-Other": header_values,
    },
)
methods = st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"])
times = st.integers(1_500_000_000, 2_000_000_000)
expires = st.integers(1, 10_000)
tokens = st.one_of(st.none(), st.text(string.ascii_letters + string.digits + "-_", min_size=1,
                                      max_size=40))  # fmt: skip
hosts = st.sampled_from([f"https://{GZ_HOST}", "http://127.0.0.1:9001", "http://localhost:80"])


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=secrets_, key=object_keys, method=methods, params=params_, meta=meta_headers,
       standard=standard_headers, token=tokens, now=times, expire=expires, base=hosts)  # fmt: skip
def test_every_sdk_header_signature_verifies(
    secret, key, method, params, meta, standard, token, now, expire, base
):
    headers = {**standard, **meta}
    body = b"payload" if method in ("PUT", "POST") else None
    conf = CosConfig(Region="ap-guangzhou", SecretId=SDK_ID, SecretKey=secret, Token=token)
    url = conf.uri(bucket="examplebucket-1250000000", path=key).replace(f"https://{GZ_HOST}", base)
    request = sdk_authorization(method, url, headers=headers, params=params, key=key,
                                secret=secret, token=token, now=now, expire=expire,
                                body=body)  # fmt: skip
    fields, path, query, seen = sdk_fields_and_view(request)
    assert path == "/" + key.lstrip("/") or path == key
    checked = verify(method, path, query, seen, fields, secret, now)
    assert checked.problem is None, (checked.detail, checked.http_string)
    wrong = verify(method, path, query, seen, fields, secret + "x", now)
    assert wrong.problem == "mismatch"
    # The window the SDK chose: now-60 .. now+expire.
    assert verify(method, path, query, seen, fields, secret, now + expire + 1).problem == (
        "expired"
    )


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=secrets_, key=object_keys, method=methods, params=params_, meta=meta_headers,
       token=tokens, sign_token=st.booleans(), now=times, expire=expires)  # fmt: skip
def test_every_sdk_presigned_url_verifies(
    secret, key, method, params, meta, token, sign_token, now, expire
):
    assume(token is not None or not sign_token)
    conf = CosConfig(Region="ap-guangzhou", SecretId=SDK_ID, SecretKey=secret, Token=token)
    client = CosS3Client(conf)
    signed_params = {**params, "x-cos-security-token": token} if sign_token else dict(params)
    with mock.patch("qcloud_cos.cos_auth.time.time", return_value=now):
        url = client.get_presigned_url(
            Bucket="examplebucket-1250000000", Key=key, Method=method, Expired=expire,
            Params=signed_params, Headers=meta,
        )  # fmt: skip
    if token and not sign_token:
        url += "&x-cos-security-token=" + quote(token)  # NODE/JS style: unsigned
    path, query, headers = server_view(url, meta)
    fields = query_fields(query)
    assert fields is not None
    assert ("x-cos-security-token" in fields.param_list) == sign_token
    checked = verify(method, path, query, headers, fields, secret, now)
    assert checked.problem is None, (checked.detail, checked.http_string)
    assert verify(method, path, query, headers, fields, secret + "x", now).problem == "mismatch"
