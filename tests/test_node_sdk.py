"""The Node example in docs/clients.md, run: cos-nodejs-sdk-v5 3.0.0 uploads and downloads with
keys from the endpoint, through the documented adapter (the same cos-auth.js the
playground page loads), against the local stack over real sockets.

As docs/clients.md says, the example and cos-auth.js sit side by side: the test copies
both into a folder and runs Node there with NODE_PATH at tests/browser/node_modules
(`make test` runs `npm ci` in tests/browser). The Node SDK's `Ip` option connects
to the local COS and keeps the signed Host `<bucket>.cos.<region>.myqcloud.com`
(docs/tencent/cos-api.md §7).

No node or no node_modules: skipped here with how to install, a failure under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from sts_tools.playground.server import ADAPTER_FILE, CLIENTS_JS
from tests.support import BUCKET, REGION, ROOT
from tests.support.playground import local_stack
from tests.support.tools import require, require_executable

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow

BROWSER_PACKAGES = os.path.join(ROOT, "tests", "browser")
NODE_MODULES = os.path.join(BROWSER_PACKAGES, "node_modules")
EXAMPLE = os.path.join(BROWSER_PACKAGES, "node-example.js")
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def node():
    path = require_executable("node", "sudo apt-get install nodejs npm")
    installed = os.path.isdir(os.path.join(NODE_MODULES, "cos-nodejs-sdk-v5"))
    require(installed, "tests/browser/node_modules", "make node-deps (npm ci in tests/browser)")
    return path


@pytest.fixture(scope="module")
def stack(sts_emulator, local_cos_server):
    with local_stack(sts_emulator, local_cos_server) as running:
        yield running


def run_example(node, stack, local_cos, tmp_path, token, folder, size):
    """The example as a user would run it: itself and cos-auth.js in one folder."""
    stack.calls.clear()
    for source in (EXAMPLE, os.path.join(CLIENTS_JS, ADAPTER_FILE)):
        shutil.copy(source, tmp_path)
    file = tmp_path / "report.bin"
    file.write_bytes(os.urandom(size))
    settings = {
        "url": stack.sts_url,
        "loginToken": token,
        "bucket": BUCKET,
        "region": REGION,
        "folder": folder,
        "file": str(file),
        "cosOptions": {"Ip": f"127.0.0.1:{local_cos.port}", "Protocol": "http:"},
    }
    env = {**os.environ, "NODE_PATH": NODE_MODULES}
    finished = subprocess.run(
        [node, "node-example.js"],
        check=False,
        input=json.dumps(settings),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = finished.stdout.strip().splitlines()
    assert lines, finished.stderr
    return json.loads(lines[-1]), finished, file


def dev_token(stack, user="alice"):
    reply = stack.playground.mint({"user": user})
    return json.loads(reply.body)["token"]


@pytest.mark.parametrize("size", [11, int(2.5 * MIB)], ids=["simple", "multipart"])
def test_node_sdk_uploads_and_downloads_in_the_users_folder(node, stack, local_cos, tmp_path, size):
    outcome, finished, file = run_example(
        node, stack, local_cos, tmp_path, dev_token(stack), "users/alice/", size
    )
    assert outcome == {"ok": True, "key": "users/alice/report.bin"}, finished.stderr
    assert local_cos.store.get_object(BUCKET, "users/alice/report.bin").body == file.read_bytes()
    downloaded = tmp_path / "report.bin.downloaded"
    assert downloaded.read_bytes() == file.read_bytes()
    apis = [record.api for record in local_cos.records if record.decision == "allow"]
    if size > MIB:  # sliceUploadFile and ranged downloads
        assert {"InitiateMultipartUpload", "UploadPart", "CompleteMultipartUpload"} <= set(apis)
        assert apis.count("GetObject") == 3
    else:
        assert "PutObject" in apis
    assert "HeadObject" in apis
    assert {record.decision for record in local_cos.records} == {"allow"}
    # One key request for the whole round (the SDK caches keys until 60 s before expiry).
    assert [method for method, _ in stack.calls].count("POST") == 1


def test_node_sdk_is_refused_outside_the_users_folder(node, stack, local_cos, tmp_path):
    outcome, _, _ = run_example(
        node, stack, local_cos, tmp_path, dev_token(stack), "users/bob/", 11
    )
    assert outcome["ok"] is False
    assert outcome["error"]["statusCode"] == 403
    assert local_cos.store.objects(BUCKET) == []
    denied = [record for record in local_cos.records if record.decision == "deny"]
    assert denied
    assert "users/bob/report.bin" in denied[0].reason


def test_a_refused_token_fails_the_call_and_says_why(node, stack, local_cos, tmp_path):
    outcome, finished, _ = run_example(
        node, stack, local_cos, tmp_path, "not-a-token", "users/alice/", 11
    )
    assert outcome["ok"] is False
    # The SDK's own words (its callback has no error argument), and the adapter's reason.
    assert "TmpSecretId" in outcome["error"]["message"]
    assert "cos-sts: 401 invalid_token" in finished.stderr
    assert "not-a-token" not in finished.stderr
    assert list(local_cos.records) == []
