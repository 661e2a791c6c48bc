"""Tickets from the public handler, and the one request each ticket is for, sent
to the local COS over HTTP exactly as a page, a mini program or an app sends it."""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Optional
from urllib.parse import urlsplit

import requests

import index
from tests.support import body_of, context, event, make_env, make_service, shipped_config, token

# The key the function picks for a ticket: the caller's root, the UTC day, 128
# random bits in hex, the extension asked for.
TICKET_KEY = r"users/{user}/\d{{4}}-\d{{2}}-\d{{2}}/[0-9a-f]{{32}}\.({extensions})"


def ticket_key(user: str = "alice", extensions: str = "jpg|png|webp") -> re.Pattern[str]:
    """The whole-string pattern of a ticket key for `user` (`extensions`: alternatives)."""
    return re.compile(TICKET_KEY.format(user=user, extensions=extensions))


def ticket_document(cos_port: int, **avatar: Any) -> dict[str, Any]:
    """The shipped config, tickets sent to the local COS; `avatar` changes the
    avatar profile's ticket settings."""
    document = shipped_config()
    document["tickets"]["cos_endpoint"] = f"http://{{bucket}}.cos.{{region}}.localhost:{cos_port}"
    document["profiles"]["avatar"]["tickets"].update(avatar)
    return document


def ticket_service(sts: Any, cos: Any, **avatar: Any) -> Any:
    return make_service(make_env(sts.endpoint), ticket_document(cos.port, **avatar))


def ask(service: Any, ticket: Any, user: str = "alice", profile: str = "avatar",
        **fields: Any) -> dict[str, Any]:  # fmt: skip
    """The handler's response to a ticket request."""
    body = {"profile": profile, "ticket": ticket, **fields}
    return index.handle(service, event(token(user), body), context())


def ticket(service: Any, user: str = "alice", **wanted: Any) -> dict[str, Any]:
    """The ticket the handler hands out (the test fails on any other answer)."""
    response = ask(service, wanted, user)
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)["ticket"]


def policy_of(given: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(given["fields"]["policy"]))


def send(
    given: dict[str, Any],
    content: bytes = b"",
    *,
    fields: Optional[dict[str, Optional[str]]] = None,
    headers: Optional[dict[str, Optional[str]]] = None,
    url: Optional[str] = None,
    method: Optional[str] = None,
) -> requests.Response:
    """The ticket's request: a form (its fields in order, the file last), a PUT
    with its headers, or a GET. `fields` / `headers` change or (None) drop some,
    `url` / `method` replace the ticket's. The socket is the local COS on loopback;
    Host is the ticket's host, as a client resolving *.localhost would send it."""
    parts = urlsplit(url or given["url"])
    port = parts.port
    target = f"http://127.0.0.1:{port}{parts.path}" + (f"?{parts.query}" if parts.query else "")
    sent: dict[str, str] = {"Host": parts.netloc}
    for name, value in {**(given.get("headers") or {}), **(headers or {})}.items():
        if value is not None:
            sent[name] = value
    verb = method or given["method"]
    if verb == "POST":
        form = {**given["fields"], **(fields or {})}
        data = [(name, value) for name, value in form.items() if value is not None]
        files = {given.get("fileField", "file"): ("photo.bin", content)}
        return requests.post(target, data=data, files=files, headers=sent, timeout=10)
    return requests.request(verb, target, data=content or None, headers=sent, timeout=10)


def cos_error(response: requests.Response) -> str:
    """The COS error code of a refused request ("" when it succeeded)."""
    if response.status_code < 300:
        return ""
    text = response.text
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else text


def webhooks_match_uploads(cos: Any, receiver: Any, users: tuple[str, ...]) -> list[Any]:
    """One verified object.created webhook per object the local COS created for
    `users` (waiting for its events), each naming the key's owner as its uploader;
    the webhooks' data."""
    assert cos.notify.wait(20), "the local COS's events were not delivered"
    created = [r for r in cos.records if r.status < 300 and r.api in
               ("PutObject", "PostObject", "CompleteMultipartUpload")]  # fmt: skip
    data = [h["data"] for h in receiver.verified() if h["type"] == "object.created"]
    assert sorted(d["key"] for d in data) == sorted(r.key for r in created)
    for item in data:
        owner = item["key"].split("/")[1]
        assert owner in users, item
        assert (item["userId"], item["uploadedBy"], item["root"]) == (
            owner, owner, f"users/{owner}/")  # fmt: skip
    return data
