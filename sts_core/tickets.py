"""Upload and download tickets: one server-signed COS request for one object key.

Instead of temporary keys, the caller gets exactly what one request needs
(docs/tencent/direct-upload.md):

- ``post``: a PostObject form (the fields, then the file). Its policy pins the
  signature fields, the bucket, the exact key, ``content-length-range``, the
  Content-Type, the ACL (private), the storage class, ``success_action_status``,
  the token and a short expiration. COS itself refuses a larger or smaller file
  (EntityTooLarge / EntityTooSmall), another key, another type.
- ``put``: a presigned PUT whose signed headers fix the content type, the exact
  length, the ACL, the storage class and ``x-cos-forbid-overwrite``.
- ``get``: a presigned GET of a key inside the caller's root. Its signature also
  covers ``response-content-type`` (the profile's type for the key's extension, else
  ``application/octet-stream``) and ``response-content-disposition: attachment``:
  appending another value repeats a signed parameter, so COS cannot be talked into
  serving the object as HTML (docs/tickets.md, "Download tickets").

The key is the function's choice, inside the caller's root:
``<root><YYYY-MM-DD>/<32 hex>.<ext>`` (128 random bits, so it overwrites nothing and
no one can guess another's), or, when the profile allows it for PUT and GET, a name
the caller gives, held to the scope key rules. Tickets are signed with the
function's own temporary key (ticket_signing_key.py); no STS call per ticket.

Everything here is pure: the signing key, the time and the randomness come in.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple, Optional

from .config_model import Profile, TicketSettings
from .cos_request_signing import key_time, post_policy_signature, sign_request
from .errors import BadRequest, Forbidden
from .issued_credentials import IssuedCredentials
from .object_keys import key_problem
from .policy import PRIVATE_ACLS, Target
from .url_encoding import url_encode
from .utc_time import iso8601, utc_date

TICKET_FIELDS = ("method", "extension", "contentType", "size", "name", "key")
PRIVATE_ACL = PRIVATE_ACLS[0]
SUCCESS_STATUS = "200"  # PostObject answers its XML document (the mini-program sample's)
# Signed into every upload ticket; COS hands x-cos-meta-* back in the object's events
# (docs/tencent/cos-events.md §1), so the event names the ticket (cos_events.py).
TICKET_META = "x-cos-meta-sts-ticket"
START_SLACK = 60  # the window starts a minute early: a COS clock a little behind still accepts
UNKNOWN_TYPE = "application/octet-stream"  # a download whose extension the profile does not list
DOWNLOAD_DISPOSITION = "attachment"  # a browser saves it, never renders it as a page


class TicketRequest(NamedTuple):
    method: str
    extension: Optional[str] = None
    content_type: Optional[str] = None
    size: Optional[int] = None
    name: Optional[str] = None  # a caller-chosen key inside the root (put, get)
    key: Optional[str] = None  # the object to download (get)


class Ticket(NamedTuple):
    """What the caller needs for its one request; `expired_time` in Unix seconds."""

    method: str
    url: str
    key: str
    expired_time: int
    fields: Optional[dict[str, str]] = None  # post: the form fields, in order; the file last
    headers: Optional[dict[str, str]] = None  # put: headers to send exactly
    content_type: Optional[str] = None
    max_size: Optional[int] = None
    ticket_id: Optional[str] = None  # upload tickets: in the object's events

    def answer(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "method": self.method,
            "url": self.url,
            "key": self.key,
            "expiredTime": self.expired_time,
            "expiration": iso8601(self.expired_time),
        }
        if self.fields is not None:
            body["fields"] = self.fields
            body["fileField"] = "file"
        if self.headers is not None:
            body["headers"] = self.headers
        if self.content_type is not None:
            body["contentType"] = self.content_type
        if self.max_size is not None:
            body["maxSize"] = self.max_size
        if self.ticket_id is not None:
            body["ticketId"] = self.ticket_id
        return body


# -- the request --------------------------------------------------------------------------


def parse_ticket(value: Any) -> TicketRequest:
    """The body's ``ticket`` object, type-checked (400 for anything malformed)."""
    if not isinstance(value, Mapping):
        raise BadRequest("invalid_field", "ticket must be an object with a method")
    unknown = sorted(str(k) for k in value if k not in TICKET_FIELDS)
    if unknown:
        raise BadRequest(
            "invalid_field",
            f"ticket has an unknown field {unknown[0][:64]!r} "
            f"(expected {', '.join(TICKET_FIELDS)})",
        )
    method = value.get("method")
    if method not in ("post", "put", "get"):
        raise BadRequest("invalid_field", "ticket.method must be post, put or get")
    texts = {}
    for name in ("extension", "contentType", "name", "key"):
        text = value.get(name)
        if text is not None and not (isinstance(text, str) and text.isprintable()):
            raise BadRequest("invalid_field", f"ticket.{name} must be a string")
        texts[name] = text
    size = value.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise BadRequest("invalid_field", "ticket.size must be a whole number of bytes")
    return TicketRequest(
        method, texts["extension"], texts["contentType"], size, texts["name"], texts["key"]
    )


