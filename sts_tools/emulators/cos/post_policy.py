"""PostObject (browser form upload): the form, its policy signature and conditions.

docs/tencent/cos-api.md §2 docs/tencent/cos-api.md §2. The form carries ``policy`` (base64 of a JSON
document), ``q-sign-algorithm``, ``q-ak``, ``q-key-time`` and ``q-signature``;
the signature is HMAC-SHA1(SignKey hex, SHA1 hex of the decoded policy text), no
HttpString. The policy's ``expiration`` and conditions (exact, ``eq``,
``starts-with``, ``content-length-range``) then bind the form. `check_post`
verifies both and returns the object key, ``${filename}`` substituted.

The second kind of form, cos-wx-sdk-v5's postObject (its default small-file upload;
docs/tencent/direct-upload.md §5), has no policy: a ``Signature`` field carries a header-style
Authorization string signed over (post, ``/``, the query, the headers it lists).
`header_signed_fields`, `form_token` and `header_form_values` read that form; the
server verifies it like a signed request and CAM alone decides the key
(`CosEmulator(header_signed_forms=...)`). How COS itself checks such a form is
unverified (the current documentation describes only the policy form).

Error codes: SignatureDoesNotMatch, AccessDenied (expired, or a condition the form
does not meet), InvalidPolicyDocument (a policy COS would not accept),
MalformedPOSTRequest and IncorrectNumberOfFilesInPostRequest (the form itself).
The code for a violated content-length-range was not captured from COS: this
module answers EntityTooSmall / EntityTooLarge (unverified).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import email.parser
import email.policy
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional

from sts_tools.emulators.cos.errors import (
    AccessDenied,
    EntityTooLarge,
    EntityTooSmall,
    IncorrectNumberOfFilesInPostRequest,
    InvalidPolicyDocument,
    MalformedPOSTRequest,
    SignatureDoesNotMatch,
)
from sts_tools.emulators.cos.signature import (
    ALGORITHM,
    START_TOLERANCE,
    AuthFields,
    MalformedAuthorization,
    parse_authorization,
    parse_window,
    sign_key,
    signature,
)

FILE_FIELD = "file"
FILENAME_VARIABLE = "${filename}"
# cos-wx-sdk-v5 1.8.0 lib/request.js:68-72: the Authorization string as a form field.
SIGNATURE_FIELD = "Signature"
TOKEN_FIELD = "x-cos-security-token"
# Exact conditions the policy must carry (the "Required: Yes" rows of docs/tencent/cos-api.md §2).
REQUIRED_CONDITIONS = ("q-sign-algorithm", "q-ak", "q-sign-time")
# Fields docs/tencent/cos-api.md §2 lets a policy prefix-match; every other field is exact only.
_PREFIX_FIELDS = frozenset(
    {
        "acl",
        "key",
        "cache-control",
        "content-type",
        "content-disposition",
        "content-encoding",
        "expires",
        "success_action_redirect",
    }
)
_META_PREFIX = "x-cos-meta-"
# Values never shown, even in a log: the token, and SSE-C's customer key.
_SECRET_FIELDS = frozenset(
    {
        "x-cos-security-token",
        "x-ci-security-token",
        "x-cos-server-side-encryption-customer-key",
    }
)
# Content-Disposition: a type, then `; name=value` with value a token or a quoted string.
_DISPOSITION = re.compile(r"[ \t]*([A-Za-z0-9!#$&^_.+-]+)[ \t]*")
_PARAMETER = re.compile(
    r';[ \t]*([A-Za-z0-9!#$&^_.+*-]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^;"\s]*))[ \t]*'
)
_ESCAPED = re.compile(r'\\(["\\])')
_EXPIRATION = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)


class PostForm(NamedTuple):
    """A parsed form: the text fields (names as sent; look them up case-insensitively),
    then the one file."""

    fields: dict[str, str]
    file: bytes
    filename: str


class Condition(NamedTuple):
    """One policy condition. `field` is lower-case, without ``$``."""

    kind: str  # "eq", "starts-with" or "content-length-range"
    field: str
    value: str = ""
    low: int = 0
    high: int = 0

    def render(self) -> str:
        """The condition for a log line; a token's value never appears."""
        if self.kind == "content-length-range":
            return f'["content-length-range", {self.low}, {self.high}]'
        value = "<redacted>" if self.field in _SECRET_FIELDS else self.value
        return json.dumps([self.kind, "$" + self.field, value], ensure_ascii=False)


