"""Upload keys pin the ACL and the storage class: no public ACL, no archive class
(unless the profile allows it), through the official SDK and a form upload
against the local COS."""

from __future__ import annotations

from tests.support import (
    BUCKET,
    make_env,
    make_service,
    shipped_config,
)
from tests.support.cos import client, form_upload, last_record, mint, refused
from tests.support.refusals import refused_config


def test_upload_keys_cannot_publish_or_archive(service, local_cos):
    cos = client(local_cos, mint(service, body={"profile": "upload"}))
    key = "users/alice/photo.jpg"
    assert cos.put_object(Bucket=BUCKET, Key=key, Body=b"plain")["ETag"]
    cos.put_object(Bucket=BUCKET, Key=key, Body=b"private", ACL="private")
    cos.put_object(Bucket=BUCKET, Key=key, Body=b"std", StorageClass="STANDARD")
    for kwargs in ({"ACL": "public-read"}, {"ACL": "public-read-write"},
                   {"StorageClass": "DEEP_ARCHIVE"}, {"StorageClass": "ARCHIVE"}):  # fmt: skip
        error = refused(cos.put_object, Bucket=BUCKET, Key=key, Body=b"x", **kwargs)
        assert error.get_status_code() == 403
        assert "x-cos-" in last_record(local_cos)["reason"]
    error = refused(cos.create_multipart_upload, Bucket=BUCKET, Key=key, ACL="public-read")
    assert error.get_status_code() == 403
    assert local_cos.store.get_object(BUCKET, key).body == b"std"


def test_form_uploads_cannot_publish_or_archive_either(service, local_cos):
    keys = mint(service, body={"profile": "upload"})
    ok = form_upload(local_cos, keys, "users/alice/f.txt", b"f", extra={"acl": "private"})
    assert ok.status_code == 204, ok.text
    for extra in ({"acl": "public-read"}, {"x-cos-storage-class": "DEEP_ARCHIVE"}):
        response = form_upload(local_cos, keys, "users/alice/g.txt", b"g", extra=extra)
        assert response.status_code == 403, extra


def test_a_profile_may_allow_other_storage_classes(emulator, local_cos):
    document = shipped_config()
    document["profiles"]["upload"]["storage_classes"] = ["STANDARD", "STANDARD_IA"]
    service = make_service(make_env(emulator.endpoint), document)
    cos = client(local_cos, mint(service, body={"profile": "upload"}))
    cos.put_object(Bucket=BUCKET, Key="users/alice/ia", Body=b"ia", StorageClass="STANDARD_IA")
    assert refused(
        cos.put_object, Bucket=BUCKET, Key="users/alice/a", Body=b"a", StorageClass="ARCHIVE"
    )
    document["profiles"]["upload"]["storage_classes"] = ["GLACIER"]
    assert refused_config(document).key == "profiles.upload.storage_classes[0]"
