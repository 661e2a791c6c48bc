"""The dry run and the enforcement agree: for every shipped profile, action and key
in a generated table, `explain` prints the verdict the local COS reaches for the
same request signed by the official SDK's signer with keys from the handler."""

from __future__ import annotations

import itertools
from urllib.parse import quote

import pytest

from sts_tools.explain import explain
from tests.support import make_env, make_service, shipped_config
from tests.support.cos import REQUESTS, mint, sign

# Profiles that give keys (a tickets_only profile answers a keys request 403).
PROFILES = sorted(n for n, p in shipped_config()["profiles"].items() if not p.get("tickets_only"))
KEYS = [
    "users/alice/a.txt",
    "users/alice/deep/er/b.bin",
    "users/alice/",
    "users/alice2/a.txt",
    "users/bob/a.txt",
    "a.txt",
]


def signed_request(keys, action, key, body):
    """(method, target, headers, body) of `action` on `key` (a listing's prefix)."""
    method, params = REQUESTS[action]
    bucket_level = any(value is None for value in params.values())
    params = {name: (key if value is None else value) for name, value in params.items()}
    return sign(keys, method, "" if bucket_level else key, params, body)


@pytest.mark.parametrize("on_bucket", [False, True])
@pytest.mark.parametrize("profile", PROFILES)
def test_explain_and_the_local_cos_agree_over_a_table(emulator, local_cos, profile, on_bucket):
    document = shipped_config()
    document["listing"] = {"bucket_resource": on_bucket}
    service = make_service(make_env(emulator.endpoint), document)
    keys = mint(service, body={"profile": profile})
    disagreements, seen = [], {"allow": 0, "deny": 0}
    for action, key, size in itertools.product(REQUESTS, KEYS, (0, 10)):
        method, target, headers, body = signed_request(keys, action, key, b"x" * size)
        local_cos.handle(method, target, headers, body)
        record = local_cos.records[-1]
        assert record.decision in ("allow", "deny"), record
        values = {"qcs:ip": "127.0.0.1"}
        if "Content-Length" in headers:
            values["cos:content-length"] = headers["Content-Length"]
        if None in REQUESTS[action][1].values():  # a listing: its prefix parameter
            values["cos:prefix"] = quote(key, safe="-_.~")
        _, status = explain(
            service.config, service.verifier, user="alice",
            body=f'{{"profile":"{profile}"}}'.encode(), checks=[(action, key)], values=values,
        )  # fmt: skip
        dry = "allow" if status == 0 else "deny"
        seen[record.decision] += 1
        if dry != record.decision:
            disagreements.append((action, key, size, dry, record.decision, record.reason))
    assert disagreements == []
    assert seen["allow"] > 0  # the table exercises both verdicts
    assert seen["deny"] > 0


def test_the_table_catches_a_dry_run_that_reads_listings_differently(emulator, local_cos):
    """Sanity check of the agreement test itself: explain under the other listing
    reading disagrees with the local COS on the SDK's resume probe."""
    service = make_service(make_env(emulator.endpoint))
    keys = mint(service, body={"profile": "upload"})
    action, key = "name/cos:ListMultipartUploads", "users/alice/big.bin"
    local_cos.handle(*signed_request(keys, action, key, b""))
    assert local_cos.records[-1].decision == "allow"
    _, status = explain(
        service.config, service.verifier, user="alice", checks=[(action, key)],
        list_resource="bucket",
    )  # fmt: skip
    assert status == 1
