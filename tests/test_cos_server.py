"""The local COS over raw HTTP: form uploads, error documents, CORS, the listing
reading switch, and what it logs. (The SDK round trips are in test_cos_sdk.py.)"""

from __future__ import annotations

import hashlib
import json
import os
import time

import pytest
import requests

from sts_tools.emulators.cos.server import CosEmulator
from tests.support import BUCKET, REGION, make_env, make_service, shipped_config
from tests.support.cos import client, form_upload, last_record, mint, refused, sign, wx_post_form

MIB = 1024 * 1024


def test_form_upload_into_the_users_root(service, local_cos):
    keys = mint(service, body={"profile": "upload"})
    response = form_upload(local_cos, keys, "users/alice/form.txt", b"from a form")
    assert response.status_code == 204, response.text
    assert response.headers["ETag"] == '"' + hashlib.md5(b"from a form").hexdigest() + '"'
    assert local_cos.store.get_object(BUCKET, "users/alice/form.txt").body == b"from a form"
    assert last_record(local_cos)["api"] == "PostObject"


def test_form_upload_outside_the_root_is_refused_by_the_policy_not_just_the_form(
    service, local_cos
):
    keys = mint(service, body={"profile": "upload"})
    keys["prefix"] = "users/bob/"  # the form policy would allow it; CAM must not
    response = form_upload(local_cos, keys, "users/bob/x.txt", b"x")
    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content
    assert last_record(local_cos)["decision"] == "deny"


def test_form_upload_over_the_profiles_size_cap_is_refused(emulator, local_cos):
    document = shipped_config()
    document["profiles"]["upload"]["max_content_length"] = 2000
    service = make_service(make_env(emulator.endpoint), document)
    keys = mint(service, body={"profile": "upload"})
    assert form_upload(local_cos, keys, "users/alice/ok", b"x" * 100).status_code == 204
    response = form_upload(local_cos, keys, "users/alice/big", b"x" * 3000)
    assert response.status_code == 403
    assert "cos:content-length" in last_record(local_cos)["reason"]


def test_errors_are_coss_xml_with_request_id_and_date(service, local_cos):
    keys = mint(service, body={"profile": "download"})
    response = requests.get(
        local_cos.endpoint + "/users/alice/none.txt",
        headers={"Host": f"{BUCKET}.cos.{REGION}.myqcloud.com"},
        timeout=10,
    )
    assert response.status_code == 403  # unsigned: the bucket is private
    assert response.headers["Content-Type"] == "application/xml"
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8' ?><Error>")
    request_id = response.headers["x-cos-request-id"]
    assert f"<RequestId>{request_id}</RequestId>".encode() in response.content
    assert response.headers["Date"].endswith("GMT")
    for name in ("Date", "Server"):  # once each: the wx SDK reads Date to correct its clock
        assert len(response.raw.headers.getlist(name)) == 1, name
    missing = refused(client(local_cos, keys).get_object, Bucket=BUCKET, Key="users/alice/no")
    assert (missing.get_status_code(), missing.get_error_code()) == (404, "NoSuchKey")


def test_cors_preflight_and_exposed_headers(service, local_cos):
    origin = "http://localhost:3000"
    preflight = requests.options(
        local_cos.endpoint + "/users/alice/a.txt",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,cache-control,x-cos-security-token",
        },
        timeout=10,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == (
        "authorization,cache-control,x-cos-security-token"
    )
    keys = mint(service, body={"profile": "upload"})
    _, target, headers, body = sign(keys, "PUT", "users/alice/a.txt", {}, b"abc")
    put = requests.put(local_cos.endpoint + target, data=body, timeout=10,
                       headers={**headers, "Origin": origin})  # fmt: skip
    assert put.status_code == 200
    exposed = {h.strip().lower() for h in put.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "content-length", "date", "x-cos-request-id"} <= exposed


def test_cors_refuses_an_unlisted_origin(emulator):
    with CosEmulator(emulator.keyring, bucket=BUCKET, region=REGION, log=lambda _: None,
                     cors_origins=["https://app.example.com"]) as cos:  # fmt: skip
        preflight = requests.options(
            cos.endpoint + "/users/alice/a.txt", timeout=10,
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"},
        )  # fmt: skip
        assert preflight.status_code == 403
        assert b"<Code>AccessForbidden</Code>" in preflight.content
        assert not any(name.lower().startswith("access-control") for name in preflight.headers)


