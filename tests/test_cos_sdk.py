"""The product's promise, end to end: keys from `index.handle` let cos-python-sdk-v5
do exactly what the profile grants, inside the user's root, and nothing else.

Keys come from the public handler (through the local STS, which records each
key's policy); the official SDK uses them against the local COS over HTTP, which
verifies signatures and evaluates the policy (sts_tools/emulators/cos).
"""

from __future__ import annotations

import os

import pytest

from sts_tools.emulators.cos.errors import NoSuchKey
from tests.support import BUCKET, make_env, make_service, shipped_config
from tests.support.cos import MODES, client, last_record, mint, refused

MIB = 1024 * 1024


def service_with(emulator, **profile_changes):
    """The shipped config with changes to one profile: {profile: {key: value}}."""
    document = shipped_config()
    for name, changes in profile_changes.items():
        document["profiles"].setdefault(name, {}).update(changes)
    return make_service(make_env(emulator.endpoint), document)


def seed(cos, key, body=b"seeded by the test"):
    """An object put straight into the store (no key involved)."""
    cos.store.put_object(BUCKET, key, body)


def big_file(tmp_path, size=int(2.5 * MIB)):
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(size))
    return path


# -- every operation docs/configuration.md says a shipped profile allows succeeds --


@pytest.mark.parametrize("mode", MODES)
def test_upload_profile_allows_put_and_multipart_and_abort(service, local_cos, tmp_path, mode):
    cos = client(local_cos, mint(service, body={"profile": "upload"}), mode)
    put = cos.put_object(Bucket=BUCKET, Key="users/alice/hello.txt", Body=b"hello world")
    assert put["ETag"] == '"5eb63bbbe01eeed093cb22bb8f5acdc3"'
    source = big_file(tmp_path)
    cos.upload_file(Bucket=BUCKET, Key="users/alice/big.bin", LocalFilePath=str(source), PartSize=1)
    stored = local_cos.store.get_object(BUCKET, "users/alice/big.bin")
    assert stored.body == source.read_bytes()
    assert stored.etag.endswith("-3")  # really went multipart: three 1 MiB parts
    apis = [record.api for record in local_cos.records]
    assert {"ListMultipartUploads", "InitiateMultipartUpload", "UploadPart"} <= set(apis)
    assert "CompleteMultipartUpload" in apis
    started = cos.create_multipart_upload(Bucket=BUCKET, Key="users/alice/abandoned.bin")
    cos.abort_multipart_upload(
        Bucket=BUCKET, Key="users/alice/abandoned.bin", UploadId=started["UploadId"]
    )
    assert local_cos.store.list_multipart_uploads(BUCKET) == []


@pytest.mark.parametrize("mode", MODES)
def test_upload_profile_refuses_reading_and_deleting(service, local_cos, mode):
    seed(local_cos, "users/alice/mine.txt")
    cos = client(local_cos, mint(service, body={"profile": "upload"}), mode)
    for call in (cos.get_object, cos.head_object, cos.delete_object):
        error = refused(call, Bucket=BUCKET, Key="users/alice/mine.txt")
        assert error.get_status_code() == 403
    assert local_cos.store.get_object(BUCKET, "users/alice/mine.txt")  # still there


@pytest.mark.parametrize("mode", MODES)
def test_download_profile_allows_get_head_and_download_file(service, local_cos, tmp_path, mode):
    seed(local_cos, "users/alice/small.txt", b"small body")
    big = os.urandom(3 * MIB)
    seed(local_cos, "users/alice/big.bin", big)
    cos = client(local_cos, mint(service, body={"profile": "download"}), mode)
    assert cos.get_object(Bucket=BUCKET, Key="users/alice/small.txt")["Body"].get_raw_stream()
    head = cos.head_object(Bucket=BUCKET, Key="users/alice/small.txt")
    assert head["Content-Length"] == "10"
    small_out, big_out = tmp_path / "small.txt", tmp_path / "big.bin"
    cos.download_file(Bucket=BUCKET, Key="users/alice/small.txt", DestFilePath=str(small_out))
    assert small_out.read_bytes() == b"small body"
    # Ranged GETs of 1 MiB parts, as the SDK does for large objects.
    cos.download_file(
        Bucket=BUCKET, Key="users/alice/big.bin", DestFilePath=str(big_out), PartSize=1
    )
    assert big_out.read_bytes() == big
    ranged = [r for r in local_cos.records if r.api == "GetObject" and r.status == 206]
    assert len(ranged) >= 3


