"""cos-nodejs-sdk-v5 against the local COS with keys from the function: copies, part copies,
batch delete, stored headers, inferred types and a resumed upload with a traffic limit,
including the refusals (docs/local-stack.md lists what is served)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support import BUCKET, REGION, ROOT, make_env, make_service
from tests.support.cos import mint
from tests.test_node_sdk import NODE_MODULES, node  # noqa: F401 - `node` is the fixture

pytestmark = pytest.mark.slow

SCRIPT = os.path.join(ROOT, "tests", "browser", "node-objects.js")
MIB = 1024 * 1024


@pytest.fixture
def outcomes(node, emulator, local_cos, tmp_path):  # noqa: F811 - the imported fixture
    service = make_service(make_env(emulator.endpoint))
    creds = mint(service, body={"profile": "read-write"})["credentials"]
    local_cos.store.put_object(BUCKET, "users/bob/secret.txt", b"bob's")
    file = tmp_path / "big.txt"
    file.write_bytes(os.urandom(3 * MIB))
    settings = {
        "id": creds["tmpSecretId"], "key": creds["tmpSecretKey"], "token": creds["sessionToken"],
        "ip": f"127.0.0.1:{local_cos.port}", "bucket": BUCKET, "region": REGION,
        "folder": "users/alice/", "other": "users/bob/secret.txt", "file": str(file),
    }  # fmt: skip
    finished = subprocess.run(
        [node, SCRIPT], check=False, input=json.dumps(settings), capture_output=True, text=True,
        timeout=120, env={**os.environ, "NODE_PATH": NODE_MODULES},
    )  # fmt: skip
    lines = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    assert lines, finished.stderr
    return {line["case"]: line for line in lines}, file


def test_node_sdk_sees_the_local_cos_as_cos(outcomes, local_cos):
    seen, file = outcomes
    assert seen["head-zip"]["data"]["headers"]["content-type"] == "application/zip"
    headers = seen["get-headers"]["data"]["headers"]
    assert headers["cache-control"] == "max-age=600"
    assert headers["content-disposition"] == "attachment"
    assert headers["content-encoding"] == "gzip"
    assert headers["expires"] == "Wed, 21 Oct 2037 07:28:00 GMT"
    assert seen["copy-own"]["ok"], seen["copy-own"]
    assert seen["head-copy"]["data"]["headers"]["x-cos-meta-a"] == "b"
    assert seen["copy-other"]["error"]["statusCode"] == 403
    assert seen["part-copy"]["ok"], seen["part-copy"]
    assert seen["part-copy-other"]["error"]["statusCode"] == 403
    assert seen["complete"]["ok"], seen["complete"]
    assert local_cos.store.get_object(BUCKET, "users/alice/parts.bin").body == b"%P"
    deleted = seen["delete-many"]["data"]
    assert [item["Key"] for item in deleted["Deleted"]] == ["users/alice/2.zip"]
    assert [(e["Key"], e["Code"]) for e in deleted["Error"]] == [
        ("users/bob/secret.txt", "AccessDenied")
    ]
    assert local_cos.store.get_object(BUCKET, "users/bob/secret.txt").body == b"bob's"
    assert seen["resumed"]["ok"], seen["resumed"]
    assert local_cos.store.get_object(BUCKET, "users/alice/big.txt").body == file.read_bytes()
    assert seen["head-big"]["data"]["headers"]["content-type"] == "text/plain"
    # sliceUploadFile resumed the upload begun before: one upload id, its parts listed,
    # part 1 not sent again.
    big = [record.api for record in local_cos.records if record.key == "users/alice/big.txt"]
    assert big.count("InitiateMultipartUpload") == 1
    assert "ListParts" in big
    assert big.count("UploadPart") == 3