@pytest.mark.parametrize("mode", ["prefix", "bucket"])
def test_shipped_upload_profile_under_both_listing_readings(emulator, tmp_path, mode):
    """docs/tencent/cos-api.md §5 leaves open which resource COS checks for ListMultipartUploads.
    Under the documented reading (R(prefix)) the SDK's multipart helper works; under
    the strict one (R(""), the bucket) its resume probe is refused, and the whole
    upload_file fails, while simple uploads still work."""
    service = make_service(make_env(emulator.endpoint))
    with CosEmulator(emulator.keyring, bucket=BUCKET, region=REGION, log=lambda _: None,
                     list_resource=mode) as cos:  # fmt: skip
        sdk = client(cos, mint(service, body={"profile": "upload"}))
        sdk.put_object(Bucket=BUCKET, Key="users/alice/small.txt", Body=b"x")
        source = tmp_path / "big.bin"
        source.write_bytes(os.urandom(2 * MIB + 1))
        upload = (sdk.upload_file, ())
        kwargs = {"Bucket": BUCKET, "Key": "users/alice/big.bin",
                  "LocalFilePath": str(source), "PartSize": 1}  # fmt: skip
        if mode == "prefix":
            upload[0](**kwargs)
            assert cos.store.get_object(BUCKET, "users/alice/big.bin").body == source.read_bytes()
        else:
            error = refused(upload[0], **kwargs)
            assert error.get_status_code() == 403
            denied = [r for r in cos.records if r.decision == "deny"]
            assert [r.api for r in denied] == ["ListMultipartUploads"]


def test_a_key_issued_without_a_policy_is_refused(emulator, local_cos):
    from sts_tools.emulators.keyring import IssuedKey

    emulator.keyring.add(IssuedKey("AKIDROLEONLY", "secret", "tok", int(time.time()) + 600))
    keys = {"credentials": {"tmpSecretId": "AKIDROLEONLY", "tmpSecretKey": "secret",
                            "sessionToken": "tok"}, "region": REGION}  # fmt: skip
    error = refused(client(local_cos, keys).put_object, Bucket=BUCKET, Key="a", Body=b"x")
    assert error.get_status_code() == 403
    assert "without a policy" in last_record(local_cos)["reason"]


def test_another_bucket_in_the_host_is_no_such_bucket(service, local_cos):
    keys = mint(service, body={"profile": "upload"})
    _, target, headers, body = sign(keys, "PUT", "users/alice/a", {}, b"x")
    headers["Host"] = "otherbucket-1250000000.cos.ap-guangzhou.myqcloud.com"
    response = requests.put(local_cos.endpoint + target, headers=headers, data=body, timeout=10)
    assert response.status_code == 404
    assert b"<Code>NoSuchBucket</Code>" in response.content


def test_log_lines_say_what_decided_and_never_carry_secrets(service, local_cos):
    keys = mint(service, body={"profile": "upload"})
    sdk = client(local_cos, keys)
    sdk.put_object(Bucket=BUCKET, Key="users/alice/a.txt", Body=b"x")
    refused(sdk.put_object, Bucket=BUCKET, Key="users/bob/a.txt", Body=b"x")
    bad = client(local_cos, {**keys, "credentials": {**keys["credentials"],
                                                     "tmpSecretKey": "wrong"}})  # fmt: skip
    refused(bad.put_object, Bucket=BUCKET, Key="users/alice/b.txt", Body=b"x")
    allowed, denied, mismatch = (json.loads(line) for line in local_cos.log_lines[-3:])
    assert (allowed["decision"], allowed["api"], allowed["key"]) == (
        "allow", "PutObject", "users/alice/a.txt")  # fmt: skip
    assert "statement[0]" in allowed["reason"]
    assert denied["decision"] == "deny"
    assert "no resource covers" in denied["reason"]
    assert mismatch["code"] == "SignatureDoesNotMatch"
    assert "HttpString" in mismatch["reason"]  # what the server signed, to diff against
    text = "\n".join(local_cos.log_lines)
    for secret in (keys["credentials"]["tmpSecretKey"], keys["credentials"]["sessionToken"]):
        assert secret not in text
    assert keys["credentials"]["tmpSecretId"] not in text  # only its last characters


