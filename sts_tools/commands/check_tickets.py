"""check-deployment's ticket rows: a profile that gives upload tickets is tried
the way an app uses it, and COS itself must hold the ticket to its limits.

1. A post ticket, asked for the probe's exact size: a form for a key inside the
   token's prefix.
2. COS refuses the form with one byte more (content-length-range), with another
   user's key and with another content type (the policy pins both).
3. The probe file goes up with the unchanged form.
4. When the profile gives put tickets: a presigned PUT uploads, and the same PUT
   sent again is refused (``x-cos-forbid-overwrite``: whether COS honours it on a
   PUT is unverified, so this row is how you find out on your bucket).
5. When the profile gives get tickets: a get ticket downloads the probe as its
   type; with ``response-content-type=text/html`` appended it must not come back as
   HTML (the ticket signs its overrides); and one row reports what your COS does
   with a response-* parameter no signature covers (applied, ignored or refused:
   unverified, docs/tickets.md "Download tickets").

The user's keys delete the probes again when their profile may (else the row
says where each was left).

The form goes to the ticket's URL, or with ``--cos-endpoint`` to that address,
the ticket's host sent as Host (it is signed).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Optional
from urllib.parse import urlsplit

from sts_tools.commands.cos_probe import CosProbe, cos_client

# `checker` below is check_deployment.Checker (its rows, HTTP session, token and keys).
Checker = Any
DELETE = "name/cos:DeleteObject"

TICKET_FORM = "a post ticket -> a form for a key inside the prefix"
TICKET_LARGER = "a file larger than the ticket allows refused by COS"
TICKET_OTHER_KEY = "the ticket's form with another user's key refused by COS"
TICKET_OTHER_TYPE = "the ticket's form with another content type refused by COS"
TICKET_UPLOAD = "the ticket uploads the probe file"
TICKET_PUT = "a put ticket uploads the probe file"
TICKET_OVERWRITE = "the same put again refused by COS (no overwrite)"
TICKET_GET = "a get ticket downloads the probe as its type"
TICKET_RETYPE = "the get ticket with response-content-type=text/html appended is not HTML"
TICKET_UNSIGNED = "an unsigned response-* parameter (what this COS does with it)"
HTML = "response-content-type=text%2Fhtml"
UNSIGNED = "response-content-language=x-cos-sts-check"  # a harmless, visible override


def check_tickets(
    checker: Checker, profile: str, extension: str, put: bool = False, get: bool = False
) -> None:
    run_id = uuid.uuid4().hex[:12]
    body = f"cos-sts check-deployment ticket probe {run_id}\n".encode()
    wanted = {"method": "post", "extension": extension, "size": len(body)}
    answer = _ask(checker, profile, wanted)
    if answer is None:
        return
    ticket = answer["ticket"]
    prefix = checker.expected_prefix() or str(answer.get("prefix", ""))
    key = str(ticket.get("key", ""))
    inside = bool(prefix) and key.startswith(prefix) and key != prefix
    usable = ticket.get("method") == "POST" and isinstance(ticket.get("fields"), Mapping)
    left = int(ticket.get("expiredTime", 0) - checker.clock())
    if not checker.add(TICKET_FORM, inside and usable,
                       f"profile {profile}, key {key}, valid {left} s"):  # fmt: skip
        return

    larger = _send(checker, ticket, body + b"!")
    checker.add(TICKET_LARGER, 400 <= larger[0] < 500,
                f"{len(body) + 1} bytes: {_describe(larger)}")  # fmt: skip
    other = f"{checker.other_root(prefix)}cos-sts-check-{run_id}.{extension}"
    moved = _send(checker, ticket, body, fields={"key": other})
    checker.add(TICKET_OTHER_KEY, moved[0] == 403, f"{other}: {_describe(moved)}")
    retyped = _send(checker, ticket, body, fields={"Content-Type": "text/html"})
    checker.add(TICKET_OTHER_TYPE, retyped[0] == 403, f"text/html: {_describe(retyped)}")
    sent = _send(checker, ticket, body)
    detail = f"{key}: {_describe(sent)}"
    downloads: list[tuple[str, bool, str]] = []
    if 200 <= sent[0] < 300:
        if get:  # before the probe is deleted; the rows follow the upload's
            downloads = _check_get(checker, profile, key)
        detail += _clean_up(checker, answer, key)
    checker.add(TICKET_UPLOAD, 200 <= sent[0] < 300, detail)
    for name, ok, said in downloads:
        checker.add(name, ok, said)
    if put:
        _check_put(checker, profile, extension, body)


def _check_put(checker: Checker, profile: str, extension: str, body: bytes) -> None:
    answer = _ask(checker, profile, {"method": "put", "extension": extension,
                                     "size": len(body)}, TICKET_PUT)  # fmt: skip
    if answer is None:
        return
    ticket = answer["ticket"]
    key = str(ticket.get("key", ""))
    first = _put(checker, ticket, body)
    if not checker.add(TICKET_PUT, 200 <= first[0] < 300, f"{key}: {_describe(first)}"):
        return
    again = _put(checker, ticket, body)
    detail = f"{key}: {_describe(again)}"
    if 200 <= again[0] < 300:
        detail += " - COS overwrote the object: x-cos-forbid-overwrite was not honoured"
    checker.add(TICKET_OVERWRITE, 400 <= again[0] < 500, detail + _clean_up(checker, answer, key))


def _check_get(checker: Checker, profile: str, key: str) -> list[tuple[str, bool, str]]:
    answer = _ask(checker, profile, {"method": "get", "key": key}, TICKET_GET)
    if answer is None:
        return []
    ticket = answer["ticket"]
    wanted = str(ticket.get("contentType", ""))
    plain = _get(checker, ticket)
    rows = [(TICKET_GET, plain[0] == 200 and plain[1] == wanted, _served(plain))]
    html = _get(checker, ticket, HTML)
    refused = 400 <= html[0] < 500 or (html[0] == 200 and html[1] != "text/html")
    rows.append((TICKET_RETYPE, refused, _served(html)))
    unsigned = _get(checker, ticket, UNSIGNED)
    if unsigned[0] != 200:
        reading = f"refused ({_served(unsigned)})"
    else:
        reading = "applied" if unsigned[2] == "x-cos-sts-check" else "ignored"
    rows.append((TICKET_UNSIGNED, True, f"{UNSIGNED}: {reading}"))
    return rows


def _get(checker: Checker, ticket: Mapping[str, Any], extra: str = "") -> tuple[int, str, str]:
    """(status, Content-Type, Content-Language) of the ticket's GET, `extra` appended."""
    import requests

    url, headers = _where(checker, ticket)
    try:
        response = checker.http.get(url + (f"&{extra}" if extra else ""), headers=headers,
                                    timeout=checker.timeout)  # fmt: skip
    except requests.RequestException as exc:
        return 0, type(exc).__name__, ""
    served = response.headers.get("Content-Type", "")
    return response.status_code, served, response.headers.get("Content-Language", "")


