"""`explain` for the APIs whose name is no CAM action (a copy, a batch delete) expands them
into the checks the local COS makes, and reaches the local COS's verdict."""

from __future__ import annotations

import pytest

from sts_tools.explain import explain
from tests.support import BUCKET, REGION
from tests.support.cos import mint, sign


@pytest.mark.parametrize(
    ("profile", "source", "destination"),
    [
        ("read-write", "users/alice/a", "users/alice/b"),
        ("read-write", "users/bob/a", "users/alice/b"),
        ("read-write", "users/alice/a", "users/bob/b"),
        ("upload", "users/alice/a", "users/alice/b"),
    ],
)
def test_a_copy_check_agrees_with_the_local_cos(service, local_cos, profile, source, destination):
    local_cos.store.put_object(BUCKET, source, b"seed")
    keys = mint(service, body={"profile": profile})
    headers = {"x-cos-copy-source": f"{BUCKET}.cos.{REGION}.myqcloud.com/{source}"}
    served = local_cos.handle(*sign(keys, "PUT", destination, headers=headers)).status
    report, status = explain(
        service.config, service.verifier, user="alice",
        body=f'{{"profile":"{profile}"}}'.encode(),
        checks=[("PutObjectCopy", f"{source}>{destination}")],
        values={"cos:content-length": "0"},
    )  # fmt: skip
    assert (status == 0) == (served == 200), report
    assert "name/cos:GetObject" in report
    assert "name/cos:PutObject" in report


def test_a_batch_delete_check_is_a_delete_object_per_key(service):
    report, status = explain(
        service.config, service.verifier, user="alice", body=b'{"profile":"read-write"}',
        checks=[("DeleteMultipleObjects", "users/alice/a,users/bob/b")],
    )  # fmt: skip
    assert status == 1
    assert "ALLOW  name/cos:DeleteObject  users/alice/a" in report
    assert "DENY   name/cos:DeleteObject  users/bob/b" in report
