"""COS result documents (docs/tencent/cos-api.md §1) and the request bodies (Complete
Multipart Upload, Delete Multiple Objects).

Shapes follow the documented COS results, which the Python, Node and browser
SDKs all accepted (docs/tencent/cos-api.md §1, observed). ETags are quoted on the way out,
times are ISO-8601 UTC with milliseconds. With ``encoding_type="url"`` keys and
prefixes are percent-encoded; the Python SDK asks for that by default and
unquotes them (``cos_comm.decode_result``).

Named ``cosxml``, not ``xml``: a module that did ``from . import xml`` and also
``import xml.etree.ElementTree`` would rebind one global name to two modules.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable
from urllib.parse import quote

from sts_tools.emulators.cos.errors import InvalidArgument, MalformedXML, xml_child, xml_document

if TYPE_CHECKING:
    from sts_tools.emulators.cos.store import ListPage, Part, Upload

MAX_COMPLETE_BODY = 1024 * 1024
MAX_PARTS = 10_000
MAX_DELETE_KEYS = 1000  # per Delete Multiple Objects request (docs/local-stack.md)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso_time(timestamp: float) -> str:
    """``2023-11-14T22:13:20.000Z``: COS's form for LastModified and Initiated."""
    moment = _EPOCH + timedelta(milliseconds=round(timestamp * 1000))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


def _encoder(encoding_type: str) -> Callable[[str], str]:
    if encoding_type == "url":
        # %20 for a space, never '+': the Python SDK decodes with unquote, not
        # unquote_plus. COS's exact safe set is unverified; any choice decodes back.
        return lambda text: quote(text, safe="/")
    if encoding_type:
        raise InvalidArgument(
            "Invalid Encoding Method specified in Request.",
            detail=f"encoding-type={encoding_type!r}",
        )
    return lambda text: text


def _listing(
    tag: str, bucket_tag: str, bucket: str, encoding_type: str
) -> tuple[ET.Element, Callable[[str], str]]:
    """A listing's root element (bucket, then EncodingType when asked) and its key encoder."""
    encode = _encoder(encoding_type)
    root = ET.Element(tag)
    xml_child(root, bucket_tag, bucket)
    if encoding_type:
        xml_child(root, "EncodingType", encoding_type)
    return root, encode


def _flag(value: bool) -> str:
    return "true" if value else "false"


def initiate_result(bucket: str, key: str, upload_id: str) -> bytes:
    root = ET.Element("InitiateMultipartUploadResult")
    xml_child(root, "Bucket", bucket)
    xml_child(root, "Key", key)
    xml_child(root, "UploadId", upload_id)
    return xml_document(root)


def complete_result(location: str, bucket: str, key: str, etag: str) -> bytes:
    root = ET.Element("CompleteMultipartUploadResult")
    xml_child(root, "Location", location)
    xml_child(root, "Bucket", bucket)
    xml_child(root, "Key", key)
    xml_child(root, "ETag", quote_etag(etag))
    return xml_document(root)


def post_result(location: str, bucket: str, key: str, etag: str) -> bytes:
    """PostObject's body when ``success_action_status`` is 200 or 201 (docs/tencent/cos-api.md
    §1)."""
    root = ET.Element("PostResponse")
    xml_child(root, "Location", location)
    xml_child(root, "Bucket", bucket)
    xml_child(root, "Key", key)
    xml_child(root, "ETag", quote_etag(etag))
    return xml_document(root)


def list_parts_result(
    bucket: str,
    key: str,
    upload_id: str,
    parts: list[Part],
    marker: int,
    max_parts: int,
    truncated: bool,
    encoding_type: str = "",
) -> bytes:
    root, encode = _listing("ListPartsResult", "Bucket", bucket, encoding_type)
    xml_child(root, "Key", encode(key))
    xml_child(root, "UploadId", upload_id)
    xml_child(root, "StorageClass", "STANDARD")
    xml_child(root, "PartNumberMarker", marker)
    # The Python SDK pages with int(NextPartNumberMarker) while IsTruncated is true.
    xml_child(root, "NextPartNumberMarker", parts[-1].number if parts else marker)
    xml_child(root, "MaxParts", max_parts)
    xml_child(root, "IsTruncated", _flag(truncated))
    for part in parts:
        element = xml_child(root, "Part")
        xml_child(element, "PartNumber", part.number)
        xml_child(element, "LastModified", iso_time(part.last_modified))
        # Quoted: the SDKs' resume logic compares it with '"' + md5 + '"'.
        xml_child(element, "ETag", quote_etag(part.etag))
        xml_child(element, "Size", part.size)
    return xml_document(root)