class PostPolicy(NamedTuple):
    expiration: float  # Unix seconds
    conditions: tuple[Condition, ...]


# -- the form -------------------------------------------------------------------------


def _disposition(part: Any, index: int) -> tuple[str, dict[str, str]]:
    """A part's Content-Disposition -> (type, parameters), read from the raw header.

    Not `get_param`/`get_filename`: those strip surrounding spaces and decode
    RFC 2047 words, and ``${filename}`` must get the name exactly as sent (UTF-8,
    as browsers send it). Inside quotes only ``\\"`` and ``\\\\`` are escapes (curl);
    browsers write ``"`` as ``%22`` and leave a lone backslash as is.
    """
    raw = [value for name, value in part.raw_items() if name.lower() == "content-disposition"]
    if len(raw) != 1:
        raise MalformedPOSTRequest(detail=f"part {index + 1} needs one Content-Disposition")
    try:
        text = str(raw[0]).encode("ascii", "surrogateescape").decode("utf-8")
    except UnicodeError:
        raise MalformedPOSTRequest(detail=f"part {index + 1}: header is not UTF-8") from None
    text = re.sub(r"\r?\n(?=[ \t])", "", text)  # unfold
    head = _DISPOSITION.match(text)
    if head is None:
        raise MalformedPOSTRequest(detail=f"part {index + 1}: unreadable Content-Disposition")
    params: dict[str, str] = {}
    position = head.end()
    while position < len(text):
        match = _PARAMETER.match(text, position)
        if match is None or match[1].lower() in params:
            raise MalformedPOSTRequest(detail=f"part {index + 1}: unreadable Content-Disposition")
        quoted, plain = match[2], match[3]
        params[match[1].lower()] = plain if quoted is None else _ESCAPED.sub(r"\1", quoted)
        position = match.end()
    return head[1].lower(), params


def parse_form(content_type: str, body: bytes) -> PostForm:
    """multipart/form-data -> PostForm. Exactly one file part, named ``file``, last.

    The standard library's MIME parser splits the parts (byte-exact for binary
    bodies on 3.9-3.11); this function only adds the form rules.
    """
    if "\r" in content_type or "\n" in content_type:
        raise MalformedPOSTRequest(detail="the Content-Type header spans lines")
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if message.get_content_type() != "multipart/form-data" or not message.get_boundary():
        raise MalformedPOSTRequest(detail="the body is not multipart/form-data with a boundary")
    if message.defects or not message.is_multipart():
        raise MalformedPOSTRequest(detail="the multipart body is truncated or malformed")

    fields: dict[str, str] = {}
    files: list[tuple[int, str, Optional[str], bytes]] = []
    parts = list(message.iter_parts())
    for index, part in enumerate(parts):
        kind, params = _disposition(part, index)
        name = params.get("name")
        if kind != "form-data" or name is None:
            raise MalformedPOSTRequest(detail=f"part {index + 1} is not a named form-data field")
        if part.defects or part.is_multipart():
            raise MalformedPOSTRequest(detail=f"part {index + 1} ({name!r}) is malformed")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = params.get("filename")
        if filename is not None or name == FILE_FIELD:
            files.append((index, name, filename, content))
            continue
        if name.lower() in {existing.lower() for existing in fields}:
            raise MalformedPOSTRequest(detail=f"the form field {name!r} appears twice")
        try:
            fields[name] = content.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPOSTRequest(detail=f"the form field {name!r} is not UTF-8") from None
    if len(files) != 1 or files[0][1] != FILE_FIELD:
        raise IncorrectNumberOfFilesInPostRequest(
            detail=f"{len(files)} file parts; the form needs exactly one, named 'file'"
        )
    index, _, filename, content = files[0]
    if index != len(parts) - 1:
        raise MalformedPOSTRequest(detail="the file must be the last form field")
    return PostForm(fields, content, filename or "")


