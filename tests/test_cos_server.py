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
from tests.support.cos import client, form_upload, last_record, mint, refused, sign

MIB = 1024 * 1024


@pytest.fixture
def service(emulator):
    return make_service(make_env(emulator.endpoint))


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
                     clock=lambda: time.time() + offset[0]) as cos:  # fmt: skip
        keys = mint(service, body={"profile": "upload", "durationSeconds": 1800})
        request = sign(keys, "PUT", "users/alice/a.txt", {}, b"x")  # q-sign-time: now+600
        assert cos.handle(*request).status == 200
        offset[0] = 700  # the key has 1100 s left; the signature's window is over
        response = cos.handle(*request)
        assert response.status == 403
        assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in response.body


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