def test_a_signature_past_its_window_is_request_has_expired_while_the_key_lives(service, emulator):
    offset = [0.0]
    with CosEmulator(emulator.keyring, bucket=BUCKET, region=REGION, log=lambda _: None,
                     clock=lambda: time.time() + offset[0], reasons=False) as cos:  # fmt: skip
        keys = mint(service, body={"profile": "upload", "durationSeconds": 1800})
        request = sign(keys, "PUT", "users/alice/a.txt", {}, b"x")  # q-sign-time: now+600
        assert cos.handle(*request).status == 200
        offset[0] = 700  # the key has 1100 s left; the signature's window is over
        response = cos.handle(*request)
        assert response.status == 403
        assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in response.body


def test_the_local_cos_says_why_in_the_error_message(service, local_cos):
    """A local-only aid: the SDK's error carries the decision's reason (real COS says
    only "Access Denied."); reasons=False gives COS's own message."""
    cos = client(local_cos, mint(service, body={"profile": "upload"}))
    error = refused(cos.put_object, Bucket=BUCKET, Key="users/bob/x.txt", Body=b"x")
    message = error.get_error_msg()
    assert message.startswith("Access Denied. (local COS: denied by default")
    assert "users/bob/x.txt" in message
    assert "users/alice/*" in message
    assert error.get_error_code() == "AccessDenied"
    local_cos.reasons = False
    try:
        error = refused(cos.put_object, Bucket=BUCKET, Key="users/bob/x.txt", Body=b"x")
    finally:
        local_cos.reasons = True
    assert error.get_error_msg() == "Access Denied."


def test_a_repeated_signed_parameter_is_refused(service, local_cos):
    """Otherwise the signature could cover one prefix while the listing uses another."""
    keys = mint(service, body={"profile": "upload"})
    method, target, headers, body = sign(keys, "GET", "", {"uploads": "", "prefix": "users/alice/"})
    doubled = target.replace("prefix=users%2Falice%2F", "prefix=users%2Falice%2F&prefix=users%2F")
    assert doubled != target
    response = local_cos.handle(method, doubled, headers, body)
    assert response.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.body
    assert local_cos.handle(method, target, headers, body).status == 200


def test_preflights_for_methods_the_rule_does_not_list_are_refused(local_cos):
    response = local_cos.handle(
        "OPTIONS", "/users/alice/a.txt",
        {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "PATCH"},
    )  # fmt: skip
    assert response.status == 403
    assert b"<Code>AccessForbidden</Code>" in response.body


# -- cos-wx-sdk-v5's postObject: a header-signed form (header_signed_forms, default on) --


def test_wx_post_object_form_is_accepted_and_stored(service, local_cos):
    """The form exactly as cos-wx-sdk-v5 1.8.0 sends it by default (no options):
    q-header-list=host, Content-Type ''; the answer is the 200 PostResponse it asked for."""
    keys = mint(service, body={"profile": "upload"})
    response = local_cos.handle(*wx_post_form(keys, "users/alice/wx.bin", b"\x00from wx\r\n"))
    assert response.status == 200, response.body
    assert b"<Key>users/alice/wx.bin</Key>" in response.body
    etag = hashlib.md5(b"\x00from wx\r\n").hexdigest()
    assert ("ETag", f'"{etag}"') in response.headers
    stored = local_cos.store.get_object(BUCKET, "users/alice/wx.bin")
    assert stored.body == b"\x00from wx\r\n"
    record = last_record(local_cos)
    assert (record["api"], record["decision"], record["key"]) == (
        "PostObject", "allow", "users/alice/wx.bin")  # fmt: skip


def test_wx_post_object_form_with_every_option_the_sdk_signs(service, local_cos):
    """ContentType, ACL, StorageClass, ContentDisposition, ForbidOverwrite, meta: the
    SDK signs content-disposition, host and the x-cos-* headers, sends the type, the
    storage class and meta as form fields too, and the ACL as the `acl` field. (The
    profile lets uploads ask for STANDARD_IA; by default only STANDARD is pinned.)"""
    document = shipped_config()
    document["profiles"]["upload"]["storage_classes"] = ["STANDARD", "STANDARD_IA"]
    service = make_service(make_env(service.config.sts.endpoint.rstrip("/")), document)
    keys = mint(service, body={"profile": "upload"})
    headers = {
        "Cache-Control": "max-age=60", "Content-Disposition": "inline", "x-cos-acl": "private",
        "x-cos-storage-class": "STANDARD_IA", "x-cos-forbid-overwrite": "true",
        "x-cos-meta-album": "summer",
    }  # fmt: skip
    fields = {
        "Cache-Control": "max-age=60", "Content-Disposition": "inline",
        "Content-Type": "image/jpeg", "x-cos-storage-class": "STANDARD_IA",
        "x-cos-meta-album": "summer",
    }  # fmt: skip
    signed = ("content-disposition", "host", "x-cos-acl", "x-cos-forbid-overwrite",
              "x-cos-meta-album", "x-cos-storage-class")  # fmt: skip
    request = wx_post_form(keys, "users/alice/p.jpg", fields=fields, headers=headers, signed=signed)
    response = local_cos.handle(*request)
    assert response.status == 200, response.body
    stored = local_cos.store.get_object(BUCKET, "users/alice/p.jpg")
    assert (stored.content_type, stored.metadata) == ("image/jpeg", {"x-cos-meta-album": "summer"})