def _served(outcome: tuple[int, str, str]) -> str:
    status, served, _ = outcome
    return f"no answer ({served})" if status == 0 else f"{status} as {served or 'no type'}"


def _ask(
    checker: Checker, profile: str, wanted: Mapping[str, Any], row: str = TICKET_FORM
) -> Optional[dict[str, Any]]:
    import json

    headers = {"Authorization": f"Bearer {checker.token}", "Content-Type": "application/json"}
    response = checker.post(headers, json.dumps({"profile": profile, "ticket": wanted}).encode())
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code != 200 or not isinstance(data, dict) or "ticket" not in data:
        error = data.get("error") if isinstance(data, dict) else None
        checker.add(row, False, f"{response.status_code} {error or ''}".strip())
        return None
    return data


def _where(checker: Checker, ticket: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The URL to send to and the Host header (with --cos-endpoint)."""
    url = str(ticket["url"])
    if not checker.cos_endpoint:
        return url, {}
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return checker.cos_endpoint.rstrip("/") + (parts.path or "/") + query, {"Host": parts.netloc}


def _send(
    checker: Checker,
    ticket: Mapping[str, Any],
    body: bytes,
    fields: Optional[Mapping[str, str]] = None,
) -> tuple[int, str]:
    """(status, COS error code) of the ticket's form with `body`, some fields changed."""
    url, headers = _where(checker, ticket)
    form = {**ticket["fields"], **(fields or {})}
    files = {str(ticket.get("fileField", "file")): ("probe.bin", body)}
    data = list(form.items())
    return _outcome(
        lambda: checker.http.post(url, data=data, files=files, headers=headers,
                                  timeout=checker.timeout)
    )  # fmt: skip


def _put(checker: Checker, ticket: Mapping[str, Any], body: bytes) -> tuple[int, str]:
    url, headers = _where(checker, ticket)
    headers.update(ticket.get("headers") or {})
    return _outcome(lambda: checker.http.put(url, data=body, headers=headers,
                                             timeout=checker.timeout))  # fmt: skip


def _outcome(call: Any) -> tuple[int, str]:
    import requests

    try:
        response = call()
    except requests.RequestException as exc:
        return 0, type(exc).__name__
    text = response.text
    code = text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else ""
    return response.status_code, code


def _describe(outcome: tuple[int, str]) -> str:
    status, code = outcome
    return f"no answer ({code})" if status == 0 else f"{status}{' ' + code if code else ''}"


def _clean_up(checker: Checker, answer: Mapping[str, Any], key: str) -> str:
    """Delete the probe with the user's keys, when they were checked and may."""
    keys = checker.keys
    actions = checker.expect.actions or frozenset()
    if keys is None or DELETE not in actions or not key.startswith(str(keys.get("prefix"))):
        return f" (left in the bucket: {key})"
    try:
        probe = CosProbe(cos_client(keys, checker.cos_endpoint, checker.timeout), answer["bucket"])
    except ImportError:
        return f" (left in the bucket: {key}; cos-python-sdk-v5 is not installed)"
    deleted = probe.delete(key)
    return "; deleted again" if deleted.ok else f"; LEFT IN THE BUCKET: {key}"
