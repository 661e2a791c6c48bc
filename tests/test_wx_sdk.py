"""cos-wx-sdk-v5 1.8.0, the WeChat mini-program SDK, run in Node through a `wx`
stand-in (tests/wx/wx-standin.js: wx.request and wx.uploadFile over real HTTP with
WeChat's semantics) with the adapter a developer copies (clients/wx/cos-auth-wx.js),
against the local stack. tests/wx/wx-sdk-check.js holds the cases:

- putObject from a string, an ArrayBuffer and a file; postObject (the wx.uploadFile
  form the SDK uses for small files); uploadFile below SliceSize (that form) and above
  it (multipart), with the SDK's defaults; getObject with equal bytes; headObject; a
  signed getObjectUrl fetched;
- 403 in another user's folder by every path;
- a refused login token, an unreachable endpoint, 429/503/502 answers and an endpoint
  that never answers each fail the call at once, the SDK callback called exactly once;
- keys refetched at the SDK's 60 s margin; per-request scopes;
- an upload ticket sent with wx.uploadFile (clients/wx/cos-ticket-wx.js), and its
  refusals.

No node or no node_modules (`make node-deps`): skipped here, a failure under CI=true.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest

import index
from sts_tools.support.dev_token import mint_token
from tests.support import ROOT
from tests.support.playground import local_stack
from tests.support.tickets import webhooks_match_uploads
from tests.support.tools import require, require_executable

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow

WX = os.path.join(ROOT, "tests", "wx")
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"wx-end-to-end-webhook-secret-32b").decode()


@pytest.fixture(scope="module")
def node():
    path = require_executable("node", "sudo apt-get install nodejs npm")
    installed = os.path.isdir(os.path.join(WX, "node_modules", "cos-wx-sdk-v5"))
    require(installed, "tests/wx/node_modules", "make node-deps (npm ci in tests/wx)")
    return path


def test_the_mini_program_sdk_against_the_local_stack(node, sts_emulator, local_cos):
    from sts_tools.support.webhook_receiver import WebhookReceiver

    receiver = WebhookReceiver(WEBHOOK_SECRET).start()
    with local_stack(sts_emulator, local_cos, receiver=receiver) as stack:
        env = {
            **os.environ,
            "STS_URL": stack.sts_url,
            "COS_PORT": str(local_cos.port),
            "ALICE_TOKEN": mint_token("alice"),
            "BOB_TOKEN": mint_token("bob"),
        }
        finished = subprocess.run(
            [node, "wx-sdk-check.js"], cwd=WX, env=env, capture_output=True, text=True,
            timeout=180, check=False,
        )  # fmt: skip
    report = json.loads(finished.stdout)
    failed = [r for r in report["results"] if not r["ok"]]
    assert failed == [], json.dumps(failed, indent=1)
    assert finished.returncode == 0, finished.stderr[-2000:]
    names = " ".join(r["name"] for r in report["results"])
    for case in ("postObject", "uploadFile", "getObjectUrl", "403", "refused login token",
                 "unreachable", "60 s", "a ticket"):  # fmt: skip
        assert case in names, case
    assert report["passed"] >= 37
    # The mini program's small uploads reached the local COS as header-signed forms.
    assert any(r.api == "PostObject" for r in local_cos.records)
    # Every object it created (keys, forms, multipart, tickets) reached the app's
    # server as one verified webhook naming its owner as the uploader (docs/uploads.md).
    try:
        data = webhooks_match_uploads(local_cos, receiver, ("alice", "bob"))
    finally:
        receiver.stop()
    kinds = {d["eventName"] for d in data}
    assert {"cos:ObjectCreated:Post", "cos:ObjectCreated:CompleteMultipartUpload"} <= kinds
    assert any(d["ticketId"] for d in data)  # the ticket's upload, by its signed field


def test_a_mini_programs_first_session_signed_in_with_wechat(node, sts_emulator, local_cos):
    """wx.login -> the sign-in route -> keys through the adapter -> an upload into the
    user's own folder, a ticket upload, a refusal elsewhere, and signing in again after
    a 401 (tests/wx/wx-login-check.js), on the local stack with the WeChat stand-in."""
    from sts_tools.emulators.gateway import DevServer
    from sts_tools.emulators.wechat import WxEmulator
    from sts_tools.stack import local_cos_endpoint
    from tests.support.login import login_document, login_env, login_service

    with WxEmulator() as wx:
        document = login_document()
        document["tickets"]["cos_endpoint"] = local_cos_endpoint(local_cos.port)
        service = login_service(login_env(sts_emulator.endpoint, wx.endpoint), document)
        server = DevServer(lambda event, context: index.handle(service, event, context), port=0)
        server.start()
        try:
            env = {**os.environ, "STS_URL": server.url + "/sts", "COS_PORT": str(local_cos.port)}
            finished = subprocess.run(
                [node, "wx-login-check.js"], cwd=WX, env=env, capture_output=True, text=True,
                timeout=120, check=False,
            )  # fmt: skip
        finally:
            server.stop()
        assert len(wx.backend.exchanges) >= 4  # every sign-in went through jscode2session
    report = json.loads(finished.stdout)
    failed = [r for r in report["results"] if not r["ok"]]
    assert failed == [], json.dumps(report, indent=1)
    assert report["passed"] == 6, finished.stderr[-2000:]
