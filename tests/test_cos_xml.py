"""COS documents (sts_tools/emulators/cos/cosxml.py, errors.error_xml) and the
CompleteMultipartUpload parser.

The oracle for every result document is cos-python-sdk-v5 itself: its client
methods run unchanged, with only `send_request` replaced by an in-process
stand-in that answers from a CosStore through cosxml. So the SDK builds the
requests (including the CompleteMultipartUpload body) and parses our bytes with
its own `xml_to_dict`, `format_dict` and `decode_result`.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

import pytest
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_comm import dict_to_xml, xml_to_dict
from qcloud_cos.cos_exception import CosServiceError

from sts_tools.emulators.cos import cosxml, errors
from sts_tools.emulators.cos.errors import error_xml
from sts_tools.emulators.cos.store import CosStore, ListPage, Part, StoredObject, Upload
from tests.support import Clock

B = "examplebucket-1250000000"
PROLOG = b"<?xml version='1.0' encoding='utf-8' ?>"
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
ODD_KEY = "users/alice/a b+c%d&<e>'\"/报告.pdf"


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def parse(document: bytes) -> ET.Element:
    assert document.startswith(PROLOG)
    return ET.fromstring(document)  # noqa: S314 - our own output


def texts(element: ET.Element) -> list[tuple[str, Optional[str]]]:
    return [(child.tag, child.text) for child in element]


# -- an in-process COS for the SDK ---------------------------------------------------


class Reply:
    def __init__(self, content: bytes = b"", headers: Optional[dict[str, str]] = None) -> None:
        self.content = content
        self.headers = headers or {}
        self.status_code = 200


class FakeCos:
    """Answers CosS3Client.send_request from a store, rendering with cosxml."""

    def __init__(self, store: CosStore) -> None:
        self.store = store
        self.calls: list[str] = []

    def __call__(self, method: str, url: str, bucket: Any = None, **kwargs: Any) -> Reply:
        raw = kwargs.get("params") or {}
        params = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in raw.items()}
        key = unquote(urlsplit(url).path)[1:]
        body = kwargs.get("data") or b""
        body = body.read() if hasattr(body, "read") else body
        encoding = params.get("encoding-type", "")
        if method == "POST" and "uploads" in params:
            self.calls.append("InitiateMultipartUpload")
            upload_id = self.store.initiate_multipart_upload(B, key)
            return Reply(cosxml.initiate_result(B, key, upload_id))
        if method == "PUT" and "partNumber" in params:
            self.calls.append("UploadPart")
            number = int(params["partNumber"])
            etag = self.store.upload_part(B, key, params["uploadId"], number, body)
            return Reply(headers={"ETag": f'"{etag}"'})
        if method == "PUT":
            self.calls.append("PutObject")
            return Reply(headers={"ETag": f'"{self.store.put_object(B, key, body).etag}"'})
        if method == "POST" and "uploadId" in params:
            self.calls.append("CompleteMultipartUpload")
            parts = cosxml.parse_complete(body)
            stored = self.store.complete_multipart_upload(B, key, params["uploadId"], parts)
            location = f"{B}.cos.ap-guangzhou.myqcloud.com/{key}"
            return Reply(cosxml.complete_result(location, B, key, stored.etag))
        if method == "GET" and "uploadId" in params:
            self.calls.append("ListParts")
            marker = int(params.get("part-number-marker") or 0)
            max_parts = int(params.get("max-parts") or 1000)
            upload_id = params["uploadId"]
            parts, more = self.store.list_parts(B, key, upload_id, marker, max_parts)
            document = cosxml.list_parts_result(
                B, key, upload_id, parts, marker, max_parts, more, encoding
            )
            return Reply(document)
        if method == "GET" and "uploads" in params:
            self.calls.append("ListMultipartUploads")
            prefix = params.get("prefix", "")
            uploads = self.store.list_multipart_uploads(B, prefix)
            return Reply(cosxml.list_uploads_result(B, prefix, uploads, encoding))
        if method == "GET" and not key:
            self.calls.append("GetBucket")
            prefix, delimiter = params.get("prefix", ""), params.get("delimiter", "")
            marker, max_keys = params.get("marker", ""), int(params.get("max-keys") or 1000)
            page = self.store.list_objects(B, prefix, delimiter, marker, max_keys)
            document = cosxml.list_bucket_result(
                B, prefix, marker, max_keys, delimiter, page, encoding
            )
            return Reply(document)
        raise AssertionError(f"the SDK sent an unexpected {method} {url} {params}")


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def store(clock: Clock) -> CosStore:
    return CosStore(clock=clock, min_part_size=4)


@pytest.fixture
def cos(store: CosStore) -> FakeCos:
    return FakeCos(store)


@pytest.fixture
def client(cos: FakeCos, monkeypatch: pytest.MonkeyPatch) -> CosS3Client:
    sdk = CosS3Client(CosConfig(Region="ap-guangzhou", SecretId="AKIDEXAMPLE", SecretKey="SK"))
    monkeypatch.setattr(sdk, "send_request", cos)
    return sdk


# -- result documents ------------------------------------------------------------------


DOCUMENTS = {
    "initiate": lambda: cosxml.initiate_result(B, "k", "id"),
    "complete": lambda: cosxml.complete_result("loc", B, "k", "e-2"),
    "post": lambda: cosxml.post_result("loc", B, "k", "e"),
    "parts": lambda: cosxml.list_parts_result(B, "k", "id", [], 0, 1000, False),
    "uploads": lambda: cosxml.list_uploads_result(B, "", []),
    "bucket": lambda: cosxml.list_bucket_result(B, "", "", 1000, "", ListPage([], [], False, "")),
    "error": lambda: error_xml(errors.AccessDenied(), "host/k", "rid"),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_document_starts_with_the_cos_prolog(name):
    document = DOCUMENTS[name]()
    assert document.startswith(PROLOG + b"<")
    assert parse(document) is not None


def test_initiate_result_shape_and_sdk_upload_id(client, cos):
    root = parse(cosxml.initiate_result(B, ODD_KEY, "1700000000abc"))
    assert root.tag == "InitiateMultipartUploadResult"
    assert texts(root) == [("Bucket", B), ("Key", ODD_KEY), ("UploadId", "1700000000abc")]
    response = client.create_multipart_upload(Bucket=B, Key=ODD_KEY)
    assert response["Bucket"] == B
    assert response["Key"] == ODD_KEY
    assert cos.store.list_multipart_uploads(B)[0].upload_id == response["UploadId"]


def test_complete_result_quotes_the_etag():
    root = parse(cosxml.complete_result("h/k", B, "k", "0123abcd-3"))
    assert root.tag == "CompleteMultipartUploadResult"
    assert texts(root) == [
        ("Location", "h/k"),
        ("Bucket", B),
        ("Key", "k"),
        ("ETag", '"0123abcd-3"'),
    ]


def test_post_result_shape():
    root = parse(cosxml.post_result("http://h/k", B, "k", "abc"))
    assert root.tag == "PostResponse"
    assert texts(root) == [
        ("Location", "http://h/k"),
        ("Bucket", B),
        ("Key", "k"),
        ("ETag", '"abc"'),
    ]


def test_sdk_multipart_round_trip(client, cos):
    upload_id = client.create_multipart_upload(Bucket=B, Key=ODD_KEY)["UploadId"]
    bodies = [b"aaaa", b"bbbbb", b"c"]
    listed = []
    for number, body in enumerate(bodies, 1):
        reply = client.upload_part(
            Bucket=B, Key=ODD_KEY, Body=body, PartNumber=number, UploadId=upload_id
        )
        listed.append({"PartNumber": number, "ETag": reply["ETag"]})
    # The SDK writes the CompleteMultipartUpload body; parse_complete reads it.
    response = client.complete_multipart_upload(
        Bucket=B, Key=ODD_KEY, UploadId=upload_id, MultipartUpload={"Part": listed}
    )
    digests = b"".join(hashlib.md5(body, usedforsecurity=False).digest() for body in bodies)
    assert response["ETag"] == f'"{md5(digests)}-3"'
    assert response["Key"] == ODD_KEY
    assert cos.store.get_object(B, ODD_KEY).body == b"aaaabbbbbc"


def test_list_parts_fields_the_sdk_reads(client, cos, clock):
    upload_id = cos.store.initiate_multipart_upload(B, ODD_KEY)
    clock.now = T0 + 0.25
    cos.store.upload_part(B, ODD_KEY, upload_id, 1, b"one")
    clock.now = T0 + 60
    cos.store.upload_part(B, ODD_KEY, upload_id, 2, b"two!")
    response = client.list_parts(Bucket=B, Key=ODD_KEY, UploadId=upload_id)
    assert response["Key"] == ODD_KEY  # sent URL-encoded, unquoted by the SDK
    assert response["UploadId"] == upload_id
    assert response["IsTruncated"] == "false"
    assert response["Part"] == [
        {"PartNumber": "1", "LastModified": "2023-11-14T22:13:20.250Z",
         "ETag": f'"{md5(b"one")}"', "Size": "3"},
        {"PartNumber": "2", "LastModified": "2023-11-14T22:14:20.000Z",
         "ETag": f'"{md5(b"two!")}"', "Size": "4"},
    ]  # fmt: skip


def test_list_parts_single_part_and_paging_markers(client, cos):
    upload_id = cos.store.initiate_multipart_upload(B, "k")
    for number in (1, 2, 3):
        cos.store.upload_part(B, "k", upload_id, number, b"x")
    page = client.list_parts(Bucket=B, Key="k", UploadId=upload_id, MaxParts=1, PartNumberMarker=1)
    assert [part["PartNumber"] for part in page["Part"]] == ["2"]  # one part: still a list
    assert (page["IsTruncated"], page["PartNumberMarker"], page["NextPartNumberMarker"]) == (
        "true",
        "1",
        "2",
    )
    assert page["MaxParts"] == "1"
    last = client.list_parts(Bucket=B, Key="k", UploadId=upload_id, PartNumberMarker=3)
    assert "Part" not in last
    assert last["IsTruncated"] == "false"


def test_list_parts_with_explicit_url_encoding_leaves_the_key_encoded(client, cos):
    upload_id = cos.store.initiate_multipart_upload(B, ODD_KEY)
    response = client.list_parts(Bucket=B, Key=ODD_KEY, UploadId=upload_id, EncodingType="url")
    assert response["EncodingType"] == "url"
    assert response["Key"] != ODD_KEY
    assert unquote(response["Key"]) == ODD_KEY


def test_list_uploads_fields_the_sdk_reads(client, cos, clock):
    ids = {}
    for key in (ODD_KEY, "users/alice/z", "users/bob/x"):
        clock.now += 1
        ids[key] = cos.store.initiate_multipart_upload(B, key)
    response = client.list_multipart_uploads(Bucket=B, Prefix="users/alice/")
    assert response["Prefix"] == "users/alice/"
    assert response["IsTruncated"] == "false"
    assert response["Upload"] == [
        {"Key": ODD_KEY, "UploadId": ids[ODD_KEY], "StorageClass": "STANDARD",
         "Initiated": "2023-11-14T22:13:21.000Z"},
        {"Key": "users/alice/z", "UploadId": ids["users/alice/z"], "StorageClass": "STANDARD",
         "Initiated": "2023-11-14T22:13:22.000Z"},
    ]  # fmt: skip
    single = client.list_multipart_uploads(Bucket=B, Prefix="users/bob/")
    assert [upload["Key"] for upload in single["Upload"]] == ["users/bob/x"]
    assert "Upload" not in client.list_multipart_uploads(Bucket=B, Prefix="nobody/")


def test_list_objects_fields_the_sdk_reads(client, cos, clock):
    leaf = ODD_KEY.replace('"/', '"')  # no '/' after the prefix: listed as a key
    for key in (leaf, "users/alice/docs/1", "users/alice/pics & more/2", "users/bob"):
        cos.store.put_object(B, key, key.encode())
    response = client.list_objects(Bucket=B, Prefix="users/alice/", Delimiter="/")
    assert response["Name"] == B
    assert response["Prefix"] == "users/alice/"
    assert response["Delimiter"] == "/"
    assert response["IsTruncated"] == "false"
    assert "NextMarker" not in response
    assert response["Contents"] == [
        {"Key": leaf, "LastModified": "2023-11-14T22:13:20.000Z",
         "ETag": f'"{md5(leaf.encode())}"', "Size": str(len(leaf.encode())),
         "StorageClass": "STANDARD"},
    ]  # fmt: skip
    assert response["CommonPrefixes"] == [
        {"Prefix": "users/alice/docs/"},
        {"Prefix": "users/alice/pics & more/"},
    ]


def test_list_objects_truncation_and_markers_survive_encoding(client, cos):
    keys = ["a b/1", "a+b", "a%b", "z"]
    for key in keys:
        cos.store.put_object(B, key, b"")
    response = client.list_objects(Bucket=B, MaxKeys=2, Marker="a b/0")
    assert [item["Key"] for item in response["Contents"]] == ["a b/1", "a%b"]
    assert (response["IsTruncated"], response["NextMarker"], response["Marker"]) == (
        "true",
        "a%b",
        "a b/0",
    )
    rest = client.list_objects(Bucket=B, Marker=response["NextMarker"])
    assert [item["Key"] for item in rest["Contents"]] == ["a+b", "z"]


def test_list_objects_with_explicit_url_encoding_leaves_keys_encoded(client, cos):
    cos.store.put_object(B, "a b+c/报告", b"")
    response = client.list_objects(Bucket=B, Delimiter="/", EncodingType="url")
    assert response["EncodingType"] == "url"
    (common,) = response["CommonPrefixes"]
    assert common["Prefix"] == "a%20b%2Bc/"
    assert unquote(common["Prefix"]) == "a b+c/"


def test_unencoded_listing_escapes_markup_and_scrubs_what_xml_cannot_carry():
    stored = StoredObject("a&<b>\x01", b"", md5(b""), "", T0, {})
    document = cosxml.list_bucket_result(
        B, "a&<", "", 10, "", ListPage([stored], ["a&<p>/"], False, "")
    )
    assert b"a&amp;&lt;b&gt;" in document
    data = xml_to_dict(document)
    assert data["Contents"]["Key"] == "a&<b>\ufffd"
    assert data["CommonPrefixes"]["Prefix"] == "a&<p>/"
    assert data["Prefix"] == "a&<"
    assert "EncodingType" not in data


def test_next_marker_only_when_truncated_and_encoded():
    page = ListPage([], ["a b/"], True, "a b/")
    root = parse(cosxml.list_bucket_result(B, "", "", 1, "/", page, "url"))
    assert texts(root)[:7] == [
        ("Name", B),
        ("EncodingType", "url"),
        ("Prefix", None),
        ("Marker", None),
        ("MaxKeys", "1"),
        ("Delimiter", "/"),
        ("IsTruncated", "true"),
    ]
    assert root.findtext("NextMarker") == "a%20b/"
    assert root.findtext("CommonPrefixes/Prefix") == "a%20b/"


@pytest.mark.parametrize(
    "render",
    [
        lambda enc: cosxml.list_bucket_result(B, "", "", 1, "", ListPage([], [], False, ""), enc),
        lambda enc: cosxml.list_uploads_result(B, "", [], enc),
        lambda enc: cosxml.list_parts_result(B, "k", "id", [], 0, 1, False, enc),
    ],
    ids=["bucket", "uploads", "parts"],
)
def test_an_unknown_encoding_type_is_invalid_argument(render):
    assert render("url")
    with pytest.raises(errors.InvalidArgument):
        render("base64")


def test_list_parts_next_marker_is_the_last_part_or_the_marker():
    parts = [Part(4, "e4", 1, T0), Part(7, "e7", 1, T0)]
    root = parse(cosxml.list_parts_result(B, "k", "id", parts, 3, 2, True))
    assert (root.findtext("PartNumberMarker"), root.findtext("NextPartNumberMarker")) == ("3", "7")
    root = parse(cosxml.list_parts_result(B, "k", "id", [], 9, 2, False))
    assert root.findtext("NextPartNumberMarker") == "9"


def test_list_uploads_next_markers():
    uploads = [Upload("a b", "id1", T0), Upload("c", "id2", T0)]
    root = parse(cosxml.list_uploads_result(B, "", uploads, "url"))
    assert (root.findtext("NextKeyMarker"), root.findtext("NextUploadIdMarker")) == ("c", "id2")


@pytest.mark.parametrize(
    ("timestamp", "text"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (T0, "2023-11-14T22:13:20.000Z"),
        (T0 + 0.5, "2023-11-14T22:13:20.500Z"),
        (1.001, "1970-01-01T00:00:01.001Z"),  # 1.001 * 1000 is 1000.999...: not floored
        (T0 + 0.9996, "2023-11-14T22:13:21.000Z"),  # rounds into the next second
    ],
)
def test_iso_time(timestamp, text):
    assert cosxml.iso_time(timestamp) == text


# -- the SDK's resumable upload logic over our documents ---------------------------------


def test_sdk_finds_the_newest_upload_for_exactly_its_key(client, cos, clock):
    cos.store.initiate_multipart_upload(B, "big.bin")
    newest = cos.store.initiate_multipart_upload(B, "big.bin")
    clock.now += 1
    cos.store.initiate_multipart_upload(B, "big.bin.old")
    assert client._get_resumable_uploadid(B, "big.bin") == newest


def test_sdk_accepts_our_parts_page_by_page(client, cos, tmp_path):
    data = bytes(index % 251 for index in range(1001))
    path = tmp_path / "f"
    path.write_bytes(data)
    upload_id = cos.store.initiate_multipart_upload(B, "k")
    for number in range(1, 1002):  # one more than a page: NextPartNumberMarker is followed
        cos.store.upload_part(B, "k", upload_id, number, data[number - 1 : number])
    found: dict[int, str] = {}
    assert client._check_all_upload_parts(B, "k", upload_id, str(path), 1001, 1, 1, found)
    assert cos.calls.count("ListParts") == 2
    assert len(found) == 1001
    assert found[1001] == f'"{md5(data[-1:])}"'
    cos.store.upload_part(B, "k", upload_id, 500, b"?")
    assert not client._check_all_upload_parts(B, "k", upload_id, str(path), 1001, 1, 1, {})


def test_sdk_upload_file_resumes_an_upload_it_finds(tmp_path, monkeypatch, clock):
    store = CosStore(clock=clock)  # the real 1 MiB minimum part size
    cos = FakeCos(store)
    sdk = CosS3Client(CosConfig(Region="ap-guangzhou", SecretId="AKIDEXAMPLE", SecretKey="SK"))
    monkeypatch.setattr(sdk, "send_request", cos)
    mib = 1024 * 1024
    data = bytes(index % 253 for index in range(2 * mib + 100))
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    upload_id = store.initiate_multipart_upload(B, "big.bin")
    store.upload_part(B, "big.bin", upload_id, 1, data[:mib])

    response = sdk.upload_file(Bucket=B, Key="big.bin", LocalFilePath=str(path), PartSize=1)

    assert cos.calls.count("InitiateMultipartUpload") == 0
    assert cos.calls.count("UploadPart") == 2  # part 1 was reused
    stored = store.get_object(B, "big.bin")
    assert stored.body == data
    assert response["ETag"] == f'"{stored.etag}"'
    assert stored.etag.endswith("-3")


# -- CompleteMultipartUpload bodies ---------------------------------------------------------


def test_parse_complete_reads_the_sdk_body():
    parts = [{"PartNumber": n, "ETag": f'"{md5(str(n).encode())}"'} for n in (1, 2, 10_000)]
    assert cosxml.parse_complete(dict_to_xml({"Part": parts})) == [
        (n, f'"{md5(str(n).encode())}"') for n in (1, 2, 10_000)
    ]


def test_the_sdk_body_for_10000_parts_fits_the_limit():
    parts = [{"PartNumber": n, "ETag": f'"{md5(str(n).encode())}"'} for n in range(1, 10_001)]
    body = dict_to_xml({"Part": parts})
    assert len(body) < cosxml.MAX_COMPLETE_BODY
    assert len(cosxml.parse_complete(body)) == 10_000


ACCEPTED = {
    "compact": b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
    b"<ETag>abc</ETag></Part></CompleteMultipartUpload>",
    "pretty, declared, quoted": b"""<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUpload>
  <Part>
    <PartNumber> 1 </PartNumber>
    <ETag>&quot;abc&quot;</ETag>
  </Part>
