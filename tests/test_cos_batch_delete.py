"""Delete Multiple Objects (POST /?delete) through cos-python-sdk-v5: each key is decided
as a DeleteObject of its own (docs/tencent/cam-policy.md §1), refused keys come back as
<Error> entries in a 200 answer, and only the allowed keys are removed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import BUCKET
from tests.support.cos import client, last_record, mint, refused

OWN = "users/alice/"


def delete(cos, keys, quiet="false"):
    objects = [{"Key": key} for key in keys]
    return cos.delete_objects(Bucket=BUCKET, Delete={"Object": objects, "Quiet": quiet})


def test_own_keys_are_deleted_and_another_users_are_errors(service, local_cos):
    for key in ("users/alice/a", "users/alice/b", "users/bob/c"):
        local_cos.store.put_object(BUCKET, key, b"x")
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    answer = delete(cos, ["users/alice/a", "users/bob/c", "users/alice/missing"])
    assert sorted(item["Key"] for item in answer["Deleted"]) == [
        "users/alice/a",
        "users/alice/missing",
    ]
    assert [(e["Key"], e["Code"]) for e in answer["Error"]] == [("users/bob/c", "AccessDenied")]
    assert [o.key for o in local_cos.store.objects(BUCKET)] == ["users/alice/b", "users/bob/c"]
    record = last_record(local_cos)
    assert (record["api"], record["status"], record["decision"]) == (
        "DeleteMultipleObjects",
        200,
        "deny",
    )
    assert "name/cos:DeleteObject" in record["reason"] or "users/bob/c" in record["reason"]


def test_quiet_lists_only_the_errors(service, local_cos):
    local_cos.store.put_object(BUCKET, "users/alice/a", b"x")
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    answer = delete(cos, ["users/alice/a", "users/bob/c"], quiet="true")
    assert "Deleted" not in answer
    assert [e["Key"] for e in answer["Error"]] == ["users/bob/c"]


def test_a_profile_without_delete_object_deletes_nothing(service, local_cos):
    local_cos.store.put_object(BUCKET, "users/alice/a", b"x")
    cos = client(local_cos, mint(service, body={"profile": "upload"}))
    answer = delete(cos, ["users/alice/a"])
    assert [e["Code"] for e in answer["Error"]] == ["AccessDenied"]
    assert [o.key for o in local_cos.store.objects(BUCKET)] == ["users/alice/a"]


def test_a_malformed_body_is_malformed_xml(service, local_cos):
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    error = refused(cos.delete_objects, Bucket=BUCKET, Delete={"Object": []})
    assert (error.get_status_code(), error.get_error_code()) == (400, "MalformedXML")


KEYS = st.lists(
    st.sampled_from(["users/alice/", "users/bob/", "users/alice2/", "", "users/alice/x/"]).flatmap(
        lambda root: st.text("ab.", min_size=1, max_size=3).map(lambda name: root + name)
    ),
    min_size=1, max_size=12, unique=True,
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keys=KEYS)
def test_exactly_the_callers_keys_go(service, local_cos, keys):
    """Oracle: a read-write key may delete under users/alice/ and nowhere else."""
    local_cos.reset()
    for key in keys:
        local_cos.store.put_object(BUCKET, key, b"x")
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    answer = delete(cos, keys)
    own = {key for key in keys if key.startswith(OWN)}
    assert {item["Key"] for item in answer.get("Deleted", [])} == own
    assert {item["Key"] for item in answer.get("Error", [])} == set(keys) - own
    assert {o.key for o in local_cos.store.objects(BUCKET)} == set(keys) - own
