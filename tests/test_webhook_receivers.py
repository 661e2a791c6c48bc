"""The receivers docs/uploads.md gives the app's server, run as written against the
function's own signed deliveries: each verifies with Standard Webhooks' library,
handles a delivery once however often it is retried, and refuses a changed body.
The Python one in-process; the Node one (express stubbed: the route's handler is
what matters) with the `standardwebhooks` npm package pinned in tests/browser."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time

import pytest

from sts_core.webhook import message_id, signed_request
from tests.support import ROOT
from tests.support.tools import require, require_executable

KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
PAYLOAD = {"type": "object.created", "timestamp": "2026-12-04T00:00:00Z",
           "data": {"key": "users/alice/a.jpg", "userId": "alice"}}  # fmt: skip
NODE_MODULES = os.path.join(ROOT, "tests", "browser", "node_modules")


def snippet(language: str) -> str:
    with open(os.path.join(ROOT, "docs", "uploads.md"), encoding="utf-8") as handle:
        (found,) = re.findall(rf"```{language}\n(.*?)\n```", handle.read(), re.S)
    return found


def deliveries() -> list[tuple[bytes, dict[str, str]]]:
    """A delivery, its retry (the same webhook-id), and a forgery of it."""
    body, headers = signed_request(KEY, message_id("event-1"), int(time.time()), PAYLOAD)
    return [(body, headers), (body, headers), (body.replace(b"alice", b"mallory"), headers)]


def test_the_python_receiver_verifies_and_deduplicates(monkeypatch):
    monkeypatch.setenv("STS_WEBHOOK_SECRET", SECRET)
    handled: list[tuple[str, dict]] = []
    namespace = {"handle_upload": lambda kind, data: handled.append((kind, data))}
    exec(compile(snippet("python"), "docs/uploads.md", "exec"), namespace)  # noqa: S102 - our docs
    statuses = [namespace["receive"](body, headers) for body, headers in deliveries()]
    assert statuses == [204, 204, 400]
    assert handled == [("object.created", PAYLOAD["data"])]


# The snippet registers an express route; these stand-ins capture its handler.
NODE_HARNESS = """
const express = { raw: () => null };
let route;
const app = { post: (path, middleware, handler) => { route = handler; } };
const handled = [];
function handleUpload(type, data) { handled.push([type, data]); }
%s
const statuses = [];
for (const [body, headers] of JSON.parse(process.env.DELIVERIES)) {
  route({ body: Buffer.from(body, "base64"), headers },
        { sendStatus: (status) => statuses.push(status) });
}
console.log(JSON.stringify({ statuses, handled }));
"""


@pytest.mark.slow
def test_the_node_receiver_verifies_and_deduplicates():
    node = require_executable("node", "sudo apt-get install nodejs npm")
    installed = os.path.isdir(os.path.join(NODE_MODULES, "standardwebhooks"))
    require(installed, "tests/browser/node_modules", "make node-deps (npm ci in tests/browser)")
    sent = [[base64.b64encode(body).decode(), headers] for body, headers in deliveries()]
    finished = subprocess.run(
        [node, "-e", NODE_HARNESS % snippet("js")], capture_output=True, text=True, timeout=60,
        env={**os.environ, "STS_WEBHOOK_SECRET": SECRET, "DELIVERIES": json.dumps(sent),
             "NODE_PATH": NODE_MODULES}, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-2000:]
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result == {"statuses": [204, 204, 400], "handled": [["object.created", PAYLOAD["data"]]]}
