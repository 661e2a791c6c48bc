"""COS error codes as exceptions, and the one ``<Error>`` document they render to.

Codes and statuses follow docs/tencent/cos-api.md §4. Each subclass is named after its code,
so ``raise NoSuchKey()`` reads like the response it produces. ``message`` goes
into the XML body (safe for the client to read); ``detail`` is for the server's
log only. Neither may ever hold a secret key, a session token or a signing key.

The XML writing helpers (`xml_child`, `xml_document`) live here too, because
every COS document, errors and results alike (``cosxml.py``), must share the same
prolog and the same scrubbing of characters XML 1.0 cannot carry.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import ClassVar, Optional

PROLOG = b"<?xml version='1.0' encoding='utf-8' ?>"

# Characters XML 1.0 cannot carry even as references (§2.2). An object key may hold
# them; writing them raw would give a document no SDK parser accepts.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class CosError(Exception):
    """A COS error response: code, HTTP status, a safe message and a log-only detail."""

    code: ClassVar[str] = "InternalError"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "We encountered an internal error. Please try again."

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # The class name is the COS code: one spelling, no chance to drift.
        cls.code = cls.__name__

    def __init__(self, message: Optional[str] = None, *, detail: str = "") -> None:
        # An empty <Message> makes the Python SDK discard the whole error body
        # (cos_exception.digest_xml reads childNodes[0]), so empty means default.
        self.message = message or self.default_message
        self.detail = detail
        super().__init__(f"{self.code}: {self.message}")


class AccessDenied(CosError):
    status = 403
    default_message = "Access Denied."


class AccessForbidden(CosError):
    status = 403
    default_message = "CORS request is not allowed: no rule matches."


class SignatureDoesNotMatch(CosError):
    status = 403
    default_message = "The Signature you specified is invalid."


class InvalidAccessKeyId(CosError):
    status = 403
    default_message = "The Access Key Id you provided does not exist in our records."


class RequestTimeTooSkewed(CosError):
    status = 403
    default_message = "The difference between the request time and the server's time is too large."


class ExpiredToken(CosError):
    status = 400
    default_message = "The provided token has expired."


class InvalidArgument(CosError):
    status = 400
    default_message = "Invalid Argument."


class InvalidRequest(CosError):
    status = 400
    default_message = "Invalid Request."


class NoSuchKey(CosError):
    status = 404
    default_message = "The specified key does not exist."


class NoSuchBucket(CosError):
    status = 404
    default_message = "The specified bucket does not exist."


class NoSuchUpload(CosError):
    status = 404
    default_message = "The specified upload does not exist."


class EntityTooLarge(CosError):
    status = 400
    default_message = "Your proposed upload exceeds the maximum allowed object size."


class EntityTooSmall(CosError):
    status = 400
    default_message = "Your proposed upload is smaller than the minimum allowed object size."


class InvalidPart(CosError):
    status = 400
    default_message = "One or more of the specified parts could not be found."


class InvalidPartOrder(CosError):
    status = 400
    default_message = "The list of parts was not in ascending order."


class MalformedXML(CosError):
    status = 400
    default_message = "The XML you provided was not well-formed or did not validate."


class InvalidDigest(CosError):
    status = 400
    default_message = "The Content-MD5 you specified is not valid."


class BadDigest(CosError):
    status = 400
    default_message = "The Content-MD5 you specified did not match what we received."


class InvalidPolicyDocument(CosError):
    status = 400
    default_message = "The content of the form does not meet the conditions of the policy."


class MalformedPOSTRequest(CosError):
    status = 400
    default_message = "The body of your POST request is not well-formed multipart/form-data."


class IncorrectNumberOfFilesInPostRequest(CosError):
    status = 400
    default_message = "POST requires exactly one file upload per request."


class InvalidRange(CosError):
    status = 416
    default_message = "The requested range is not satisfiable."


class MethodNotAllowed(CosError):
    status = 405
    default_message = "The specified method is not allowed against this resource."


class MissingContentLength(CosError):
    status = 411
    default_message = "You must provide the Content-Length HTTP header."


class FileAlreadyExists(CosError):
    """x-cos-forbid-overwrite on an existing key (the code third-party code reports;
    unverified: docs/tencent/direct-upload.md §3)."""

    status = 409
    default_message = "The object already exists and x-cos-forbid-overwrite is set."


class PreconditionFailed(CosError):
    status = 412
    default_message = "At least one of the preconditions you specified did not hold."


class InternalError(CosError):
    status = 500


def _all_subclasses(cls: type[CosError]) -> list[type[CosError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


# Code -> class, for callers that pick a code from configuration (docs/tencent/cos-signing.md §5:
# the code for a bad token is unverified, so the server may let it be chosen).
BY_CODE: dict[str, type[CosError]] = {cls.code: cls for cls in _all_subclasses(CosError)}


def xml_child(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
    """Append ``<tag>text</tag>``; text that XML 1.0 cannot carry becomes U+FFFD."""
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = _NOT_XML.sub("\ufffd", str(text))
    return child


def xml_document(root: ET.Element) -> bytes:
    """The bytes of a COS document: COS's prolog, then ``root`` (escaped by ElementTree)."""
    return PROLOG + ET.tostring(root, encoding="unicode").encode("utf-8")


def error_xml(
    error: CosError, resource: str, request_id: str, message: Optional[str] = None
) -> bytes:
    """The ``<Error>`` body of docs/tencent/cos-api.md §4. ``resource`` is ``host/path``, no scheme.

    TraceId repeats the request id: it lets a log line and a client error be
    matched, and the Python SDK reports "Unknown" when the element is empty.
    """
    root = ET.Element("Error")
    xml_child(root, "Code", error.code)
    xml_child(root, "Message", message or error.message)
    xml_child(root, "Resource", resource)
    xml_child(root, "RequestId", request_id)
    xml_child(root, "TraceId", request_id)
    return xml_document(root)
