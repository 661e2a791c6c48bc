"""What the local COS keeps beside an object's bytes, through cos-python-sdk-v5: the stored
headers (Cache-Control, Content-Disposition, Content-Encoding, Expires) come back, an upload
without a type gets the one its extension names, x-cos-traffic-limit is accepted, and a
chunked stream is refused by a size-capped profile with the reason."""

from __future__ import annotations

import io
import mimetypes
import os

import pytest

from sts_tools.emulators.cos.object_meta import DEFAULT_TYPE, TYPES, content_type
from tests.support import BUCKET
from tests.support.cos import client, form_upload, last_record, mint, refused

MIB = 1024 * 1024
STORED = {
    "Cache-Control": "max-age=600", "Content-Disposition": 'attachment; filename="r.pdf"',
    "Content-Encoding": "gzip", "Expires": "Wed, 21 Oct 2037 07:28:00 GMT",
}  # fmt: skip


def test_stored_headers_come_back_on_get_and_head(service, local_cos):
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    cos.put_object(
        Bucket=BUCKET, Key="users/alice/r.pdf", Body=b"%PDF", CacheControl=STORED["Cache-Control"],
        ContentDisposition=STORED["Content-Disposition"], ContentEncoding="gzip",
        Expires=STORED["Expires"],
    )  # fmt: skip
    for answer in (cos.head_object(Bucket=BUCKET, Key="users/alice/r.pdf"),
                   cos.get_object(Bucket=BUCKET, Key="users/alice/r.pdf")):  # fmt: skip
        assert {name: answer[name] for name in STORED} == STORED
        assert answer["Content-Type"] == "application/pdf"  # none sent: from the extension


def test_an_object_without_cache_control_gets_the_local_default_only(emulator, service, local_cos):
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    cos.put_object(Bucket=BUCKET, Key="users/alice/a.txt", Body=b"a")
    assert cos.head_object(Bucket=BUCKET, Key="users/alice/a.txt")["Cache-Control"] == "no-store"
    from sts_tools.emulators.cos.server import CosEmulator

    with CosEmulator(emulator.keyring, log=lambda _: None, unset_cache_control=None) as bare:
        bare.store.put_object(bare.bucket.name, "users/alice/a.txt", b"a")
        keys = mint(service, body={"profile": "read-write"})
        head = client(bare, keys, mode="domain").head_object(Bucket=BUCKET, Key="users/alice/a.txt")
        assert "Cache-Control" not in head  # as COS: nothing the object did not store


def test_a_form_upload_stores_its_header_fields(service, local_cos):
    keys = mint(service, body={"profile": "read-write"})
    response = form_upload(
        local_cos, keys, "users/alice/f.bin", b"x", extra={"Cache-Control": "max-age=5"}
    )
    assert response.status_code == 204, response.text
    stored = local_cos.store.get_object(BUCKET, "users/alice/f.bin")
    assert dict(stored.headers) == {"Cache-Control": "max-age=5"}


def test_types_are_inferred_as_cos_does(service, local_cos, tmp_path):
    """The two answers observed from COS: `2.zip` application/zip, a multipart `1.txt`
    text/plain; a type that is sent always wins."""
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    cos.put_object(Bucket=BUCKET, Key="users/alice/2.zip", Body=b"PK")
    path = tmp_path / "1.txt"
    path.write_bytes(os.urandom(int(2.5 * MIB)))
    cos.upload_file(Bucket=BUCKET, Key="users/alice/1.txt", LocalFilePath=str(path), PartSize=1)
    cos.put_object(Bucket=BUCKET, Key="users/alice/3.zip", Body=b"PK", ContentType="text/plain")
    types = {o.key: o.content_type for o in local_cos.store.objects(BUCKET)}
    assert types == {"users/alice/1.txt": "text/plain", "users/alice/2.zip": "application/zip",
                     "users/alice/3.zip": "text/plain"}  # fmt: skip
    assert local_cos.store.get_object(BUCKET, "users/alice/1.txt").etag.endswith("-3")


def test_the_type_table_agrees_with_pythons_own_defaults():
    """Oracle: mimetypes' built-in table (never the host's mime.types files), wherever it
    knows the extension; ours only adds extensions it lacks."""
    builtin = mimetypes.MimeTypes().types_map[True]
    known = {ext: TYPES[ext] for ext in TYPES if "." + ext in builtin}
    assert len(known) > 25
    assert known == {ext: builtin["." + ext] for ext in known}


@pytest.mark.parametrize(
    ("key", "given", "expected"),
    [
        ("a/b.ZIP", None, "application/zip"), ("a/.zip", None, DEFAULT_TYPE),
        ("a/zip", "", DEFAULT_TYPE), ("a.b/c", None, DEFAULT_TYPE),
        ("x.unknownext", None, DEFAULT_TYPE), ("x.zip", "image/png", "image/png"),
    ],
)  # fmt: skip
def test_content_type_edges(key, given, expected):
    assert content_type(key, given) == expected


def test_traffic_limit_is_accepted(service, local_cos, tmp_path):
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    cos.put_object(Bucket=BUCKET, Key="users/alice/t.bin", Body=b"x", TrafficLimit="819200")
    path = tmp_path / "t2.bin"
    path.write_bytes(os.urandom(int(2.5 * MIB)))
    cos.upload_file(Bucket=BUCKET, Key="users/alice/t2.bin", LocalFilePath=str(path), PartSize=1,
                    TrafficLimit="819200")  # fmt: skip
    assert local_cos.store.get_object(BUCKET, "users/alice/t2.bin").body == path.read_bytes()


def test_a_chunked_stream_is_refused_by_a_size_capped_profile_with_the_reason(service, local_cos):
    cos = client(local_cos, mint(service, body={"profile": "upload"}))

    def chunks():
        yield b"streamed "
        yield b"without a length"

    error = refused(cos.put_object, Bucket=BUCKET, Key="users/alice/s.bin", Body=chunks())
    assert error.get_status_code() == 403
    reason = last_record(local_cos)["reason"]
    assert "no Content-Length" in reason
    assert "pass ContentLength" in reason
    # With the length, the same stream goes through.
    body = io.BytesIO(b"streamed with a length")
    cos.put_object(Bucket=BUCKET, Key="users/alice/s.bin", Body=body, ContentLength="22")
    assert local_cos.store.get_object(BUCKET, "users/alice/s.bin").body == b"streamed with a length"