def list_uploads_result(
    bucket: str, prefix: str, uploads: list[Upload], encoding_type: str = ""
) -> bytes:
    """All uploads under ``prefix`` in one page (the store does not page them)."""
    root, encode = _listing("ListMultipartUploadsResult", "Bucket", bucket, encoding_type)
    xml_child(root, "KeyMarker", "")
    xml_child(root, "UploadIdMarker", "")
    xml_child(root, "NextKeyMarker", encode(uploads[-1].key) if uploads else "")
    xml_child(root, "NextUploadIdMarker", uploads[-1].upload_id if uploads else "")
    xml_child(root, "MaxUploads", 1000)
    xml_child(root, "IsTruncated", "false")
    xml_child(root, "Prefix", encode(prefix))
    for upload in uploads:
        element = xml_child(root, "Upload")
        xml_child(element, "Key", encode(upload.key))
        xml_child(element, "UploadId", upload.upload_id)
        xml_child(element, "StorageClass", "STANDARD")
        xml_child(element, "Initiated", iso_time(upload.initiated))
    return xml_document(root)


def list_bucket_result(
    bucket: str,
    prefix: str,
    marker: str,
    max_keys: int,
    delimiter: str,
    page: ListPage,
    encoding_type: str = "",
) -> bytes:
    """GetBucket. The delimiter is echoed as given: the Python SDK does not unquote it."""
    root, encode = _listing("ListBucketResult", "Name", bucket, encoding_type)
    xml_child(root, "Prefix", encode(prefix))
    xml_child(root, "Marker", encode(marker))
    xml_child(root, "MaxKeys", max_keys)
    if delimiter:
        xml_child(root, "Delimiter", delimiter)
    xml_child(root, "IsTruncated", _flag(page.truncated))
    if page.truncated:
        xml_child(root, "NextMarker", encode(page.next_marker))
    for stored in page.objects:
        element = xml_child(root, "Contents")
        xml_child(element, "Key", encode(stored.key))
        xml_child(element, "LastModified", iso_time(stored.last_modified))
        xml_child(element, "ETag", quote_etag(stored.etag))
        xml_child(element, "Size", len(stored.body))
        xml_child(element, "StorageClass", "STANDARD")
    for common in page.common_prefixes:
        xml_child(xml_child(root, "CommonPrefixes"), "Prefix", encode(common))
    return xml_document(root)


def copy_result(tag: str, etag: str, last_modified: float) -> bytes:
    """CopyObjectResult (PUT Object - Copy) or CopyPartResult (Upload Part - Copy)."""
    root = ET.Element(tag)
    xml_child(root, "ETag", quote_etag(etag))
    xml_child(root, "LastModified", iso_time(last_modified))
    return xml_document(root)


def delete_result(deleted: list[str], errors: list[tuple[str, str, str]]) -> bytes:
    """DeleteResult: a <Deleted> per removed key, an <Error> (key, code, message) for
    each refused one."""
    root = ET.Element("DeleteResult")
    for key in deleted:
        xml_child(xml_child(root, "Deleted"), "Key", key)
    for key, code, message in errors:
        element = xml_child(root, "Error")
        xml_child(element, "Key", key)
        xml_child(element, "Code", code)
        xml_child(element, "Message", message)
    return xml_document(root)