def field(form: PostForm, name: str) -> Optional[str]:
    """The value of form field `name`, matched case-insensitively."""
    wanted = name.lower()
    for key, value in form.fields.items():
        if key.lower() == wanted:
            return value
    return None


def form_fields(form: PostForm) -> AuthFields:
    """The signature fields of the form (no HttpString: both lists are empty).

    The form sends q-key-time only; the policy's q-sign-time condition names the
    same KeyTime, so a q-sign-time field, when sent, is used as is.
    """
    found = {}
    for name in ("q-sign-algorithm", "q-ak", "q-key-time", "q-signature"):
        value = field(form, name)
        if value is None:
            raise MalformedPOSTRequest(detail=f"the form has no {name} field")
        found[name] = value
    sign_time = field(form, "q-sign-time")
    return AuthFields(
        algorithm=found["q-sign-algorithm"],
        ak=found["q-ak"],
        sign_time=found["q-key-time"] if sign_time is None else sign_time,
        key_time=found["q-key-time"],
        header_list=(),
        param_list=(),
        signature=found["q-signature"],
        in_query=False,
    )


# -- the policy -----------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise InvalidPolicyDocument(detail="the policy repeats a JSON member")
    return dict(pairs)


def parse_expiration(text: Any) -> float:
    """ISO 8601 with a zone (``2019-08-30T09:38:12.414Z``) -> Unix seconds."""
    match = _EXPIRATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidPolicyDocument(detail="expiration is not an ISO 8601 time with a zone")
    year, month, day, hour, minute, second = (int(match[i]) for i in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise InvalidPolicyDocument(detail="expiration is not a valid date and time")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    fraction = float(match[7]) if match[7] else 0.0
    zone = match[8]
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds + fraction


def _bound(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidPolicyDocument(detail="content-length-range bounds must be integers")
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]+", value):
            raise InvalidPolicyDocument(detail="content-length-range bounds must be integers")
        return int(value)
    if value < 0:
        raise InvalidPolicyDocument(detail="content-length-range bounds must not be negative")
    return value


def _condition(item: Any) -> list[Condition]:
    if isinstance(item, dict):
        if not item:
            raise InvalidPolicyDocument(detail="an empty condition object")
        out = []
        for name, value in item.items():
            if not isinstance(value, str):
                raise InvalidPolicyDocument(detail=f"the {name} condition value is not a string")
            out.append(Condition("eq", name.lower(), value))
        return out
    if not isinstance(item, list) or len(item) != 3:
        raise InvalidPolicyDocument(detail="a condition is neither an object nor a 3-item array")
    kind = item[0]
    if kind == "content-length-range":
        low, high = _bound(item[1]), _bound(item[2])
        if low > high:
            raise InvalidPolicyDocument(detail="content-length-range has min > max")
        return [Condition(kind, "content-length-range", low=low, high=high)]
    if kind not in ("eq", "starts-with"):
        raise InvalidPolicyDocument(detail=f"unknown condition {kind!r}")
    name, value = item[1], item[2]
    if not isinstance(name, str) or not name.startswith("$") or len(name) < 2:
        raise InvalidPolicyDocument(detail=f"the {kind} condition does not name a $field")
    if not isinstance(value, str):
        raise InvalidPolicyDocument(detail=f"the {kind} condition value is not a string")
    name = name[1:].lower()
    if kind == "starts-with" and not (name in _PREFIX_FIELDS or name.startswith(_META_PREFIX)):
        raise InvalidPolicyDocument(detail=f"{name} allows exact matching only")
    return [Condition(kind, name, value)]


def parse_policy(text: bytes) -> PostPolicy:
    """The decoded policy document -> PostPolicy; InvalidPolicyDocument on anything odd."""
    try:
        document = json.loads(text.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError):
        raise InvalidPolicyDocument(detail="the policy is not UTF-8 JSON") from None
    if not isinstance(document, dict) or set(document) != {"expiration", "conditions"}:
        raise InvalidPolicyDocument(detail="the policy must hold exactly expiration, conditions")
    items = document["conditions"]
    if not isinstance(items, list):
        raise InvalidPolicyDocument(detail="conditions is not an array")
    conditions = tuple(condition for item in items for condition in _condition(item))
    for name in REQUIRED_CONDITIONS:
        if not any(c.kind == "eq" and c.field == name for c in conditions):
            raise InvalidPolicyDocument(detail=f"the policy has no exact {name} condition")
    return PostPolicy(parse_expiration(document["expiration"]), conditions)


def decode_policy(form: PostForm) -> bytes:
    encoded = field(form, "policy")
    if encoded is None:
        raise MalformedPOSTRequest(detail="the form has no policy field")
    try:
        return base64.b64decode(encoded.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise InvalidPolicyDocument(detail="the policy field is not base64") from None


def policy_signature(secret_key: str, key_time: str, policy_text: bytes) -> str:
    """docs/tencent/cos-signing.md §6, steps 4-6: StringToSign is the SHA1 hex of the policy text
    itself."""
    digest = hashlib.sha1(policy_text).hexdigest()  # noqa: S324 - COS's protocol
    return signature(sign_key(secret_key, key_time), digest)


# -- the check ------------------------------------------------------------------------


def _holds(condition: Condition, value: Optional[str]) -> bool:
    if value is None:
        return False
    if condition.kind == "eq":
        return value == condition.value
    return value.startswith(condition.value)


def _check_time(policy: PostPolicy, key_time: str, now: float) -> None:
    if now > policy.expiration:
        raise AccessDenied("Request has expired", detail="now is past the policy expiration")
    start, end = parse_window(key_time)
    if now > end:
        raise AccessDenied("Request has expired", detail="now is past q-key-time")
    if now < start - START_TOLERANCE:
        raise AccessDenied(detail="q-key-time starts in the future")


def _check_conditions(
    policy: PostPolicy, form: PostForm, fields: AuthFields, bucket: str, key: str
) -> None:
    for condition in policy.conditions:
        if condition.kind == "content-length-range":
            size = len(form.file)
            if size < condition.low:
                raise EntityTooSmall(detail=f"{size} bytes, below {condition.render()}")
            if size > condition.high:
                raise EntityTooLarge(detail=f"{size} bytes, above {condition.render()}")
            continue
        if condition.field == "bucket":
            actual: Optional[str] = bucket
        elif condition.field == "key":
            actual = key
        elif condition.field == "q-sign-time":
            # The form carries the KeyTime as q-key-time (docs/tencent/cos-signing.md §6, step 7).
            actual = fields.key_time
        else:
            actual = field(form, condition.field)
        if not _holds(condition, actual):
            shown = "is absent" if actual is None else "does not match"
            raise AccessDenied(
                "Invalid according to Policy: Policy Condition failed: " + condition.render(),
                detail=f"form field {condition.field} {shown}",
            )


def check_post(form: PostForm, secret_key: str, bucket: str, now: float) -> str:
    """Verify the form's policy signature, expiry and conditions; return the object key.

    Order: the form's signature fields, the HMAC (so nothing about the policy is
    reported to someone who cannot sign), the policy document, the time, the key,
    then every condition.
    """
    fields = form_fields(form)
    if fields.algorithm != ALGORITHM:
        raise MalformedPOSTRequest(detail=f"q-sign-algorithm is not {ALGORITHM}")
    if fields.sign_time != fields.key_time:
        raise MalformedPOSTRequest(detail="the q-sign-time field differs from q-key-time")
    try:
        parse_window(fields.key_time)
    except MalformedAuthorization as exc:
        raise MalformedPOSTRequest(detail=f"q-key-time: {exc}") from None
    text = decode_policy(form)
    expected = policy_signature(secret_key, fields.key_time, text).encode("ascii")
    if not hmac.compare_digest(expected, fields.signature.encode("utf-8", "surrogatepass")):
        raise SignatureDoesNotMatch(detail="the policy signature differs (PostObject)")
    policy = parse_policy(text)
    _check_time(policy, fields.key_time, now)

    key = object_key(form)
    _check_conditions(policy, form, fields, bucket, key)
    return key


def object_key(form: PostForm) -> str:
    """The form's ``key`` with ``${filename}`` substituted before any check
    (docs/tencent/cos-api.md §2)."""
    key_field = field(form, "key")
    if key_field is None:
        raise MalformedPOSTRequest(detail="the form has no key field")
    key = key_field.replace(FILENAME_VARIABLE, form.filename)
    if not key:
        raise MalformedPOSTRequest(detail="the object key is empty")
    return key


# -- header-signed forms (cos-wx-sdk-v5's postObject) ------------------------------------


def is_header_signed(form: PostForm) -> bool:
    """A form with a ``Signature`` field and no ``policy``: cos-wx-sdk-v5's postObject."""
    return field(form, "policy") is None and field(form, SIGNATURE_FIELD) is not None


def header_signed_fields(form: PostForm, headers: Mapping[str, str]) -> AuthFields:
    """The ``Signature`` field read as an Authorization header (`parse_authorization`).

    The SDK also sends the same string as the ``Authorization`` header; when one is
    present it must be exactly the field, so no request carries two signatures that
    could be checked one way and applied another.
    """
    text = field(form, SIGNATURE_FIELD) or ""
    try:
        fields = parse_authorization(text)
    except MalformedAuthorization as exc:
        raise MalformedPOSTRequest(detail=f"the Signature field is malformed: {exc}") from None
    sent = headers.get("authorization")
    if sent is not None and sent != text:
        raise MalformedPOSTRequest(
            detail="the Authorization header differs from the Signature field"
        )
    return fields


def form_token(form: PostForm, headers: Mapping[str, str]) -> Optional[str]:
    """The session token: the form field, else the header (the SDK sends both, equal)."""
    in_form, in_header = field(form, TOKEN_FIELD), headers.get(TOKEN_FIELD)
    if in_form is not None and in_header is not None and in_form != in_header:
        raise MalformedPOSTRequest(detail="the x-cos-security-token field and header differ")
    return in_form if in_form is not None else in_header


# condition key -> (form field, the header the SDK also sends, or None)
_FORM_VALUES = (
    ("cos:content-type", "content-type", None),  # the HTTP one is multipart/form-data
    ("cos:x-cos-acl", "acl", "x-cos-acl"),
    ("cos:x-cos-storage-class", "x-cos-storage-class", "x-cos-storage-class"),
)


def header_form_values(form: PostForm, headers: Mapping[str, str]) -> dict[str, str]:
    """The CAM condition values of a header-signed form, as what COS would apply:
    ``cos:content-length`` is the file's size (not the multipart body's), the type,
    ACL and storage class come from the form's fields (else the header the SDK also
    sends). A field and its header that disagree are refused: a form must not be
    authorised by one value and stored with another."""
    values = {"cos:content-length": str(len(form.file))}
    for key, name, header in _FORM_VALUES:
        in_form = field(form, name)
        in_header = headers.get(header) if header else None
        if in_form is not None and in_header is not None and in_form.strip() != in_header.strip():
            raise MalformedPOSTRequest(detail=f"the {name} field and the {header} header differ")
        value = in_form if in_form is not None else in_header
        if value is not None:
            values[key] = value.strip()
    return values
