"""PUT Object - Copy and Upload Part - Copy through cos-python-sdk-v5, with keys from the
handler: the destination needs the write (PutObject / UploadPart), the source GetObject
(docs/tencent/cam-policy.md §1), and another user's object never lands in your folder."""

from __future__ import annotations

import itertools

import pytest

from sts_tools.emulators.cos.errors import CosError
from sts_tools.emulators.cos.request import copy_range
from tests.support import BUCKET, REGION, shipped_config
from tests.support.cos import client, last_record, mint, refused, sign

MIB = 1024 * 1024


def source(key):
    return {"Bucket": BUCKET, "Region": REGION, "Key": key}


def test_copy_inside_the_users_folder_keeps_type_metadata_and_headers(service, local_cos):
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    cos.put_object(
        Bucket=BUCKET, Key="users/alice/a.txt", Body=b"copy me", ContentType="text/x-note",
        CacheControl="max-age=60", ContentDisposition="attachment", Metadata={"x-cos-meta-k": "v"},
    )  # fmt: skip
    answer = cos.copy_object(
        Bucket=BUCKET, Key="users/alice/b.txt", CopySource=source("users/alice/a.txt")
    )
    assert (
        answer["ETag"] == '"' + local_cos.store.get_object(BUCKET, "users/alice/a.txt").etag + '"'
    )
    assert answer["LastModified"].endswith("Z")  # CopyObjectResult, parsed by the SDK
    head = cos.head_object(Bucket=BUCKET, Key="users/alice/b.txt")
    assert head["Content-Type"] == "text/x-note"
    assert head["Cache-Control"] == "max-age=60"
    assert head["Content-Disposition"] == "attachment"
    assert head["x-cos-meta-k"] == "v"
    assert (
        cos.get_object(Bucket=BUCKET, Key="users/alice/b.txt")["Body"].get_raw_stream().read()
        == b"copy me"
    )


def test_metadata_directive_replaced_takes_the_requests(service, local_cos):
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    cos.put_object(
        Bucket=BUCKET, Key="users/alice/a.bin", Body=b"x", Metadata={"x-cos-meta-old": "1"}
    )
    cos.copy_object(
        Bucket=BUCKET, Key="users/alice/a.zip", CopySource=source("users/alice/a.bin"),
        CopyStatus="Replaced", Metadata={"x-cos-meta-new": "2"}, ContentDisposition="inline",
    )  # fmt: skip
    stored = local_cos.store.get_object(BUCKET, "users/alice/a.zip")
    assert stored.metadata == {"x-cos-meta-new": "2"}
    assert dict(stored.headers) == {"Content-Disposition": "inline"}
    assert stored.content_type == "application/zip"  # inferred from the new key
    # The SDK itself refuses another directive; signed by its signer, the local COS does too.
    copy_source = f"{BUCKET}.cos.{REGION}.myqcloud.com/users/alice/a.bin"
    keys = mint(service, body={"profile": "read-write"})
    sideways = {"x-cos-copy-source": copy_source, "x-cos-metadata-directive": "Sideways"}
    response = local_cos.handle(*sign(keys, "PUT", "users/alice/c", headers=sideways))
    assert (response.status, last_record(local_cos)["code"]) == (400, "InvalidArgument")


def test_copying_another_users_object_into_your_folder_is_refused(service, local_cos):
    local_cos.store.put_object(BUCKET, "users/bob/secret.txt", b"bob's")
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    error = refused(cos.copy_object, Bucket=BUCKET, Key="users/alice/stolen.txt",
                    CopySource=source("users/bob/secret.txt"))  # fmt: skip
    assert (error.get_status_code(), error.get_error_code()) == (403, "AccessDenied")
    record = last_record(local_cos)
    assert (record["api"], record["decision"]) == ("PutObjectCopy", "deny")
    assert "source users/bob/secret.txt" in record["reason"]
    with pytest.raises(Exception, match="NoSuchKey"):
        local_cos.store.get_object(BUCKET, "users/alice/stolen.txt")


def test_copying_out_of_your_folder_is_refused_on_the_destination(service, local_cos):
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    cos.put_object(Bucket=BUCKET, Key="users/alice/a.txt", Body=b"x")
    error = refused(cos.copy_object, Bucket=BUCKET, Key="users/bob/planted.txt",
                    CopySource=source("users/alice/a.txt"))  # fmt: skip
    assert error.get_status_code() == 403
    assert [o.key for o in local_cos.store.objects(BUCKET)] == ["users/alice/a.txt"]


def test_a_copy_needs_read_on_the_source(service, local_cos):
    """The upload profile writes but cannot read: a copy inside its own folder is refused."""
    local_cos.store.put_object(BUCKET, "users/alice/a.txt", b"x")
    cos = client(local_cos, mint(service, body={"profile": "upload"}))
    error = refused(cos.copy_object, Bucket=BUCKET, Key="users/alice/b.txt",
                    CopySource=source("users/alice/a.txt"))  # fmt: skip
    assert error.get_status_code() == 403
    assert "name/cos:GetObject" in last_record(local_cos)["reason"]