</CompleteMultipartUpload>
""",
    "etag first, comment, bom": b"\xef\xbb\xbf<CompleteMultipartUpload><!-- c --><Part>"
    b"<ETag>abc</ETag><PartNumber>01</PartNumber></Part></CompleteMultipartUpload>",
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_parse_complete_accepts(name):
    assert cosxml.parse_complete(ACCEPTED[name]) in ([(1, "abc")], [(1, '"abc"')])


def wrap(parts: str) -> bytes:
    return f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()


def part(number: str = "1", etag: str = "abc") -> str:
    return f"<Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>"


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&lol3;</ETag></Part>
</CompleteMultipartUpload>"""

REFUSED = {
    "empty": b"",
    "not xml": b"PartNumber=1&ETag=abc",
    "unclosed": wrap(part())[:-5],
    "two roots": wrap(part()) + wrap(part()),
    "wrong root": part().encode(),
    "namespaced root": b'<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    + part().encode()
    + b"</CompleteMultipartUpload>",
    "root attribute": b'<CompleteMultipartUpload a="1">'
    + part().encode()
    + b"</CompleteMultipartUpload>",
    "text in root": wrap("text" + part()),
    "text after a part": wrap(part() + "text"),
    "no parts": wrap(""),
    "foreign element": wrap(part() + "<Foo/>"),
    "part attribute": wrap(part().replace("<Part>", '<Part n="1">')),
    "part without etag": wrap("<Part><PartNumber>1</PartNumber></Part>"),
    "part without number": wrap("<Part><ETag>abc</ETag></Part>"),
    "repeated number": wrap(
        "<Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber><ETag>abc</ETag></Part>"
    ),
    "extra field": wrap(part().replace("</Part>", "<Size>1</Size></Part>")),
    "nested in etag": wrap(part(etag="<b>abc</b>")),
    "text in part": wrap(part().replace("</Part>", "x</Part>")),
    "number with decimals": wrap(part("1.5")),
    "negative number": wrap(part("-1")),
    "signed number": wrap(part("+1")),
    "empty number": wrap(part("")),
    "underscore number": wrap(part("1_0")),
    "arabic-indic number": wrap(part("\u0661")),
    "huge number": wrap(part("1" * 11)),
    "doctype": LAUGHS,
    "utf-16": wrap(part()).decode().encode("utf-16"),
    "latin-1": b'<?xml version="1.0" encoding="latin-1"?>'
    + wrap(part(etag="\xe9")).replace(b"\xc3\xa9", b"\xe9"),
    "10001 parts": wrap("".join(part(str(n)) for n in range(1, 10_002))),
    "over 1 MiB": wrap(part() + " " * cosxml.MAX_COMPLETE_BODY),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_parse_complete_refuses(name):
    with pytest.raises(errors.MalformedXML) as raised:
        cosxml.parse_complete(REFUSED[name])
    assert raised.value.status == 400


def test_the_size_limit_is_exactly_1_mib():
    room = cosxml.MAX_COMPLETE_BODY - len(wrap(part()))
    padded = wrap(part() + " " * room)
    assert len(padded) == cosxml.MAX_COMPLETE_BODY
    assert cosxml.parse_complete(padded) == [(1, "abc")]
    with pytest.raises(errors.MalformedXML):
        cosxml.parse_complete(wrap(part() + " " * (room + 1)))


# -- errors --------------------------------------------------------------------------------

# docs/tencent/cos-api.md §4 and the design's interface, copied independently of errors.py.
STATUSES = {
    "AccessDenied": 403, "AccessForbidden": 403, "SignatureDoesNotMatch": 403,
    "InvalidAccessKeyId": 403, "RequestTimeTooSkewed": 403, "ExpiredToken": 400,
    "InvalidArgument": 400, "InvalidRequest": 400, "NoSuchKey": 404, "NoSuchBucket": 404,
    "NoSuchUpload": 404, "EntityTooLarge": 400, "EntityTooSmall": 400, "InvalidPart": 400,
    "InvalidPartOrder": 400, "MalformedXML": 400, "InvalidDigest": 400, "BadDigest": 400,
    "InvalidPolicyDocument": 400, "MalformedPOSTRequest": 400,
    "IncorrectNumberOfFilesInPostRequest": 400, "InvalidRange": 416, "MethodNotAllowed": 405,
    "MissingContentLength": 411, "PreconditionFailed": 412, "InternalError": 500,
    "FileAlreadyExists": 409,  # unverified (docs/tencent/direct-upload.md §3)
}  # fmt: skip


@pytest.mark.parametrize("code", sorted(STATUSES))
def test_each_code_is_a_class_of_that_name_with_its_status(code):
    cls = getattr(errors, code)
    assert issubclass(cls, errors.CosError)
    assert errors.BY_CODE[code] is cls
    error = cls()
    assert (error.code, error.status) == (code, STATUSES[code])
    assert error.message.endswith(".")
    assert error.detail == ""


def test_by_code_holds_exactly_the_table():
    assert set(errors.BY_CODE) == set(STATUSES)


def test_messages_like_cos():
    assert errors.AccessDenied().message == "Access Denied."
    assert errors.SignatureDoesNotMatch().message == "The Signature you specified is invalid."
    assert errors.NoSuchKey().message == "The specified key does not exist."
    assert errors.NoSuchUpload().message == "The specified upload does not exist."


def test_message_detail_and_str():
    error = errors.AccessDenied("Request has expired", detail="sign time ended at 1700000000")
    assert (error.message, error.detail) == ("Request has expired", "sign time ended at 1700000000")
    assert str(error) == "AccessDenied: Request has expired"
    assert errors.AccessDenied("").message == "Access Denied."  # the SDK drops empty messages


def test_error_xml_shape():
    root = parse(error_xml(errors.NoSuchKey(), f"{B}.cos.ap-guangzhou.myqcloud.com/k", "rid-1"))
    assert root.tag == "Error"
    assert texts(root) == [
        ("Code", "NoSuchKey"),
        ("Message", "The specified key does not exist."),
        ("Resource", f"{B}.cos.ap-guangzhou.myqcloud.com/k"),
        ("RequestId", "rid-1"),
        ("TraceId", "rid-1"),
    ]


def test_error_xml_escapes_markup_in_message_and_resource():
    error = errors.AccessDenied("denied: <Code>NoSuchKey</Code> & more")
    document = error_xml(error, "host/a<&>b", "rid")
    assert b"denied: &lt;Code&gt;NoSuchKey&lt;/Code&gt; &amp; more" in document
    assert b"host/a&lt;&amp;&gt;b" in document
    root = parse(document)
    assert root.findtext("Code") == "AccessDenied"
    assert root.findtext("Message") == "denied: <Code>NoSuchKey</Code> & more"
    assert root.findtext("Resource") == "host/a<&>b"


def test_error_xml_leaves_the_detail_out():
    error = errors.SignatureDoesNotMatch(detail="string to sign sha1\n1;2\nabc")
    assert b"string to sign" not in error_xml(error, "h/k", "rid")


def test_error_xml_scrubs_characters_xml_cannot_carry():
    document = error_xml(errors.NoSuchKey(), "h/a\x00b\x1f\ud800c", "rid")
    assert parse(document).findtext("Resource") == "h/a\ufffdb\ufffd\ufffdc"


def test_the_sdk_reads_our_error_body():
    document = error_xml(errors.NoSuchUpload("gone <now> & then"), "h/a&b", "rid-9")
    error = CosServiceError("GET", document.decode(), 404)
    assert error.get_error_code() == "NoSuchUpload"
    assert error.get_error_msg() == "gone <now> & then"
    assert error.get_resource_location() == "h/a&b"
    assert error.get_request_id() == "rid-9"
    assert error.get_trace_id() == "rid-9"