# -- the ticket ---------------------------------------------------------------------------


def plan_ticket(
    profile: Profile,
    target: Target,
    ask: TicketRequest,
    signer: IssuedCredentials,
    endpoint: str,
    now: float,
    random_hex: Callable[[], str],
    ticket_id: Optional[str] = None,
) -> Ticket:
    """The ticket for `ask`, or 403/400 when the profile does not allow it. An upload
    ticket signs `ticket_id` into the object's metadata (TICKET_META), which COS
    hands back in the object's events: an attribution the client cannot change."""
    settings = allowed_settings(profile, ask)
    issued = int(now)
    expires = min(issued + settings.ttl, signer.expired_time)
    window = key_time(issued - START_SLACK, expires)
    base = endpoint.replace("{bucket}", target.bucket).replace("{region}", target.region)
    if ask.method == "get":
        key = _download_key(settings, target, ask)
        return _presigned_get(base, key, _served_type(settings, key), signer, window, expires)
    extension, content_type = _type_of(settings, ask)
    key = _upload_key(settings, target, ask, extension, issued, random_hex)
    meta = {TICKET_META: ticket_id} if ticket_id else {}
    upload = _Upload(key, content_type, profile.storage_classes[0], signer, base, window, expires)
    if ask.method == "post":
        return _post_form(settings, target.bucket, ask, upload, meta)._replace(ticket_id=ticket_id)
    return _presigned_put(settings, ask, upload, meta)._replace(ticket_id=ticket_id)


class _Upload(NamedTuple):
    """What every upload ticket is made of."""

    key: str
    content_type: str
    storage_class: str
    signer: IssuedCredentials
    base: str  # the bucket's URL
    window: str  # the signature's KeyTime
    expires: int


def allowed_settings(profile: Profile, ask: TicketRequest) -> TicketSettings:
    """The profile's ticket settings if it gives `ask.method` tickets, else 403."""
    settings = profile.tickets
    if settings is None or ask.method not in settings.methods:
        raise Forbidden("ticket_denied", f"profile {profile.name!r} gives no {ask.method} tickets")
    return settings


def _type_of(settings: TicketSettings, ask: TicketRequest) -> tuple[str, str]:
    """(extension, content type): the caller names either (or a name ending in the
    extension); both must be the profile's."""
    named = ask.extension
    if named is None and ask.content_type is None and ask.name and "." in ask.name:
        named = ask.name.rsplit(".", 1)[1]
    if named is not None:
        extension = named.lower().lstrip(".")
        content_type = settings.types.get(extension)
        if content_type is None or (ask.content_type not in (None, content_type)):
            raise Forbidden("ticket_denied", _allowed(settings))
        return extension, content_type
    for extension, content_type in settings.types.items():
        if content_type == ask.content_type:
            return extension, content_type
    raise Forbidden("ticket_denied", _allowed(settings))


def _allowed(settings: TicketSettings) -> str:
    listed = ", ".join(f"{e} ({t})" for e, t in settings.types.items())
    return f"the profile's tickets allow only these types: {listed}"


def _upload_key(
    settings: TicketSettings,
    target: Target,
    ask: TicketRequest,
    extension: str,
    issued: int,
    random_hex: Callable[[], str],
) -> str:
    if ask.key is not None:
        raise BadRequest("invalid_field", "ticket.key is for downloads; name an upload with name")
    if ask.name is None:
        day = utc_date(issued)
        return f"{target.root}{day}/{random_hex()}.{extension}"
    if ask.method != "put" or not settings.caller_names:
        # POST cannot forbid overwriting (unverified on forms): only random keys there.
        raise Forbidden("ticket_denied", "this profile's upload tickets choose the key")
    key = target.root + ask.name
    if not key.endswith("." + extension):
        raise Forbidden("ticket_denied", f"the name must end with .{extension}")
    return _inside_root(key, target)


def _download_key(settings: TicketSettings, target: Target, ask: TicketRequest) -> str:
    if ask.extension is not None or ask.content_type is not None or ask.size is not None:
        raise BadRequest("invalid_field", "a get ticket takes only key (or name)")
    if ask.key is None and ask.name is None:
        raise BadRequest("invalid_field", "a get ticket needs the key to download")
    if ask.key is not None and ask.name is not None:
        raise BadRequest("invalid_field", "give either key or name, not both")
    if ask.name is not None and not settings.caller_names:
        raise Forbidden("ticket_denied", "give the full key of the object")
    return _inside_root(ask.key if ask.key is not None else target.root + (ask.name or ""), target)


def _inside_root(key: str, target: Target) -> str:
    problem = key_problem(key)
    if problem is not None or key.endswith("*"):
        raise Forbidden("ticket_denied", f"the key is not allowed: {problem or 'it ends with *'}")
    if not key.startswith(target.root) or key == target.root:
        raise Forbidden("ticket_denied", f"the key must lie inside {target.root}")
    return key


