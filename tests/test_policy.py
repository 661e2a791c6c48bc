"""Scopes, the policy builder and the final guard (sts_core/policy.py), under attack
and under hypothesis. The containment oracle (`escapes_root`) is written
independently of sts_core.policy (tests/support/containment.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sts_core.config_model import Profile
from sts_core.errors import Forbidden
from sts_core.policy import (
    PolicyViolation,
    ScopeEntry,
    Target,
    build_policy,
    check_scope,
    guard,
    render,
)
from sts_core.user_prefix import check_user_id
from tests.support.containment import (
    BUCKET,
    escapes_root,
    resources_of,
    root_resource,
    target_for,
)
from tests.support.examples import examples

DEFAULT_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
ANYTHING = re.compile(r"(?s).*")  # a careless operator's pattern: the hard rules still hold
UPLOAD = Profile(
    "upload",
    (
        "name/cos:PutObject",
        "name/cos:PostObject",
        "name/cos:InitiateMultipartUpload",
        "name/cos:UploadPart",
        "name/cos:CompleteMultipartUpload",
    ),
    max_content_length=1024,
    content_types=("image/jpeg", "image/png"),
)
DOWNLOAD = Profile("download", ("name/cos:GetObject", "name/cos:HeadObject"))

# -- scope entries -------------------------------------------------------------------

HOSTILE_KEYS = [
    "users/alice",  # the root without its delimiter
    "users/alice2/x",  # another user whose ID extends ours
    "users/alicex",
    "users/*",
    "*",
    "",
    "users/bob/x",
    "/users/bob/x",
    "//users/alice/x",
    "users/ALICE/x",
    "users/alice/../bob/x",
    "users/alice/..",
    "users/alice/./x",
    "users/alice//x",
    "users/alice/a*b",
    "users/alice/**",
    "users/alice/a?b",
    "users/alice/%2e%2e/bob/x",
    "users/alice/..%2fbob",
    "users/alice/..\\bob",
    "users/alice/x\x00",
    "users/alice/x\u202e",
    "users/alice\uff0fx",
    "users/alice/\uff0e\uff0e/bob",
    "users/alice/" + "x" * 900,
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_scope_keys_are_refused_not_clipped(key):
    with pytest.raises(Forbidden) as caught:
        check_scope(UPLOAD, target_for("alice"), [ScopeEntry("name/cos:PutObject", key)])
    assert caught.value.code == "scope_denied"


@pytest.mark.parametrize(
    "entry",
    [
        ScopeEntry("name/cos:GetObject", "users/alice/x"),  # not in the upload profile
        ScopeEntry("name/cos:*", "users/alice/x"),
        ScopeEntry("*", "users/alice/x"),
        ScopeEntry("name/cos:PutObject ", "users/alice/x"),
        ScopeEntry("name/cos:putobject", "users/alice/x"),
        ScopeEntry("name/cos:PutObject", "users/alice/x", bucket="otherbucket-1250000000"),
        ScopeEntry("name/cos:PutObject", "users/alice/x", region="ap-beijing"),
    ],
)
def test_scope_outside_the_profile_or_bucket_is_refused(entry):
    with pytest.raises(Forbidden):
        check_scope(UPLOAD, target_for("alice"), [entry])


def test_valid_scope_narrows_to_exact_keys():
    target = target_for("alice")
    scope = [
        ScopeEntry("name/cos:PutObject", "users/alice/photo.jpg", BUCKET, "ap-guangzhou"),
        ScopeEntry("name/cos:PutObject", "/users/alice/photo.jpg"),  # leading slash: same key
        ScopeEntry("name/cos:UploadPart", "users/alice/videos/*"),
        ScopeEntry("name/cos:InitiateMultipartUpload", "users/alice/\u4e2d\u6587.png"),
    ]
    grants = check_scope(UPLOAD, target, scope)
    assert grants == {
        "name/cos:PutObject": ["users/alice/photo.jpg"],
        "name/cos:UploadPart": ["users/alice/videos/*"],
        "name/cos:InitiateMultipartUpload": ["users/alice/\u4e2d\u6587.png"],
    }
    policy = build_policy(UPLOAD, target, grants)
    guard(policy, target)
    assert sorted(resources_of(policy)) == sorted(
        target.resource(k) for keys in grants.values() for k in keys
    )


# -- policy shape and conditions -------------------------------------------------------


def statement_for(policy, action):
    (statement,) = [s for s in policy["statement"] if action in s["action"]]
    return statement


def test_profile_policy_grants_root_star_with_conditions_only_on_uploads():
    target = target_for("alice")
    policy = build_policy(UPLOAD, target)
    guard(policy, target)
    assert set(resources_of(policy)) == {root_resource(target) + "*"}
    put = statement_for(policy, "name/cos:PutObject")
    assert "name/cos:PostObject" in put["action"]
    pins = {
        "cos:x-cos-acl": ["private", "default"],
        "cos:x-cos-storage-class": ["STANDARD"],
    }
    assert put["condition"] == {
        "numeric_less_than_equal": {"cos:content-length": 1024},
        "string_equal": {"cos:content-type": ["image/jpeg", "image/png"]},
        "string_equal_if_exist": pins,
    }
    initiate = statement_for(policy, "name/cos:InitiateMultipartUpload")
    assert initiate["condition"] == {
        "string_equal": {"cos:content-type": ["image/jpeg", "image/png"]},
        "string_equal_if_exist": pins,
    }
    part = statement_for(policy, "name/cos:UploadPart")
    assert "condition" not in part
    assert "name/cos:CompleteMultipartUpload" in part["action"]
    assert "principal" not in render(policy)


def test_download_policy_has_no_upload_conditions():
    policy = build_policy(DOWNLOAD, target_for("alice"))
    assert policy["statement"] == [
        {
            "effect": "allow",
            "action": ["name/cos:GetObject", "name/cos:HeadObject"],
            "resource": [root_resource(target_for("alice")) + "*"],
        }
    ]


def test_wildcard_content_types_use_string_like():
    profile = Profile("img", ("name/cos:PutObject",), content_types=("image/*",))
    condition = build_policy(profile, target_for("a"))["statement"][0]["condition"]
    assert condition["string_like"] == {"cos:content-type": ["image/*"]}


def test_ip_binding_condition():
    policy = build_policy(DOWNLOAD, target_for("a"), source_ip="203.0.113.7")
    assert policy["statement"][0]["condition"] == {"ip_equal": {"qcs:ip": ["203.0.113.7"]}}


# -- the final guard -------------------------------------------------------------------


IN_BUCKET = "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/"


def ok_policy(target, **statement):
    base = {
        "effect": "allow",
        "action": ["name/cos:GetObject"],
        "resource": [root_resource(target) + "*"],
    }
    base.update(statement)
    return {"version": "2.0", "statement": [base]}


@pytest.mark.parametrize(
    ("statement", "words"),
    [
        ({"resource": [IN_BUCKET + "*"]}, "outside"),
        ({"resource": [IN_BUCKET]}, "outside"),
        ({"resource": ["*"]}, "outside"),
        ({"resource": [IN_BUCKET + "users/alice2/*"]},
         "outside"),
        ({"resource": [IN_BUCKET.replace("guangzhou", "beijing") + "users/alice/*"]},
         "outside"),
        ({"resource": [IN_BUCKET + "users/alice/*/x"]},
         "unsafe"),
        ({"resource": [IN_BUCKET + "users/alice/../b"]},
         "unsafe"),
        ({"resource": []}, "no resource"),
        ({"action": ["*"]}, "wildcard"),
        ({"action": ["name/cos:*"]}, "wildcard"),
        ({"action": ["name/cos:DeleteBucket"]}, "bucket-level"),
        ({"action": ["name/cos:GetBucketACL"]}, "bucket-level"),
        ({"action": ["name/cos:GetBucketAcl"]}, "not a COS action"),
        ({"action": ["name/cos:PutObjectACL"]}, "public"),
        ({"action": ["name/cvm:RunInstances"]}, "not a COS action"),
        ({"action": []}, "no action"),
        ({"effect": "deny"}, "allow"),
        ({"principal": {"qcs": ["*"]}}, "unexpected element"),
        ({"condition": {"string_not_equal": {"cos:x": "y"}}}, "condition"),
        ({"condition": {}}, "condition"),
    ],
)  # fmt: skip
def test_guard_refuses_anything_not_confined(statement, words):
    target = target_for("alice")
    with pytest.raises(PolicyViolation, match=words):
        guard(ok_policy(target, **statement), target)


def test_guard_refuses_malformed_policies():
    target = target_for("alice")
    for policy in (None, [], {"statement": []}, {"version": "1.0", "statement": [{}]},
                   {"version": "2.0", "statement": []}, {"version": "2.0", "statement": ["x"]},
                   {**ok_policy(target), "principal": "*"}):  # fmt: skip
        with pytest.raises(PolicyViolation):
            guard(policy, target)


@pytest.mark.parametrize(
    ("root", "user_id"),
    [
        ("users/", "alice"),  # a template that lost {uid}
        ("", "alice"),
        ("users/alice", "alice"),  # no trailing delimiter
        ("/users/alice/", "alice"),
        ("users/alice2/", "alice"),  # the user is not a whole segment
        ("users/*/", "alice"),
        ("users/../alice/", "alice"),
    ],
)
def test_guard_cannot_be_bypassed_by_a_bad_root(root, user_id):
    target = Target("ap-guangzhou", "1250000000", BUCKET, root, user_id)
    policy = {
        "version": "2.0",
        "statement": [
            {
                "effect": "allow",
                "action": ["name/cos:GetObject"],
                "resource": [target.resource(root + "*")],
            }
        ],
    }
    with pytest.raises(PolicyViolation):
        guard(policy, target)


# -- properties: no accepted request yields a resource outside the root ---------------

PIECES = st.sampled_from(
    ["users/", "alice", "alice2", "bob", "/", "//", "..", ".", "*", "?", "%2e", "%2F", "\\",
     "x", "photo.jpg", "\uff0f", "\uff0e", "\uff0e\uff0e", "\u0430", "\x00", " ", "users/alice/",
     "users/alice"]
)  # fmt: skip
tails = st.lists(PIECES, max_size=6).map("".join)
actions = st.sampled_from((*UPLOAD.actions, "name/cos:GetObject", "name/cos:*", "*"))
user_ids = st.one_of(st.sampled_from(["alice", "alice2", "a", "u.1"]), st.text(max_size=12))


def scopes_for(root):
    """Mostly keys that start inside the root, so the in-root checks are what is tested."""
    keys = st.one_of(
        tails.map(lambda tail: root + tail),
        tails.map(lambda tail: "/" + root + tail),
        tails,
    )
    return st.lists(st.builds(ScopeEntry, actions, keys), min_size=1, max_size=6)


@settings(max_examples=examples(1000))
@given(
    data=st.data(),
    user_id=user_ids,
    template=st.sampled_from(["users/{uid}/", "{uid}/", "a/{uid}/b/"]),
)
def test_no_accepted_request_yields_a_resource_outside_the_root(data, user_id, template):
    try:
        check_user_id(user_id, ANYTHING)
    except Forbidden:
        return
    target = target_for(user_id, template)
    scope = data.draw(scopes_for(target.root))
    try:
        grants = check_scope(UPLOAD, target, scope)
    except Forbidden:
        return
    policy = build_policy(UPLOAD, target, grants)
    guard(policy, target)  # the builder and the guard agree
    for resource in resources_of(policy):
        assert not escapes_root(resource, target), resource


@settings(max_examples=examples(300))
@given(user_id=user_ids, ip=st.one_of(st.none(), st.just("198.51.100.4")))
def test_every_profile_policy_passes_the_guard_and_stays_inside(user_id, ip):
    try:
        check_user_id(user_id, ANYTHING)
    except Forbidden:
        return
    target = target_for(user_id)
    for profile in (UPLOAD, DOWNLOAD):
        policy = build_policy(profile, target, source_ip=ip)
        guard(policy, target)
        assert all(not escapes_root(r, target) for r in resources_of(policy))