def test_wx_post_object_over_real_http(service, local_cos):
    keys = mint(service, body={"profile": "upload"})
    _, target, headers, body = wx_post_form(keys, "users/alice/http.bin", b"over a socket")
    response = requests.post(local_cos.endpoint + target, headers=headers, data=body, timeout=10)
    assert response.status_code == 200, response.text
    assert local_cos.store.get_object(BUCKET, "users/alice/http.bin").body == b"over a socket"


def test_wx_form_outside_the_users_root_is_denied_by_cam(service, local_cos):
    """The signature covers "/", never the key: the key's STS policy is what confines it."""
    keys = mint(service, body={"profile": "upload"})
    for key in ("users/bob/x.bin", "users/alice2/x.bin", "x.bin"):
        response = local_cos.handle(*wx_post_form(keys, key))
        assert response.status == 403, key
        assert b"<Code>AccessDenied</Code>" in response.body
        record = last_record(local_cos)
        assert (record["decision"], record["key"]) == ("deny", key)
    assert local_cos.store.objects(BUCKET) == []


def test_wx_form_signature_does_not_bind_the_key(service, local_cos):
    """Pinned on purpose: one Signature (and token) taken from a form upload works for
    any other key the policy allows, until its q-sign-time ends (the SDK signs the
    keys' whole life). Only CAM limits it, exactly as the temporary key itself."""
    keys = mint(service, body={"profile": "upload"})
    method, target, headers, body = wx_post_form(keys, "users/alice/first.bin", b"1")
    assert local_cos.handle(method, target, headers, body).status == 200
    replayed = body.replace(b"users/alice/first.bin", b"users/alice/other.bin")
    assert replayed != body
    headers = {**headers, "Content-Length": str(len(replayed))}
    assert local_cos.handle(method, target, headers, replayed).status == 200
    assert local_cos.store.get_object(BUCKET, "users/alice/other.bin").body == b"1"


def test_wx_form_size_condition_is_the_files_size(emulator, local_cos):
    """cos:content-length is the file's size, not the multipart body's (which is larger)."""
    document = shipped_config()
    document["profiles"]["upload"]["max_content_length"] = 2000
    service = make_service(make_env(emulator.endpoint), document)
    keys = mint(service, body={"profile": "upload"})
    request = wx_post_form(keys, "users/alice/fits.bin", b"x" * 2000)
    assert len(request[3]) > 2000
    assert local_cos.handle(*request).status == 200
    response = local_cos.handle(*wx_post_form(keys, "users/alice/big.bin", b"x" * 2001))
    assert response.status == 403
    assert "cos:content-length is '2001'" in last_record(local_cos)["reason"]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [("image/png", 200), ("text/plain", 403), ("", 403), (None, 403)],
    ids=["allowed", "outside", "empty", "sdk-default"],
)
def test_wx_form_content_type_condition_reads_the_field(emulator, local_cos, content_type, status):
    """The HTTP Content-Type is multipart/form-data; the object's type is the field. The
    SDK sends Content-Type '' when the app sets none, which a type rule refuses."""
    document = shipped_config()
    document["profiles"]["upload"]["content_types"] = ["image/*"]
    service = make_service(make_env(emulator.endpoint), document)
    keys = mint(service, body={"profile": "upload"})
    fields = {} if content_type is None else {"Content-Type": content_type}
    response = local_cos.handle(*wx_post_form(keys, "users/alice/t", fields=fields))
    assert response.status == status, response.body


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"secret": "wrong"}, 403, "SignatureDoesNotMatch"),
        ({"path": "/users/alice/x.bin"}, 403, "SignatureDoesNotMatch"),  # signed with the key
        ({"signed": ("host", "x-cos-meta-a")}, 403, "SignatureDoesNotMatch"),  # listed, not sent
        ({"host": f"{BUCKET}.cos.{REGION}.myqcloud.com"}, 200, None),  # no port: also fine
        ({"authorization_header": None}, 200, None),  # the field alone
        ({"authorization_header": "q-sign-algorithm=sha1&q-ak=x"}, 400, "MalformedPOSTRequest"),
        ({"form_token": None}, 200, None),  # the header's token
        ({"header_token": None}, 200, None),  # the field's token
        ({"form_token": None, "header_token": None}, 403, "AccessDenied"),
        ({"form_token": "tok-OTHER", "header_token": "tok-OTHER"}, 403, "AccessDenied"),
        ({"form_token": "tok-OTHER"}, 400, "MalformedPOSTRequest"),  # field and header differ
        (
            {"headers": {"x-cos-acl": "public-read"}, "fields": {"acl": "private"}},
            400,
            "MalformedPOSTRequest",
        ),
    ],
    ids=[
        "wrong-secret",
        "signed-path-not-slash",
        "listed-header-absent",
        "host-without-port",
        "no-authorization-header",
        "authorization-header-differs",
        "token-in-header-only",
        "token-in-form-only",
        "no-token",
        "foreign-token",
        "tokens-differ",
        "acl-differs",
    ],
)
def test_wx_form_refusals(service, local_cos, changes, status, code):
    keys = mint(service, body={"profile": "upload"})
    response = local_cos.handle(*wx_post_form(keys, "users/alice/r.bin", **changes))
    assert response.status == status, response.body
    if code:
        assert f"<Code>{code}</Code>".encode() in response.body
        assert local_cos.store.objects(BUCKET) == []
    text = "\n".join(local_cos.log_lines)
    assert keys["credentials"]["sessionToken"] not in text
    assert keys["credentials"]["tmpSecretKey"] not in text