def _post_form(
    settings: TicketSettings,
    bucket: str,
    ask: TicketRequest,
    upload: _Upload,
    meta: Mapping[str, str],
) -> Ticket:
    low, high = settings.min_size, settings.max_size
    if ask.size is not None:  # a size given is the size the form accepts
        _check_size(settings, ask.size)
        low = high = ask.size
    signer, window = upload.signer, upload.window
    conditions = form_conditions(signer, window, bucket, upload.key, (low, high),
                                 upload.content_type, upload.storage_class)  # fmt: skip
    conditions += [{name: value} for name, value in meta.items()]
    policy = {"expiration": iso8601(upload.expires), "conditions": conditions}
    text = json.dumps(policy, separators=(",", ":"))
    fields = {
        "key": upload.key,
        "policy": base64.b64encode(text.encode("utf-8")).decode("ascii"),
        "q-sign-algorithm": "sha1",
        "q-ak": signer.tmp_secret_id,
        "q-key-time": window,
        "q-signature": post_policy_signature(signer.tmp_secret_key, window, text),
        "x-cos-security-token": signer.session_token,
        "Content-Type": upload.content_type,
        "acl": PRIVATE_ACL,
        "x-cos-storage-class": upload.storage_class,
        "success_action_status": SUCCESS_STATUS,
        **meta,
    }
    return Ticket("POST", upload.base + "/", upload.key, upload.expires, fields=fields,
                  content_type=upload.content_type, max_size=high)  # fmt: skip


def form_conditions(
    signer: IssuedCredentials,
    window: str,
    bucket: str,
    key: str,
    sizes: tuple[int, int],
    content_type: str,
    storage_class: str,
) -> list[Any]:
    """Every field of the form pinned, as the PostObject doc recommends: COS refuses
    a form whose field differs (AccessDenied) or whose file is outside `sizes`."""
    return [
        {"q-sign-algorithm": "sha1"},
        {"q-ak": signer.tmp_secret_id},
        {"q-sign-time": window},
        {"bucket": bucket},
        {"key": key},
        ["content-length-range", sizes[0], sizes[1]],
        {"Content-Type": content_type},
        {"acl": PRIVATE_ACL},
        {"x-cos-storage-class": storage_class},
        {"success_action_status": SUCCESS_STATUS},
        {"x-cos-security-token": signer.session_token},
    ]


def _check_size(settings: TicketSettings, size: int) -> None:
    if not settings.min_size <= size <= settings.max_size:
        raise Forbidden(
            "ticket_denied",
            f"size must be {settings.min_size} to {settings.max_size} bytes for this profile",
        )


def _presigned_put(
    settings: TicketSettings, ask: TicketRequest, upload: _Upload, meta: Mapping[str, str]
) -> Ticket:
    if ask.size is None:
        raise BadRequest("invalid_field", "a put ticket needs the size in bytes")
    _check_size(settings, ask.size)
    headers = {
        "Content-Type": upload.content_type,
        "Content-Length": str(ask.size),  # a shorter body is refused, a longer one cut off
        "x-cos-acl": PRIVATE_ACL,
        "x-cos-storage-class": upload.storage_class,
        "x-cos-forbid-overwrite": "true",
        **meta,  # signed: a header the client drops or changes fails the signature
    }
    url = _presigned_url(upload.base, "put", upload.key, upload.signer, upload.window, headers)
    return Ticket("PUT", url, upload.key, upload.expires, headers=headers,
                  content_type=upload.content_type, max_size=ask.size)  # fmt: skip


def _served_type(settings: TicketSettings, key: str) -> str:
    """The type a download is served as: the profile's for the key's extension."""
    name = key.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[1].lower() if "." in name else ""
    return settings.types.get(extension, UNKNOWN_TYPE)


def _presigned_get(
    base: str, key: str, content_type: str, signer: IssuedCredentials, window: str, expires: int
) -> Ticket:
    overrides = {
        "response-content-disposition": DOWNLOAD_DISPOSITION,
        "response-content-type": content_type,
    }
    url = _presigned_url(base, "get", key, signer, window, {}, overrides)
    return Ticket("GET", url, key, expires, content_type=content_type)


def _presigned_url(
    base: str,
    method: str,
    key: str,
    signer: IssuedCredentials,
    window: str,
    headers: Mapping[str, str],
    overrides: Mapping[str, str] = {},
) -> str:
    """The object URL with the signature in its query. Signed: the host, every header
    in `headers` (the client sends each with exactly that value), the token and the
    response `overrides` (in the query too, so a second value breaks the signature)."""
    host = base.split("://", 1)[1]
    params = {**overrides, "x-cos-security-token": signer.session_token}
    signed = sign_request(
        signer.tmp_secret_id, signer.tmp_secret_key, window, method, "/" + key, params,
        {"host": host, **{name.lower(): value for name, value in headers.items()}},
    )  # fmt: skip
    query = "".join(f"&{name}={url_encode(value)}" for name, value in params.items())
    return f"{base}/{url_encode(key, safe='/')}?{signed.query}{query}"
