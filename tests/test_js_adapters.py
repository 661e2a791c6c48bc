"""clients/js/cos-auth.js (through cos-nodejs-sdk-v5) and clients/js/cos-ticket.js on
every path, in Node against the local stack (issue 24). tests/browser/adapter-check.js
holds the cases:

- an async loginToken is awaited (the upload lands; the endpoint sees the token, not
  ``Bearer [object Promise]``); a throwing, rejecting or empty loginToken fails the
  call at once with ``no_login_token`` and sends nothing;
- malformed keys (a number for an ID, a missing field, a non-numeric or millisecond
  time) are refused with ``bad_response``, as the wx adapter refuses them;
- a stalled endpoint or COS, an unreachable one, a non-JSON 502, a 401: each ends
  promptly, the SDK's callback called exactly once, our error in onError;
- cos-ticket.js: the same for its ticket request and its upload (both bounded).

No node or no node_modules: skipped here with how to install, a failure under CI=true.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from sts_tools.support.dev_token import mint_token
from tests.support import BUCKET, REGION, ROOT
from tests.support.playground import local_stack
from tests.support.tools import require, require_executable

# An external runtime: left out of `make test-fast`, as the other Node tests.
pytestmark = pytest.mark.slow

BROWSER = os.path.join(ROOT, "tests", "browser")
NODE_MODULES = os.path.join(BROWSER, "node_modules")


@pytest.fixture(scope="module")
def node():
    path = require_executable("node", "sudo apt-get install nodejs npm")
    installed = os.path.isdir(os.path.join(NODE_MODULES, "cos-nodejs-sdk-v5"))
    require(installed, "tests/browser/node_modules", "make node-deps (npm ci in tests/browser)")
    return path


def test_the_js_adapters_answer_once_with_our_error_on_every_path(node, sts_emulator, local_cos):
    with local_stack(sts_emulator, local_cos) as stack:
        settings = {"stsUrl": stack.sts_url, "token": mint_token("alice"), "bucket": BUCKET,
                    "region": REGION, "cosPort": local_cos.port}  # fmt: skip
        finished = subprocess.run(
            [node, "adapter-check.js"], cwd=BROWSER, input=json.dumps(settings), text=True,
            env={**os.environ, "NODE_PATH": NODE_MODULES}, capture_output=True, timeout=180,
            check=False,
        )  # fmt: skip
    assert finished.stdout.strip(), finished.stderr[-3000:]
    report = json.loads(finished.stdout)
    failed = [r for r in report["results"] if not r["ok"]]
    assert failed == [], json.dumps(failed, indent=1)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert report["passed"] >= 25
    stored = [o.key for o in local_cos.store.objects(BUCKET)]
    assert len(stored) == 1
    assert stored[0].endswith("/async.txt")  # the async-token upload, and nothing else