def test_a_tampered_signed_header_is_signature_does_not_match(service, local_cos):
    keys = mint(service, body={"profile": "upload"})
    method, target, headers, body = wx_post_form(
        keys, "users/alice/o.bin", headers={"x-cos-forbid-overwrite": "true"},
        signed=("host", "x-cos-forbid-overwrite"),
    )  # fmt: skip
    assert local_cos.handle(method, target, headers, body).status == 200
    headers["x-cos-forbid-overwrite"] = "false"
    response = local_cos.handle(method, target, headers, body)
    assert response.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.body
    assert "HttpString" in last_record(local_cos)["reason"]


def test_wx_form_time_and_key_life(service, emulator):
    offset = [0.0]
    with CosEmulator(emulator.keyring, bucket=BUCKET, region=REGION, log=lambda _: None,
                     clock=lambda: time.time() + offset[0], reasons=False) as cos:  # fmt: skip
        keys = mint(service, body={"profile": "upload", "durationSeconds": 1800})
        now = int(time.time())
        request = wx_post_form(keys, "users/alice/t.bin", key_time=f"{now - 1};{now + 600}")
        assert cos.handle(*request).status == 200
        offset[0] = 700  # the key lives on; the signature's window is over
        response = cos.handle(*request)
        assert response.status == 403
        assert b"<Message>Request has expired</Message>" in response.body
        offset[0] = 1900  # and now the key itself is over
        late = wx_post_form(keys, "users/alice/t.bin", key_time=f"{now};{now + 3600}")
        response = cos.handle(*late)
        assert (response.status, b"<Code>ExpiredToken</Code>" in response.body) == (400, True)


def test_an_unknown_secret_id_in_the_form_is_invalid_access_key_id(service, local_cos):
    keys = mint(service, body={"profile": "upload"})
    forged = {**keys, "credentials": {**keys["credentials"], "tmpSecretId": "AKIDNOTISSUED"}}
    response = local_cos.handle(*wx_post_form(forged, "users/alice/f.bin"))
    assert response.status == 403
    assert b"<Code>InvalidAccessKeyId</Code>" in response.body


def test_header_signed_forms_off_refuses_them_and_keeps_policy_forms(service, emulator):
    with CosEmulator(emulator.keyring, bucket=BUCKET, region=REGION, log=lambda _: None,
                     header_signed_forms=False) as cos:  # fmt: skip
        keys = mint(service, body={"profile": "upload"})
        response = cos.handle(*wx_post_form(keys, "users/alice/w.bin"))
        assert response.status == 400
        assert b"<Code>MalformedPOSTRequest</Code>" in response.body
        assert "header_signed_forms=False" in cos.records[-1].reason
        assert form_upload(cos, keys, "users/alice/p.txt", b"policy form").status_code == 204