def parse_delete(body: bytes) -> tuple[bool, list[str]]:
    """(quiet, keys) from a Delete Multiple Objects body: ``<Delete>`` holding an optional
    ``<Quiet>true|false</Quiet>`` and 1 to 1000 ``<Object><Key>k</Key></Object>``
    (a ``<VersionId>`` beside the key is refused: the local COS keeps no versions).
    Anything else is MalformedXML, with the same DTD and size rules as `parse_complete`."""
    root = _parse(body, "Delete")
    quiet = False
    keys: list[str] = []
    for element in root:
        if element.tag == "Quiet" and not len(element) and not element.attrib:
            text = (element.text or "").strip()
            if text not in ("true", "false"):
                raise MalformedXML(detail=f"<Quiet> {text[:20]!r}")
            quiet = text == "true"
            continue
        _expect(element, "Object")
        children = list(element)
        if len(children) != 1 or children[0].tag != "Key" or len(children[0]):
            raise MalformedXML(detail="<Object> needs exactly one <Key> (no versions here)")
        key = children[0].text or ""
        if not key:
            raise MalformedXML(detail="an empty <Key>")
        keys.append(key)
    if not 1 <= len(keys) <= MAX_DELETE_KEYS:
        raise MalformedXML(detail=f"Delete lists {len(keys)} keys (1 to {MAX_DELETE_KEYS})")
    return quiet, keys


def parse_complete(body: bytes) -> list[tuple[int, str]]:
    """(part number, ETag as sent) pairs from a CompleteMultipartUpload body.

    Anything but ``<CompleteMultipartUpload>`` holding only ``<Part>`` elements,
    each with exactly one ``<PartNumber>`` (decimal digits) and one ``<ETag>``,
    is MalformedXML: so is a body over 1 MiB, one that is not UTF-8, and any
    DOCTYPE (no entity can then be declared, so none can expand). Order and
    ETag checks belong to the store.
    """
    root = _parse(body, "CompleteMultipartUpload")
    if not 1 <= len(root) <= MAX_PARTS:
        raise MalformedXML(detail=f"CompleteMultipartUpload lists {len(root)} parts")
    return [_part(element) for element in root]


def _parse(body: bytes, tag: str) -> ET.Element:
    """The root of a request body, which must be a bare ``<tag>``."""
    if len(body) > MAX_COMPLETE_BODY:
        raise MalformedXML(detail=f"{tag} body of {len(body)} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedXML(detail=f"{tag} body is not UTF-8") from None
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise MalformedXML(detail=f"{tag} body declares a DTD")
    # UTF-8 is forced so a declared encoding cannot make expat read other
    # characters than the ones checked above.
    parser = ET.XMLParser(encoding="utf-8")  # noqa: S314 - no DTD can reach it (checked above)
    try:
        parser.feed(body)
        root = parser.close()
    except ET.ParseError as error:
        raise MalformedXML(detail=f"{tag}: {error}") from None
    _expect(root, tag)
    return root


def _expect(element: ET.Element, tag: str) -> None:
    # Namespaced tags read "{uri}Name" in ElementTree, so they fail this test too.
    if element.tag != tag or element.attrib or (element.text or "").strip():
        raise MalformedXML(detail=f"expected a bare <{tag}>, got <{element.tag}>")
    if (element.tail or "").strip():
        raise MalformedXML(detail=f"text after <{tag}>")


def _part(element: ET.Element) -> tuple[int, str]:
    _expect(element, "Part")
    fields: dict[str, str] = {}
    for child in element:
        if child.tag not in ("PartNumber", "ETag") or child.tag in fields:
            raise MalformedXML(detail=f"<Part> holds an unexpected or repeated <{child.tag}>")
        if len(child) or child.attrib or (child.tail or "").strip():
            raise MalformedXML(detail=f"<{child.tag}> must hold text only")
        fields[child.tag] = (child.text or "").strip()
    if len(fields) != 2:
        raise MalformedXML(detail="<Part> needs one <PartNumber> and one <ETag>")
    number = fields["PartNumber"]
    # Digits only: int() would also take "+1", " 1", "1_0" and Arabic-Indic digits.
    if not 1 <= len(number) <= 10 or not all("0" <= char <= "9" for char in number):
        raise MalformedXML(detail=f"PartNumber {number[:20]!r} is not an integer")
    return int(number), fields["ETag"]