@pytest.mark.parametrize("mode", MODES)
def test_download_profile_refuses_writing_and_deleting(service, local_cos, mode):
    seed(local_cos, "users/alice/keep.txt")
    cos = client(local_cos, mint(service, body={"profile": "download"}), mode)
    error = refused(cos.put_object, Bucket=BUCKET, Key="users/alice/new.txt", Body=b"x")
    assert (error.get_status_code(), error.get_error_code()) == (403, "AccessDenied")
    assert refused(cos.delete_object, Bucket=BUCKET, Key="users/alice/keep.txt")
    assert local_cos.store.get_object(BUCKET, "users/alice/keep.txt")


@pytest.mark.parametrize("mode", MODES)
def test_read_write_profile_round_trip(service, local_cos, tmp_path, mode):
    cos = client(local_cos, mint(service, body={"profile": "read-write"}), mode)
    source = big_file(tmp_path, 2 * MIB + 17)
    cos.upload_file(Bucket=BUCKET, Key="users/alice/docs/a b.bin", LocalFilePath=str(source),
                    PartSize=1)  # fmt: skip
    out = tmp_path / "out.bin"
    cos.download_file(Bucket=BUCKET, Key="users/alice/docs/a b.bin", DestFilePath=str(out))
    assert out.read_bytes() == source.read_bytes()
    assert cos.head_object(Bucket=BUCKET, Key="users/alice/docs/a b.bin")["ETag"]
    cos.delete_object(Bucket=BUCKET, Key="users/alice/docs/a b.bin")
    error = refused(cos.head_object, Bucket=BUCKET, Key="users/alice/docs/a b.bin")
    assert error.get_status_code() == 404


def test_non_ascii_and_special_keys_round_trip(service, local_cos):
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    for key in ("users/alice/报告.pdf", "users/alice/(1)+[2]~!'.txt", "users/alice/.hidden"):
        cos.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
        body = cos.get_object(Bucket=BUCKET, Key=key)["Body"].get_raw_stream().read()
        assert body == key.encode()


# -- what the keys must never do ------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "users/bob/x.txt",  # another user's root
        "users/alice2/x.txt",  # a sibling that shares the text prefix
        "x.txt",  # the bucket root
        "users/x.txt",  # the parent folder
        "users/alicex.txt",  # no separator after the user ID
    ],
)
def test_writes_outside_the_users_root_are_refused(service, local_cos, key):
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    error = refused(cos.put_object, Bucket=BUCKET, Key=key, Body=b"x")
    assert (error.get_status_code(), error.get_error_code()) == (403, "AccessDenied")
    with pytest.raises(NoSuchKey):
        local_cos.store.get_object(BUCKET, key)
    record = last_record(local_cos)
    assert record["decision"] == "deny"
    assert "users/alice/*" in record["reason"]  # says what the key does cover


def test_reads_of_another_users_objects_are_refused(service, local_cos):
    seed(local_cos, "users/bob/secret.txt")
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    for call in (cos.get_object, cos.head_object, cos.delete_object):
        assert refused(call, Bucket=BUCKET, Key="users/bob/secret.txt").get_status_code() == 403
    assert local_cos.store.get_object(BUCKET, "users/bob/secret.txt")


def test_an_action_outside_the_profile_is_refused_with_the_reason(service, local_cos):
    seed(local_cos, "users/alice/a.txt")
    cos = client(local_cos, mint(service, body={"profile": "upload"}))
    refused(cos.delete_object, Bucket=BUCKET, Key="users/alice/a.txt")
    record = last_record(local_cos)
    assert (record["api"], record["decision"], record["status"]) == ("DeleteObject", "deny", 403)
    assert "name/cos:DeleteObject" in record["reason"]


def test_a_body_over_max_content_length_is_refused(emulator, local_cos):
    service = service_with(emulator, upload={"max_content_length": 1000})
    cos = client(local_cos, mint(service, body={"profile": "upload"}))
    cos.put_object(Bucket=BUCKET, Key="users/alice/ok.bin", Body=b"x" * 1000)
    error = refused(cos.put_object, Bucket=BUCKET, Key="users/alice/big.bin", Body=b"x" * 1001)
    assert error.get_status_code() == 403
    assert "cos:content-length" in last_record(local_cos)["reason"]


def test_a_content_type_outside_the_profile_is_refused(emulator, local_cos):
    service = service_with(emulator, upload={"content_types": ["image/jpeg", "image/png"]})
    cos = client(local_cos, mint(service, body={"profile": "upload"}))
    cos.put_object(Bucket=BUCKET, Key="users/alice/a.jpg", Body=b"jpeg", ContentType="image/jpeg")
    error = refused(
        cos.put_object, Bucket=BUCKET, Key="users/alice/a.html", Body=b"<p>",
        ContentType="text/html",
    )  # fmt: skip
    assert error.get_status_code() == 403
    # The Python SDK sends no Content-Type unless asked: the condition has no value
    # and, without _if_exist, does not hold (docs/tencent/cos-api.md §5) - refused, not allowed.
    refused(cos.put_object, Bucket=BUCKET, Key="users/alice/b.jpg", Body=b"jpeg")
    assert "cos:content-type" in last_record(local_cos)["reason"]