def test_upload_part_copy_builds_an_object_from_ranges(service, local_cos):
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    body = bytes(range(256)) * (MIB // 128)  # 2 MiB
    cos.put_object(Bucket=BUCKET, Key="users/alice/src.bin", Body=body)
    upload = cos.create_multipart_upload(Bucket=BUCKET, Key="users/alice/dst.bin")["UploadId"]
    parts = []
    for number, (start, end) in enumerate([(0, MIB - 1), (MIB, len(body) - 1)], start=1):
        answer = cos.upload_part_copy(
            Bucket=BUCKET, Key="users/alice/dst.bin", PartNumber=number, UploadId=upload,
            CopySource=source("users/alice/src.bin"), CopySourceRange=f"bytes={start}-{end}",
        )  # fmt: skip
        assert last_record(local_cos)["api"] == "UploadPartCopy"
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    cos.complete_multipart_upload(Bucket=BUCKET, Key="users/alice/dst.bin", UploadId=upload,
                                  MultipartUpload={"Part": parts})  # fmt: skip
    assert local_cos.store.get_object(BUCKET, "users/alice/dst.bin").body == body


def test_upload_part_copy_of_another_users_object_is_refused_and_stores_nothing(service, local_cos):
    local_cos.store.put_object(BUCKET, "users/bob/src.bin", b"bob" * 1000)
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    upload = cos.create_multipart_upload(Bucket=BUCKET, Key="users/alice/dst.bin")["UploadId"]
    error = refused(cos.upload_part_copy, Bucket=BUCKET, Key="users/alice/dst.bin", PartNumber=1,
                    UploadId=upload, CopySource=source("users/bob/src.bin"),
                    CopySourceRange="bytes=0-9")  # fmt: skip
    assert (error.get_status_code(), error.get_error_code()) == (403, "AccessDenied")
    assert last_record(local_cos)["api"] == "UploadPartCopy"  # never a plain UploadPart
    parts, _ = local_cos.store.list_parts(BUCKET, "users/alice/dst.bin", upload)
    assert parts == []


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, (0, 9)), ("bytes=0-9", 10, (0, 9)), ("bytes=3-3", 10, (3, 3)),
        ("bytes=0-10", 10, "InvalidRange"), ("bytes=5-4", 10, "InvalidArgument"),
        ("bytes=-5", 10, "InvalidArgument"), ("bytes=5-", 10, "InvalidArgument"),
        ("bytes=+1-2", 10, "InvalidArgument"), ("items=0-1", 10, "InvalidArgument"),
        ("bytes=0-1,3-4", 10, "InvalidArgument"), (None, 0, "InvalidRange"),
    ],
)  # fmt: skip
def test_copy_source_range_table(header, size, expected):
    if isinstance(expected, tuple):
        assert copy_range(header, size) == expected
    else:
        with pytest.raises(CosError) as raised:
            copy_range(header, size)
        assert raised.value.code == expected


# -- the copy's CAM rule over a table, against an oracle written from the docs alone ---

# Profiles that give keys (a tickets_only profile answers a keys request 403).
PROFILES = sorted(n for n, p in shipped_config()["profiles"].items() if not p.get("tickets_only"))
KEYS = [
    "users/alice/a.txt",
    "users/alice/deep/b.txt",
    "users/bob/a.txt",
    "users/alice2/a.txt",
    "a.txt",
]


def oracle(profile, source_key, destination):
    """docs/tencent/cam-policy.md §1: PutObject on the destination, GetObject on the
    source; a shipped profile grants its actions on users/alice/ only."""
    actions = shipped_config()["profiles"][profile]["actions"]
    own = lambda key: key.startswith("users/alice/")  # noqa: E731
    return ("name/cos:PutObject" in actions and own(destination)
            and "name/cos:GetObject" in actions and own(source_key))  # fmt: skip


@pytest.mark.parametrize("profile", PROFILES)
def test_copy_verdicts_match_the_oracle_over_a_table(service, local_cos, profile):
    keys = mint(service, body={"profile": profile})
    for key in KEYS:
        local_cos.store.put_object(BUCKET, key, b"seed")
    wrong = []
    for source_key, destination in itertools.product(KEYS, KEYS):
        copy_source = f"{BUCKET}.cos.{REGION}.myqcloud.com/{source_key}"
        request = sign(keys, "PUT", destination, headers={"x-cos-copy-source": copy_source})
        status = local_cos.handle(*request).status
        if (status == 200) != oracle(profile, source_key, destination):
            wrong.append((source_key, destination, status, last_record(local_cos)["reason"]))
    assert wrong == []


def test_under_the_put_object_copy_reading_our_keys_cannot_copy(emulator, service):
    """The other reading of the destination's action (docs/local-stack.md): no profile can
    grant PutObjectCopy, so every copy is refused, and nothing is written."""
    from sts_tools.emulators.cos.server import CosEmulator

    with CosEmulator(emulator.keyring, bucket=BUCKET, region=REGION, log=lambda _: None,
                     copy_action="name/cos:PutObjectCopy") as cos:  # fmt: skip
        cos.store.put_object(BUCKET, "users/alice/a.txt", b"x")
        keys = mint(service, body={"profile": "read-write"})
        error = refused(client(cos, keys).copy_object, Bucket=BUCKET, Key="users/alice/b.txt",
                        CopySource=source("users/alice/a.txt"))  # fmt: skip
        assert error.get_status_code() == 403
        assert "name/cos:PutObjectCopy" in cos.records[-1].reason
        assert [o.key for o in cos.store.objects(BUCKET)] == ["users/alice/a.txt"]
