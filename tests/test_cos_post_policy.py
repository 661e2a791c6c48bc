"""PostObject form uploads (docs/tencent/cos-api.md §2): the form, its policy signature, each
refusal.

Vectors V3 (the documentation's pretty-printed policy) and V9 (compact JSON)
stage by stage; forms are built with urllib3's multipart encoder, an encoder
written independently of the parser under test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3.filepost import encode_multipart_formdata

from sts_tools.emulators.cos.errors import (
    AccessDenied,
    EntityTooLarge,
    EntityTooSmall,
    IncorrectNumberOfFilesInPostRequest,
    InvalidPolicyDocument,
    MalformedPOSTRequest,
    SignatureDoesNotMatch,
)
from sts_tools.emulators.cos.post_policy import (
    Condition,
    PostForm,
    check_post,
    form_fields,
    form_token,
    header_form_values,
    header_signed_fields,
    is_header_signed,
    object_key,
    parse_expiration,
    parse_form,
    parse_policy,
    policy_signature,
)
from sts_tools.emulators.cos.signature import sign_key, signature
from tests.support.examples import examples

DOC_ID = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q"
DOC_KEY = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"
BUCKET = "examplebucket-1250000000"
V3_KEY_TIME = "1567150692;1567157892"
# The documentation's policy field, verbatim (docs/tencent/cos-signing.md §7 V3).
V3_POLICY_B64 = (
    "ewogICAgImV4cGlyYXRpb24iOiAiMjAxOS0wOC0zMFQwOTozODoxMi40MTRaIiwKICAgICJjb25kaXRpb25zIjog"
    "WwogICAgICAgIHsgImFjbCI6ICJkZWZhdWx0IiB9LAogICAgICAgIHsgImJ1Y2tldCI6ICJleGFtcGxlYnVja2V0"
    "LTEyNTAwMDAwMDAiIH0sCiAgICAgICAgWyAic3RhcnRzLXdpdGgiLCAiJGtleSIsICJmb2xkZXIvc3ViZm9sZGVy"
    "LyIgXSwKICAgICAgICBbICJzdGFydHMtd2l0aCIsICIkQ29udGVudC1UeXBlIiwgImltYWdlLyIgXSwKICAgICAg"
    "ICBbICJzdGFydHMtd2l0aCIsICIkc3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiLCAiaHR0cHM6Ly9teS53ZWJzaXRl"
    "LyIgXSwKICAgICAgICBbICJlcSIsICIkeC1jb3Mtc2VydmVyLXNpZGUtZW5jcnlwdGlvbiIsICJBRVMyNTYiIF0s"
    "CiAgICAgICAgeyAicS1zaWduLWFsZ29yaXRobSI6ICJzaGExIiB9LAogICAgICAgIHsgInEtYWsiOiAiQUtJRFFq"
    "ejNsdG9tcFZqQm5pNUxpdGtXSEZsRnB3a245VTVxIiB9LAogICAgICAgIHsgInEtc2lnbi10aW1lIjogIjE1Njcx"
    "NTA2OTI7MTU2NzE1Nzg5MiIgfQogICAgXQp9"
)
V3_SIGNATURE = "7758dc9a832e9d301dca704cacbf9d9f8172fdef"

SDK_ID, SDK_KEY, TOKEN = "AKIDEXAMPLE", "SKEXAMPLE", "tok-EXAMPLE"
V9_KEY_TIME = "1700000000;1700000900"
V9_POLICY = (
    '{"expiration":"2023-11-14T22:28:20.000Z","conditions":[{"q-sign-algorithm":"sha1"},'
    '{"q-ak":"AKIDEXAMPLE"},{"q-sign-time":"1700000000;1700000900"},'
    '{"bucket":"examplebucket-1250000000"},["starts-with","$key","users/alice/"],'
    '["content-length-range",0,10485760]]}'
)
V9_SIGNATURE = "4cc06f100cab06768622f2284c0c73c643cf36eb"
NOW = 1700000100


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# -- vectors ----------------------------------------------------------------------------


def test_v3_doc_policy_stage_by_stage():
    text = base64.b64decode(V3_POLICY_B64)
    assert text.startswith(b'{\n    "expiration": "2019-08-30T09:38:12.414Z",\n    "conditions"')
    assert not text.endswith(b"\n"), "V3: the policy text has no trailing newline"
    key = sign_key(DOC_KEY, V3_KEY_TIME)
    assert key == "39acc8c9f34ba5b19bce4e965b370cd3f62d2fba", "V3: stage SignKey differs"
    assert sha1_hex(text) == "d5d903b8360468bc81c1311f134989bc8c8b5b89", (
        "V3: stage StringToSign (SHA1 of the policy text) differs"
    )
    assert signature(key, sha1_hex(text)) == V3_SIGNATURE, "V3: stage Signature differs"
    assert policy_signature(DOC_KEY, V3_KEY_TIME, text) == V3_SIGNATURE


def test_v3_doc_policy_parses():
    policy = parse_policy(base64.b64decode(V3_POLICY_B64))
    assert policy.expiration == pytest.approx(1567157892.414)
    assert policy.conditions == (
        Condition("eq", "acl", "default"),
        Condition("eq", "bucket", BUCKET),
        Condition("starts-with", "key", "folder/subfolder/"),
        Condition("starts-with", "content-type", "image/"),
        Condition("starts-with", "success_action_redirect", "https://my.website/"),
        Condition("eq", "x-cos-server-side-encryption", "AES256"),
        Condition("eq", "q-sign-algorithm", "sha1"),
        Condition("eq", "q-ak", DOC_ID),
        Condition("eq", "q-sign-time", V3_KEY_TIME),
    )


def v3_fields(**changes):
    fields = {
        "key": "folder/subfolder/${filename}",
        "acl": "default",
        "Content-Type": "image/png",
        "success_action_redirect": "https://my.website/done",
        "x-cos-server-side-encryption": "AES256",
        "policy": V3_POLICY_B64,
        "q-sign-algorithm": "sha1",
        "q-ak": DOC_ID,
        "q-key-time": V3_KEY_TIME,
        "q-signature": V3_SIGNATURE,
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


def test_v3_doc_form_passes_with_the_doc_signature():
    form = PostForm(v3_fields(), b"\x89PNG", "cat.png")
    assert check_post(form, DOC_KEY, BUCKET, 1567150700) == "folder/subfolder/cat.png"


def test_v9_compact_policy_stage_by_stage():
    key = sign_key(SDK_KEY, V9_KEY_TIME)
    assert key == "3e2b0793c1fd0d55a0b6c6a54b90f480e6e8894c", "V9: stage SignKey differs"
    digest = sha1_hex(V9_POLICY.encode())
    assert digest == "4816ba56c242de94bf3240a93bd8866b7ddf8dec", "V9: stage SHA1(policy) differs"
    assert signature(key, digest) == V9_SIGNATURE, "V9: stage Signature differs"


# -- a full round trip ------------------------------------------------------------------


def encode_form(fields, file=(b"hello", "photo.jpg"), boundary="----formBoundary7MA4YWxk"):
    """multipart/form-data as a browser sends it: the fields in order, the file last."""
    items = list(fields.items())
    if file is not None:
        items.append(("file", (file[1], file[0], "application/octet-stream")))
    return encode_multipart_formdata(items, boundary=boundary)


def sign_policy(policy, secret=SDK_KEY, key_time=V9_KEY_TIME):
    text = policy if isinstance(policy, str) else json.dumps(policy)
    return base64.b64encode(text.encode()).decode(), policy_signature(
        secret, key_time, text.encode()
    )


def v9_fields(document=V9_POLICY, secret=SDK_KEY, **changes):
    encoded, signed = sign_policy(document, secret)
    fields = {
        "key": "users/alice/${filename}",
        "Content-Type": "image/jpeg",
        "x-cos-security-token": TOKEN,
        "policy": encoded,
        "q-sign-algorithm": "sha1",
        "q-ak": SDK_ID,
        "q-key-time": V9_KEY_TIME,
        "q-signature": signed,
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


def post(fields, file=(b"hello", "photo.jpg"), now=NOW, bucket=BUCKET, secret=SDK_KEY):
    body, content_type = encode_form(fields, file)
    return check_post(parse_form(content_type, body), secret, bucket, now)


def test_round_trip_through_the_multipart_body():
    body, content_type = encode_form(v9_fields(), (b"\xff\xd8jpeg\r\n--", "photo.jpg"))
    form = parse_form(content_type, body)
    assert form.file == b"\xff\xd8jpeg\r\n--"
    assert form.filename == "photo.jpg"
    assert form.fields["x-cos-security-token"] == TOKEN
    fields = form_fields(form)
    assert (fields.ak, fields.key_time, fields.sign_time) == (SDK_ID, V9_KEY_TIME, V9_KEY_TIME)
    assert (fields.header_list, fields.param_list, fields.in_query) == ((), (), False)
    assert check_post(form, SDK_KEY, BUCKET, NOW) == "users/alice/photo.jpg"


def test_filename_is_substituted_before_the_conditions():
    assert post(v9_fields(), (b"x", "报告 (1).pdf")) == "users/alice/报告 (1).pdf"
    with pytest.raises(AccessDenied, match="starts-with"):
        post(v9_fields(key="${filename}"), (b"x", "users-alice.pdf"))


def test_field_names_in_the_policy_match_case_insensitively():
    policy = json.loads(V9_POLICY)
    policy["conditions"].append(["starts-with", "$Content-Type", "image/"])
    assert post(v9_fields(policy, **{"Content-Type": None, "CONTENT-TYPE": "image/png"}))
    with pytest.raises(AccessDenied):
        post(v9_fields(policy, **{"Content-Type": "text/html"}))


# -- refusals: the signature and the policy document ------------------------------------


def test_wrong_secret_is_signature_does_not_match():
    with pytest.raises(SignatureDoesNotMatch):
        post(v9_fields(), secret="SKOTHER")


def test_a_widened_policy_keeps_the_old_signature_and_fails():
    wider = V9_POLICY.replace('"users/alice/"', '"users/"')
    fields = v9_fields(wider)
    fields["q-signature"] = V9_SIGNATURE
    with pytest.raises(SignatureDoesNotMatch):
        post(fields)


@pytest.mark.parametrize(
    ("changes", "error", "why"),
    [
        ({"policy": None}, MalformedPOSTRequest, "policy"),
        ({"q-ak": None}, MalformedPOSTRequest, "q-ak"),
        ({"q-signature": None}, MalformedPOSTRequest, "q-signature"),
        ({"q-key-time": None}, MalformedPOSTRequest, "q-key-time"),
        ({"q-sign-algorithm": None}, MalformedPOSTRequest, "q-sign-algorithm"),
        ({"q-sign-algorithm": "sha256"}, MalformedPOSTRequest, "sha1"),
        ({"q-key-time": "later;1700000900"}, MalformedPOSTRequest, "q-key-time"),
        ({"q-key-time": "1700000900;1700000000"}, MalformedPOSTRequest, "q-key-time"),
        ({"q-sign-time": "1700000000;1700099999"}, MalformedPOSTRequest, "differs"),
        ({"policy": "not base64!"}, InvalidPolicyDocument, "base64"),
        ({"key": None}, MalformedPOSTRequest, "key"),
    ],
)
def test_form_refusals(changes, error, why):
    with pytest.raises(error) as caught:
        post(v9_fields(**changes))
    assert why in caught.value.detail


def expect_policy_error(policy, why):
    with pytest.raises(InvalidPolicyDocument) as caught:
        post(v9_fields(policy))
    assert why in caught.value.detail


def v9_policy(*extra, drop=()):
    policy = json.loads(V9_POLICY)
    policy["conditions"] = [
        c for c in policy["conditions"] if not (isinstance(c, dict) and set(c) & set(drop))
    ] + list(extra)
    return policy


@pytest.mark.parametrize("name", ["q-sign-algorithm", "q-ak", "q-sign-time"])
def test_required_conditions(name):
    expect_policy_error(v9_policy(drop=[name]), name)


@pytest.mark.parametrize(
    ("policy", "why"),
    [
        ("not json", "JSON"),
        ("[]", "exactly"),
        ('{"conditions": []}', "exactly"),
        ('{"expiration": "2023-11-14T22:28:20.000Z", "conditions": [], "extra": 1}', "exactly"),
        ('{"expiration": "2023-11-14T22:28:20.000Z", "conditions": {}}', "array"),
        ('{"expiration": "2023-11-14T22:28:20Z", "expiration": "2099-01-01T00:00:00Z",'
         ' "conditions": []}', "repeats"),
    ],
)  # fmt: skip
def test_malformed_policy_documents(policy, why):
    expect_policy_error(policy, why)


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        (["starts-with", "$bucket", "example"], "exact"),
        (["starts-with", "$success_action_status", "2"], "exact"),
        (["starts-with", "$x-cos-storage-class", "S"], "exact"),
        (["matches", "$key", "users/"], "unknown"),
        (["eq", "key", "users/alice/x"], "$field"),
        (["eq", "$key"], "3-item"),
        (["eq", "$key", 5], "string"),
        ({"acl": 1}, "string"),
        ({}, "empty"),
        ("acl", "3-item"),
        (["content-length-range", 10, 1], "min > max"),
        (["content-length-range", -1, 1], "negative"),
        (["content-length-range", "a", 1], "integers"),
        (["content-length-range", True, 1], "integers"),
        (["content-length-range", 1.5, 2], "integers"),
    ],
)
def test_malformed_conditions(condition, why):
    expect_policy_error(v9_policy(condition), why)


@pytest.mark.parametrize(
    "text", ["2023-11-14", "2023-11-14T22:28:20", "2023-13-14T22:28:20Z", "tomorrow", 1700000900]
)
def test_malformed_expiration(text):
    with pytest.raises(InvalidPolicyDocument):
        parse_expiration(text)


def test_expiration_forms():
    assert parse_expiration("2023-11-14T22:28:20Z") == 1700000900
    assert parse_expiration("2023-11-14T22:28:20.5Z") == 1700000900.5
    assert parse_expiration("2023-11-15T06:28:20+08:00") == 1700000900


def test_string_bounds_in_content_length_range_are_accepted():
    assert post(v9_fields(v9_policy(["content-length-range", "1", "5"])))


# -- refusals: time, conditions ----------------------------------------------------------


def test_expired_policy():
    policy = V9_POLICY.replace("2023-11-14T22:28:20.000Z", "2023-11-14T22:15:00.000Z")
    assert post(v9_fields(policy), now=1700000100) == "users/alice/photo.jpg"
    with pytest.raises(AccessDenied, match="Request has expired"):
        post(v9_fields(policy), now=1700000101)


def test_expired_key_time():
    # The policy outlives the key time here: q-key-time ends at 1700000900.
    policy = V9_POLICY.replace("2023-11-14T22:28:20.000Z", "2023-11-15T00:00:00.000Z")
    assert post(v9_fields(policy), now=1700000900)
    with pytest.raises(AccessDenied, match="Request has expired"):
        post(v9_fields(policy), now=1700000901)


def test_key_time_not_yet_valid():
    assert post(v9_fields(), now=1700000000 - 60)
    with pytest.raises(AccessDenied) as caught:
        post(v9_fields(), now=1700000000 - 61)
    assert "future" in caught.value.detail


@pytest.mark.parametrize(
    "key", ["users/bob/${filename}", "evil/users/alice/${filename}", "users/alice", "Users/alice/x"]
)
def test_key_outside_the_prefix(key):
    with pytest.raises(AccessDenied, match=r'\["starts-with", "\$key", "users/alice/"\]'):
        post(v9_fields(key=key))


def test_another_bucket():
    with pytest.raises(AccessDenied, match="bucket"):
        post(v9_fields(), bucket="otherbucket-1250000000")


def test_q_ak_condition_binds_the_form():
    with pytest.raises(AccessDenied, match="q-ak"):
        post(v9_fields(**{"q-ak": "AKIDOTHER"}))


def test_a_field_named_in_the_policy_must_be_in_the_form():
    policy = v9_policy({"acl": "private"})
    with pytest.raises(AccessDenied) as caught:
        post(v9_fields(policy))
    assert "acl is absent" in caught.value.detail
    assert post(v9_fields(policy, acl="private"))
    with pytest.raises(AccessDenied):
        post(v9_fields(policy, acl="public-read"))


def test_eq_and_exact_conditions_are_exact():
    policy = v9_policy(["eq", "$x-cos-meta-owner", "alice"], ["starts-with", "$x-cos-meta-tag", ""])
    assert post(v9_fields(policy, **{"x-cos-meta-owner": "alice", "x-cos-meta-tag": "any"}))
    with pytest.raises(AccessDenied):
        post(v9_fields(policy, **{"x-cos-meta-owner": "alice2", "x-cos-meta-tag": "any"}))
    with pytest.raises(AccessDenied, match="x-cos-meta-tag"):
        post(v9_fields(policy, **{"x-cos-meta-owner": "alice"}))


def test_the_token_value_never_reaches_a_message():
    policy = v9_policy({"x-cos-security-token": "tok-SECRET-VALUE"})
    with pytest.raises(AccessDenied) as caught:
        post(v9_fields(policy))
    assert "tok-SECRET-VALUE" not in caught.value.message + caught.value.detail
    assert "<redacted>" in caught.value.message


def test_content_length_range():
    policy = V9_POLICY.replace(
        '["content-length-range",0,10485760]', '["content-length-range",2,4]'
    )
    assert post(v9_fields(policy), (b"ab", "a"))
    assert post(v9_fields(policy), (b"abcd", "a"))
    with pytest.raises(EntityTooSmall):
        post(v9_fields(policy), (b"a", "a"))
    with pytest.raises(EntityTooLarge):
        post(v9_fields(policy), (b"abcde", "a"))


# -- refusals: the multipart body --------------------------------------------------------


def raw_form(*parts, boundary="B"):
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return body + b"--" + boundary.encode() + b"--\r\n", f"multipart/form-data; boundary={boundary}"


FIELD = b'Content-Disposition: form-data; name="key"\r\n\r\nusers/alice/a'
FILE = b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello'


def test_raw_form_parses():
    body, content_type = raw_form(FIELD, FILE)
    assert parse_form(content_type, body) == PostForm({"key": "users/alice/a"}, b"hello", "a.txt")


@pytest.mark.parametrize(
    ("parts", "error"),
    [
        ((FIELD,), IncorrectNumberOfFilesInPostRequest),
        ((FIELD, FILE, FILE), IncorrectNumberOfFilesInPostRequest),
        ((FIELD, FILE.replace(b'name="file"', b'name="upload"')),
         IncorrectNumberOfFilesInPostRequest),
        ((FILE, FIELD), MalformedPOSTRequest),
        ((FIELD, FIELD, FILE), MalformedPOSTRequest),
        ((FIELD, FIELD.replace(b'"key"', b'"KEY"'), FILE), MalformedPOSTRequest),
        ((FIELD + b"\xff", FILE), MalformedPOSTRequest),
        ((b"Content-Disposition: form-data\r\n\r\nx", FILE), MalformedPOSTRequest),
        ((b'Content-Disposition: attachment; name="key"\r\n\r\nx', FILE), MalformedPOSTRequest),
    ],
)  # fmt: skip
def test_malformed_bodies(parts, error):
    body, content_type = raw_form(*parts)
    with pytest.raises(error):
        parse_form(content_type, body)


def test_the_file_part_needs_no_filename_when_named_file():
    body, content_type = raw_form(FIELD, b'Content-Disposition: form-data; name="file"\r\n\r\nx')
    assert parse_form(content_type, body).filename == ""


@pytest.mark.parametrize(
    "content_type",
    [
        "",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/mixed; boundary=B",
        "multipart/form-data; boundary=B\r\nX-Injected: 1",
    ],
)
def test_wrong_content_types(content_type):
    body, _ = raw_form(FIELD, FILE)
    with pytest.raises(MalformedPOSTRequest):
        parse_form(content_type, body)


def test_truncated_body():
    body, content_type = raw_form(FIELD, FILE)
    with pytest.raises(MalformedPOSTRequest):
        parse_form(content_type, body[: body.rindex(b"--B--")])


# -- the parser against an independent encoder -----------------------------------------

field_names = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=12).filter(
    lambda name: name.lower() != "file"
)


@settings(max_examples=examples(150), deadline=None)
@given(
    fields=st.dictionaries(field_names, st.text(max_size=40), max_size=6).filter(
        lambda fields: len({name.lower() for name in fields}) == len(fields)
    ),
    content=st.binary(max_size=2000),
    # Backslashes are left out: a browser sends them raw, curl escapes them, and
    # the two cannot be told apart (see _disposition).
    filename=st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=20).filter(
        lambda name: "\\" not in name
    ),
)
def test_parse_form_round_trips_urllib3_bodies(fields, content, filename):
    body, content_type = encode_form(fields, (content, filename))
    form = parse_form(content_type, body)
    # urllib3 writes '"' as %22, as the HTML standard tells browsers to.
    assert form == PostForm(fields, content, filename.replace('"', "%22"))


@pytest.mark.parametrize(
    ("disposition", "filename"),
    [
        (b'form-data; name="file"; filename=" a b "', " a b "),
        (b'form-data; name="file"; filename="=?utf-8?b?YQ==?="', "=?utf-8?b?YQ==?="),
        (b'form-data; name="file"; filename="\xe6\x8a\xa5\xe5\x91\x8a.pdf"', "报告.pdf"),
        (b'form-data; name="file"; filename="a\\"b\\\\c.txt"', 'a"b\\c.txt'),
        (b'form-data; name="file"; filename="C:\\dir\\a.txt"', "C:\\dir\\a.txt"),
        (b"form-data; name=file; filename=plain.txt", "plain.txt"),
        (b'FORM-DATA ; NAME="file" ;\tFileName = "x;y=z"', "x;y=z"),
        (b'form-data; name="file"; filename=""', ""),
    ],
)
def test_filenames_are_read_exactly(disposition, filename):
    body = b"--B\r\nContent-Disposition: " + disposition + b"\r\n\r\nx\r\n--B--\r\n"
    assert parse_form("multipart/form-data; boundary=B", body).filename == filename


@pytest.mark.parametrize(
    "disposition",
    [
        b'form-data; name="file"; filename="unterminated',
        b'form-data; name="file"; name="again"',
        b'form-data; name="file" filename="a"',
        b'form-data; name="file"; filename="\xff.txt"',
        b"",
    ],
)
def test_unreadable_dispositions(disposition):
    body = b"--B\r\nContent-Disposition: " + disposition + b"\r\n\r\nx\r\n--B--\r\n"
    with pytest.raises(MalformedPOSTRequest):
        parse_form("multipart/form-data; boundary=B", body)


# -- header-signed forms (cos-wx-sdk-v5's postObject) -----------------------------------

WX_SIGNATURE = (
    "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time=1700000000;1700000900"
    "&q-key-time=1700000000;1700000900&q-header-list=host&q-url-param-list="
    "&q-signature=0123456789abcdef0123456789abcdef01234567"
)


def wx_form(content=b"photo bytes", **changes):
    """The field order of cos-wx-sdk-v5 1.8.0 lib/request.js:68-89."""
    fields = {
        "key": "users/alice/photo.jpg",
        "success_action_status": "200",
        "Signature": WX_SIGNATURE,
        "x-cos-security-token": TOKEN,
        "Content-Type": "",
    }
    fields.update(changes)
    body, content_type = encode_form(
        {k: v for k, v in fields.items() if v is not None}, (content, "tmp_1.jpg")
    )
    return parse_form(content_type, body)


def test_a_signature_field_without_a_policy_is_header_signed():
    assert is_header_signed(wx_form())
    assert is_header_signed(wx_form(Signature=None, signature=WX_SIGNATURE))  # any case
    assert not is_header_signed(wx_form(policy="e30="))  # a policy form keeps its rules
    assert not is_header_signed(wx_form(Signature=None))


def test_the_signature_field_reads_like_an_authorization_header():
    fields = header_signed_fields(wx_form(), {"authorization": WX_SIGNATURE})
    assert (fields.ak, fields.key_time, fields.header_list) == (
        "AKIDEXAMPLE", "1700000000;1700000900", ("host",))  # fmt: skip
    assert header_signed_fields(wx_form(), {}).signature.startswith("0123")


@pytest.mark.parametrize(
    ("signature", "headers", "why"),
    [
        ("q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE", {}, "malformed"),
        ("not a signature", {}, "malformed"),
        (WX_SIGNATURE, {"authorization": WX_SIGNATURE + "0"}, "differs"),
    ],
)
def test_unreadable_or_doubled_signatures_are_malformed_post_requests(signature, headers, why):
    with pytest.raises(MalformedPOSTRequest) as caught:
        header_signed_fields(wx_form(Signature=signature), headers)
    assert why in caught.value.detail


def test_the_token_comes_from_the_field_or_the_header_never_two_values():
    assert form_token(wx_form(), {}) == TOKEN
    assert form_token(wx_form(), {"x-cos-security-token": TOKEN}) == TOKEN
    assert (
        form_token(wx_form(**{"x-cos-security-token": None}), {"x-cos-security-token": "h"}) == "h"
    )
    assert form_token(wx_form(**{"x-cos-security-token": None}), {}) is None
    with pytest.raises(MalformedPOSTRequest):
        form_token(wx_form(), {"x-cos-security-token": "another"})


def test_condition_values_are_what_the_form_stores():
    form = wx_form(b"x" * 1234, **{"Content-Type": "image/jpeg", "acl": "private",
                                   "x-cos-storage-class": "STANDARD_IA"})  # fmt: skip
    values = header_form_values(form, {"content-type": "multipart/form-data; boundary=b",
                                       "content-length": "99999"})  # fmt: skip
    assert values == {
        "cos:content-length": "1234",  # the file, not the body
        "cos:content-type": "image/jpeg",  # the field, not the multipart header
        "cos:x-cos-acl": "private",
        "cos:x-cos-storage-class": "STANDARD_IA",
    }
    # The SDK's default form: Content-Type '' is a value (a type rule refuses it).
    assert header_form_values(wx_form(b""), {}) == {
        "cos:content-length": "0", "cos:content-type": ""}  # fmt: skip
    # A header the SDK sent without the field still counts.
    assert header_form_values(wx_form(), {"x-cos-acl": "private"})["cos:x-cos-acl"] == "private"


@pytest.mark.parametrize(
    ("field_name", "header"), [("acl", "x-cos-acl"), ("x-cos-storage-class", "x-cos-storage-class")]
)
def test_a_field_and_its_header_must_agree(field_name, header):
    form = wx_form(**{field_name: "STANDARD"})
    assert header_form_values(form, {header: " STANDARD "})  # whitespace aside, equal
    with pytest.raises(MalformedPOSTRequest):
        header_form_values(form, {header: "ARCHIVE"})


def test_object_key_substitutes_the_filename_and_refuses_empty_keys():
    assert object_key(wx_form(key="users/alice/${filename}")) == "users/alice/tmp_1.jpg"
    with pytest.raises(MalformedPOSTRequest):
        object_key(wx_form(key=""))
    with pytest.raises(MalformedPOSTRequest):
        object_key(wx_form(key=None))