def test_wildcard_content_types_allow_the_family_only(emulator, local_cos):
    service = service_with(emulator, upload={"content_types": ["image/*"]})
    cos = client(local_cos, mint(service, body={"profile": "upload"}))
    cos.put_object(Bucket=BUCKET, Key="users/alice/a.webp", Body=b"x", ContentType="image/webp")
    refused(cos.put_object, Bucket=BUCKET, Key="users/alice/a.js", Body=b"x",
            ContentType="application/javascript")  # fmt: skip


def test_scoped_keys_work_only_on_their_keys(service, local_cos):
    scope = [{"action": "name/cos:PutObject", "prefix": "users/alice/avatar.png",
              "bucket": BUCKET, "region": "ap-guangzhou"}]  # fmt: skip
    cos = client(local_cos, mint(service, body={"profile": "upload", "scope": scope}))
    cos.put_object(Bucket=BUCKET, Key="users/alice/avatar.png", Body=b"png")
    refused(cos.put_object, Bucket=BUCKET, Key="users/alice/other.png", Body=b"png")
    refused(cos.create_multipart_upload, Bucket=BUCKET, Key="users/alice/avatar.png")


def test_ip_bound_keys_work_only_from_their_address(emulator, local_cos):
    service = service_with(emulator, upload={"bind_ip": True})
    here = client(local_cos, mint(service, body={"profile": "upload"}, source_ip="127.0.0.1"))
    here.put_object(Bucket=BUCKET, Key="users/alice/a.txt", Body=b"x")
    elsewhere = mint(service, body={"profile": "upload"}, source_ip="192.0.2.10")
    error = refused(client(local_cos, elsewhere).put_object, Bucket=BUCKET,
                    Key="users/alice/b.txt", Body=b"x")  # fmt: skip
    assert error.get_status_code() == 403
    assert "qcs:ip" in last_record(local_cos)["reason"]


def test_missing_or_foreign_session_token_is_refused(service, local_cos):
    mine = mint(service, body={"profile": "upload"})
    theirs = mint(service, "bob", body={"profile": "upload"})
    for token in (None, theirs["credentials"]["sessionToken"], "garbage"):
        cos = client(local_cos, mine, token=token)
        error = refused(cos.put_object, Bucket=BUCKET, Key="users/alice/a.txt", Body=b"x")
        assert error.get_status_code() == 403
        assert last_record(local_cos)["decision"] == "-"  # refused before any policy


def test_a_tampered_signature_is_refused(service, local_cos):
    import requests

    keys = mint(service, body={"profile": "read-write"})
    seed(local_cos, "users/alice/a.txt")
    cos = client(local_cos, keys)
    url = cos.get_presigned_url(
        Bucket=BUCKET, Key="users/alice/a.txt", Method="GET",
        Params={"x-cos-security-token": keys["credentials"]["sessionToken"]},
    )  # fmt: skip
    assert requests.get(url, timeout=10).status_code == 200
    signature = url.split("q-signature=")[1][:40]
    tampered = url.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    response = requests.get(tampered, timeout=10)
    assert response.status_code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.content
    other_key = url.replace("users/alice/a.txt", "users/alice/b.txt")
    assert requests.get(other_key, timeout=10).status_code == 403


def test_keys_the_local_sts_never_issued_are_refused(service, local_cos):
    keys = mint(service, body={"profile": "upload"})
    keys["credentials"]["tmpSecretId"] = "AKIDEMULATOR" + "0" * 24
    error = refused(client(local_cos, keys).put_object, Bucket=BUCKET, Key="users/alice/a",
                    Body=b"x")  # fmt: skip
    assert (error.get_status_code(), error.get_error_code()) == (403, "InvalidAccessKeyId")


def test_expired_keys_get_coss_expired_token_code(service, emulator):
    import time as real_time

    from sts_tools.emulators.cos.server import CosEmulator
    from tests.support import REGION

    offset = [0.0]
    with CosEmulator(emulator.keyring, bucket=BUCKET, region=REGION, log=lambda _: None,
                     clock=lambda: real_time.time() + offset[0]) as cos_server:  # fmt: skip
        keys = mint(service, body={"profile": "upload", "durationSeconds": 900})
        cos = client(cos_server, keys)
        cos.put_object(Bucket=BUCKET, Key="users/alice/a.txt", Body=b"x")
        offset[0] = keys["expiredTime"] - real_time.time() + 1  # one second past expiry
        error = refused(cos.put_object, Bucket=BUCKET, Key="users/alice/b.txt", Body=b"x")
        assert (error.get_status_code(), error.get_error_code()) == (400, "ExpiredToken")
