"""CAM evaluation: strict parsing, deny > allow > default deny, wildcards, conditions,
reasons a developer can act on, and a property test against an independent oracle."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sts_tools.emulators.cos import cam, conditions
from sts_tools.emulators.cos.cam import Decision, PolicyError, Statement, decide, parse_policy
from tests.support.examples import examples

R = "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/"
PUT, GET, HEAD = "name/cos:PutObject", "name/cos:GetObject", "name/cos:HeadObject"


def statement(effect="allow", action=PUT, resource=R + "users/alice/*", condition=None):
    raw = {"effect": effect, "action": action, "resource": resource}
    if condition is not None:
        raw["condition"] = condition
    return raw


def policy(*statements) -> cam.Policy:
    return parse_policy(json.dumps({"version": "2.0", "statement": list(statements)}))


def allowed(parsed, action, key, values=None) -> bool:
    return decide(parsed, action, R + key, values or {}).allowed


# --- parsing -------------------------------------------------------------------------


def test_parse_builds_typed_values_with_no_dict_or_list_left():
    parsed = policy(
        statement(
            action=[PUT, GET], condition={"numeric_less_than_equal": {"cos:content-length": 5}}
        ),
        statement(effect="deny", action="*", resource="*"),
    )
    assert parsed.statements[0] == Statement(
        "allow", (PUT, GET), (R + "users/alice/*",), parsed.statements[0].conditions
    )
    assert parsed.statements[1].actions == ("*",)

    def walk(value):
        assert not isinstance(value, (dict, list, set)), value
        if isinstance(value, tuple):
            for item in value:
                walk(item)

    walk(parsed)
    with pytest.raises(AttributeError):
        parsed.statements[0].effect = "deny"


def test_policy_error_is_reexported_and_a_value_error():
    assert cam.PolicyError is conditions.PolicyError
    assert issubclass(PolicyError, ValueError)


def _doc(**top):
    return json.dumps({"version": "2.0", "statement": [statement()], **top})


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '"2.0"',
        json.dumps({"statement": [statement()]}),  # no version
        json.dumps({"version": "1.0", "statement": [statement()]}),
        json.dumps({"version": 2.0, "statement": [statement()]}),
        json.dumps({"version": "2.0"}),  # no statement
        json.dumps({"version": "2.0", "statement": []}),
        json.dumps({"version": "2.0", "statement": statement()}),  # not a list
        json.dumps({"version": "2.0", "statement": ["allow"]}),
        _doc(principal={"qcs": ["*"]}),
        _doc(Version="2.0"),
        _doc(id="x"),
        json.dumps({"Version": "2.0", "Statement": [statement()]}),
        # duplicate names: json would silently keep the last one
        '{"version": "2.0", "version": "2.0", "statement": []}',
        '{"version": "2.0", "statement": [{"effect": "deny", "effect": "allow",'
        ' "action": "*", "resource": "*"}]}',
        # not-a-number constants
        '{"version": "2.0", "statement": [{"effect": "allow", "action": "*", "resource": "*",'
        ' "condition": {"numeric_less_than": {"cos:content-length": NaN}}}]}',
        "[" * 100000 + "]" * 100000,
    ],
)
def test_bad_documents_are_policy_errors(text):
    with pytest.raises(PolicyError):
        parse_policy(text)


@pytest.mark.parametrize(
    "raw",
    [
        {**statement(), "principal": {"qcs": ["qcs::cam::anyone:anyone"]}},
        {**statement(), "Effect": "allow"},
        {"Effect": "allow", "Action": PUT, "Resource": R + "*"},
        {**statement(), "sid": "s1"},
        {**statement(), "notaction": GET},
        {**statement(), "Condition": {}},
        {"action": PUT, "resource": R + "*"},  # no effect
        {"effect": "allow", "resource": R + "*"},  # no action
        {"effect": "allow", "action": PUT},  # no resource
        statement(effect="Allow"),
        statement(effect="DENY"),
        statement(effect="permit"),
        statement(effect=None),
        statement(action=[]),
        statement(action=""),
        statement(action=[PUT, ""]),
        statement(action=5),
        statement(action=[[PUT]]),
        statement(resource=[]),
        statement(resource=""),
        statement(resource=None),
        statement(condition={"string_equals": {"cos:x-cos-acl": "private"}}),
        statement(condition={"string_equal": {"cos:unknown": "private"}}),
        statement(condition={"numeric_equal": {"cos:content-type": 1}}),
        statement(condition=[]),
    ],
)
def test_bad_statements_are_policy_errors(raw):
    with pytest.raises(PolicyError):
        policy(raw)


def test_policy_errors_say_where_and_what():
    with pytest.raises(PolicyError, match=r"statement\[1\].*principal"):
        policy(statement(), {**statement(), "principal": "*"})
    with pytest.raises(
        PolicyError, match=r"unknown element 'Effect' \(element names are lower-case\)"
    ):
        policy({**statement(), "Effect": "allow"})
    with pytest.raises(PolicyError, match=r"statement\[0\].*string_equals"):
        policy(statement(condition={"string_equals": {"cos:x-cos-acl": "private"}}))


def test_a_single_string_or_a_list_both_work():
    one = policy(statement(action=PUT, resource=R + "a"))
    listed = policy(statement(action=[PUT], resource=[R + "a"]))
    assert one == listed


# --- order: deny > allow > default deny -----------------------------------------------


@pytest.mark.parametrize("deny_first", [True, False])
def test_deny_wins_over_allow_whatever_the_order(deny_first):
    allow_all = statement(action="*", resource="*")
    deny_secret = statement(effect="deny", action=PUT, resource=R + "users/alice/secret/*")
    parsed = policy(deny_secret, allow_all) if deny_first else policy(allow_all, deny_secret)
    decision = decide(parsed, PUT, R + "users/alice/secret/x", {})
    assert decision.allowed is False
    assert decision.statement == (0 if deny_first else 1)
    assert f"denied by statement[{decision.statement}] (deny)" in decision.reason
    # The deny is narrow: other actions and other keys are still allowed.
    assert allowed(parsed, GET, "users/alice/secret/x")
    assert allowed(parsed, PUT, "users/alice/public/x")


def test_nothing_matching_is_the_default_deny():
    parsed = policy(statement(action=GET))
    decision = decide(parsed, PUT, R + "users/alice/a", {})
    assert decision == Decision(False, None, None, decision.reason)
    assert decision.reason.startswith("denied by default")


def test_a_deny_only_policy_allows_nothing():
    parsed = policy(statement(effect="deny", action=GET, resource="*"))
    decision = decide(parsed, PUT, R + "users/alice/a", {})
    assert decision.allowed is False
    assert decision.reason == "denied by default: the policy has no allow statement"


def test_the_first_matching_allow_is_named():
    parsed = policy(statement(action=GET), statement(action=[PUT, GET]), statement(action="*"))
    assert decide(parsed, PUT, R + "users/alice/a", {}).statement == 1
    assert decide(parsed, GET, R + "users/alice/a", {}).statement == 0


# --- actions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("*", PUT, True),
        ("*", "name/ci:DescribeMediaJobs", True),
        ("name/cos:*", PUT, True),
        ("name/cos:*", "name/cos:ListMultipartUploads", True),
        ("name/cos:*", "name/ci:DescribeMediaJobs", False),
        (PUT, PUT, True),
        (PUT, "name/cos:PutObjectACL", False),
        (PUT, "name/cos:putobject", False),
        (PUT, "name/cos:PUTOBJECT", False),
        (PUT, "Name/cos:PutObject", False),
        (PUT, "name/COS:PutObject", False),
        ("name/cos:putObject", PUT, False),
        ("cos:PutObject", PUT, False),
        ("name/cos:Put?bject", PUT, False),
    ],
)
def test_action_matching_is_wildcard_and_case_sensitive(pattern, action, expected):
    parsed = policy(statement(action=pattern))
    assert allowed(parsed, action, "users/alice/a") is expected


# --- resources -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("users/alice/", True),  # the root itself
        ("users/alice/a.txt", True),
        ("users/alice/a/b/c.txt", True),
        ("users/alice/*", True),
        ("users/alice/用户.txt", True),
        ("users/alice2/x", False),  # a sibling sharing the name's prefix
        ("users/alice2/", False),
        ("users/alice", False),
        ("users/Alice/x", False),
        ("users/bob/x", False),
        ("users/bob/users/alice/x", False),
        ("x/users/alice/x", False),
        ("", False),
    ],
)
def test_resource_prefix_wildcard(key, expected):
    parsed = policy(statement(resource=R + "users/alice/*"))
    assert allowed(parsed, PUT, key) is expected


def test_resource_in_another_bucket_or_region_is_not_covered():
    parsed = policy(statement(resource=R + "users/alice/*"))
    other_bucket = R.replace("examplebucket-", "otherbucket-") + "users/alice/a"
    other_region = R.replace("ap-guangzhou", "ap-beijing") + "users/alice/a"
    assert decide(parsed, PUT, other_bucket, {}).allowed is False
    assert decide(parsed, PUT, other_region, {}).allowed is False


def test_exact_resource_grants_only_that_object():
    parsed = policy(statement(resource=R + "doc/audio.mp3"))
    assert allowed(parsed, PUT, "doc/audio.mp3")
    assert not allowed(parsed, PUT, "doc/audio.mp3x")
    assert not allowed(parsed, PUT, "doc/audio.mp")


def test_question_mark_and_dot_in_a_resource_are_literal():
    parsed = policy(statement(resource=R + "a?c/b.txt"))
    assert allowed(parsed, PUT, "a?c/b.txt")
    assert not allowed(parsed, PUT, "abc/b.txt")
    assert not allowed(parsed, PUT, "a?c/bxtxt")


# --- conditions ----------------------------------------------------------------------

CAP = {"numeric_less_than_equal": {"cos:content-length": 100}}


def test_conditions_gate_an_allow():
    parsed = policy(statement(condition=CAP))
    assert allowed(parsed, PUT, "users/alice/a", {"cos:content-length": "100"})
    assert not allowed(parsed, PUT, "users/alice/a", {"cos:content-length": "101"})
    assert not allowed(parsed, PUT, "users/alice/a", {})  # absent, no _if_exist
    assert not allowed(parsed, PUT, "users/alice/a", {"cos:content-length": "lots"})


def test_conditions_gate_a_deny():
    parsed = policy(
        statement(action="*", resource="*"),
        statement(
            effect="deny",
            action="*",
            resource="*",
            condition={"ip_not_equal": {"qcs:ip": "10.0.0.0/8"}},
        ),
    )
    assert allowed(parsed, PUT, "users/alice/a", {"qcs:ip": "10.1.1.1"})
    decision = decide(parsed, PUT, R + "users/alice/a", {"qcs:ip": "8.8.8.8"})
    assert (decision.allowed, decision.statement) == (False, 1)
    assert decision.condition == "ip_not_equal qcs:ip 10.0.0.0/8"
    assert "qcs:ip is '8.8.8.8'" in decision.reason
    # Absent key, no _if_exist: the deny does not apply.
    assert allowed(parsed, PUT, "users/alice/a", {})


def test_the_documented_size_cap_pair():
    # COS-COND 46206: allow <= N, deny > N if present.
    parsed = policy(
        statement(condition=CAP),
        statement(
            effect="deny", condition={"numeric_greater_than_if_exist": {"cos:content-length": 100}}
        ),
    )
    assert allowed(parsed, PUT, "users/alice/a", {"cos:content-length": "99"})
    big = decide(parsed, PUT, R + "users/alice/a", {"cos:content-length": "101"})
    assert (big.allowed, big.statement) == (False, 1)
    # Absent: the deny's _if_exist applies, so it is an explicit deny.
    absent = decide(parsed, PUT, R + "users/alice/a", {})
    assert (absent.allowed, absent.statement) == (False, 1)


def test_all_conditions_of_a_statement_must_hold():
    both = {
        "string_equal": {"cos:x-cos-acl": "private", "cos:x-cos-storage-class": "STANDARD"},
        "numeric_less_than_equal_if_exist": {"cos:content-length": 10},
    }
    parsed = policy(statement(condition=both))
    good = {"cos:x-cos-acl": "private", "cos:x-cos-storage-class": "STANDARD"}
    assert allowed(parsed, PUT, "users/alice/a", good)
    assert allowed(parsed, PUT, "users/alice/a", {**good, "cos:content-length": "10"})
    assert not allowed(parsed, PUT, "users/alice/a", {**good, "cos:content-length": "11"})
    assert not allowed(parsed, PUT, "users/alice/a", {**good, "cos:x-cos-acl": "public-read"})
    assert not allowed(parsed, PUT, "users/alice/a", {**good, "cos:x-cos-storage-class": "ARCHIVE"})
    decision = decide(parsed, PUT, R + "users/alice/a", {"cos:x-cos-acl": "private"})
    assert decision.condition == "string_equal cos:x-cos-storage-class 'STANDARD'"
    assert "cos:x-cos-storage-class is absent" in decision.reason


def test_string_like_if_exist_on_content_type():
    parsed = policy(statement(condition={"string_like_if_exist": {"cos:content-type": "image/*"}}))
    assert allowed(parsed, PUT, "users/alice/a", {"cos:content-type": "image/png"})
    assert allowed(parsed, PUT, "users/alice/a", {})
    assert not allowed(parsed, PUT, "users/alice/a", {"cos:content-type": "text/html"})


# --- reasons -------------------------------------------------------------------------


def test_reason_when_no_statement_has_the_action():
    parsed = policy(statement(action=[GET, HEAD]))
    decision = decide(parsed, "name/cos:putObject", R + "users/alice/a", {})
    assert decision.reason == (
        "denied by default: no allow statement has the action 'name/cos:putObject' "
        f"(actions are case-sensitive); the allowed actions are {[GET, HEAD]!r}"
    )


def test_reason_when_no_resource_covers_the_key():
    parsed = policy(
        statement(action=GET), statement(resource=[R + "users/alice/*", R + "shared/*"])
    )
    decision = decide(parsed, PUT, R + "users/alice2/a", {})
    assert decision.statement is None
    assert decision.condition is None
    assert decision.reason == (
        f"denied by default: statement[1] allows {PUT!r} but no resource covers "
        f"{R + 'users/alice2/a'!r}; the allowed resources are "
        f"{[R + 'users/alice/*', R + 'shared/*']!r}"
    )


def test_reason_when_a_condition_fails_names_it_and_the_request_value():
    parsed = policy(statement(action=GET), statement(condition=CAP))
    absent = decide(parsed, PUT, R + "users/alice/a", {})
    assert absent.statement is None
    assert absent.condition == "numeric_less_than_equal cos:content-length 100"
    assert absent.reason == (
        f"denied by default: statement[1] allows {PUT!r} on {R + 'users/alice/a'!r} but its "
        "condition numeric_less_than_equal cos:content-length 100 does not hold "
        "(cos:content-length is absent)"
    )
    big = decide(parsed, PUT, R + "users/alice/a", {"cos:content-length": "250"})
    assert big.reason.endswith("does not hold (cos:content-length is '250')")
    junk = decide(parsed, PUT, R + "users/alice/a", {"cos:content-length": "2e5"})
    assert "'2e5', which is not a valid numeric value" in junk.reason


def test_the_first_failing_condition_is_the_one_reported():
    acl = {"string_equal": {"cos:x-cos-acl": "private"}}
    parsed = policy(statement(condition=CAP), statement(condition=acl))
    decision = decide(parsed, PUT, R + "users/alice/a", {})
    assert decision.condition == "numeric_less_than_equal cos:content-length 100"
    assert "statement[0]" in decision.reason
    both = policy(statement(condition={**acl, **CAP}))
    assert decide(both, PUT, R + "users/alice/a", {}).condition == (
        "string_equal cos:x-cos-acl 'private'"
    )


def test_a_condition_miss_is_reported_before_a_resource_miss():
    parsed = policy(statement(resource=R + "other/*"), statement(condition=CAP))
    decision = decide(parsed, PUT, R + "users/alice/a", {})
    assert "statement[1]" in decision.reason
    assert "numeric_less_than_equal cos:content-length 100" in decision.reason


def test_reasons_for_allow_and_deny_name_statement_patterns_and_conditions():
    parsed = policy(
        statement(action="name/cos:*", condition=CAP),
        statement(effect="deny", action=GET, resource=R + "users/alice/private/*"),
    )
    allow = decide(parsed, PUT, R + "users/alice/a", {"cos:content-length": "7"})
    assert allow == Decision(
        True,
        0,
        "numeric_less_than_equal cos:content-length 100",
        f"allowed by statement[0] (allow): action {PUT!r} matches 'name/cos:*', resource "
        f"{R + 'users/alice/a'!r} matches {R + 'users/alice/*'!r}, and its conditions hold: "
        "numeric_less_than_equal cos:content-length 100 (cos:content-length is '7')",
    )
    deny = decide(parsed, GET, R + "users/alice/private/p", {})
    assert deny == Decision(
        False,
        1,
        None,
        f"denied by statement[1] (deny): action {GET!r} matches {GET!r}, resource "
        f"{R + 'users/alice/private/p'!r} matches {R + 'users/alice/private/*'!r}",
    )


def test_reasons_escape_control_characters_in_keys():
    parsed = policy(statement(action=GET))
    assert "\n" not in decide(parsed, PUT, R + "users/alice/a\nforged log line", {}).reason


# --- property: a product-like policy against an independent oracle -------------------

ACTIONS = [
    "name/cos:PutObject",
    "name/cos:PostObject",
    "name/cos:GetObject",
    "name/cos:HeadObject",
    "name/cos:DeleteObject",
    "name/cos:AppendObject",
    "name/cos:OptionsObject",
    "name/cos:InitiateMultipartUpload",
    "name/cos:UploadPart",
    "name/cos:CompleteMultipartUpload",
    "name/cos:AbortMultipartUpload",
    "name/cos:ListParts",
    "name/cos:ListMultipartUploads",
]
REQUEST_ACTIONS = [*ACTIONS, "name/cos:GetBucket", "name/cos:putobject", "name/ci:Describe", "*"]
UID = st.text(string.ascii_letters + string.digits + "_.@-", min_size=1, max_size=10).filter(
    lambda uid: uid not in (".", "..")
)
KEY_TEXT = st.text(alphabet=st.sampled_from("ab/.*?%用 \n"), max_size=12)


@st.composite
def cases(draw):
    uid = draw(UID)
    root = f"users/{uid}/"
    key = draw(
        st.one_of(
            KEY_TEXT.map(lambda tail: root + tail),
            KEY_TEXT.map(lambda tail: f"users/{uid}2/" + tail),
            KEY_TEXT.map(lambda tail: f"users/{uid}" + tail),
            KEY_TEXT.map(lambda tail: "users/other/" + tail),
            KEY_TEXT,
            st.just(root),
            st.just(root[:-1]),
        )
    )
    granted = draw(st.sets(st.sampled_from(ACTIONS), min_size=1))
    action = draw(st.sampled_from(REQUEST_ACTIONS))
    cap = draw(st.none() | st.integers(0, 10**9))
    length = draw(st.none() | st.integers(0, 2 * 10**9))
    image_only = draw(st.booleans())
    content_type = draw(st.sampled_from([None, "image/png", "image/", "text/plain", "imagex/a"]))
    split = draw(st.booleans())
    return root, key, granted, action, cap, length, image_only, content_type, split


def product_like_policy(root, granted, cap, image_only, split) -> str:
    """What the credential function emits for a user root (written here from scratch)."""
    condition = {}
    if cap is not None:
        condition["numeric_less_than_equal"] = {"cos:content-length": cap}
    if image_only:
        condition["string_like_if_exist"] = {"cos:content-type": ["image/*"]}
    groups = [[action] for action in sorted(granted)] if split else [sorted(granted)]
    statements = []
    for actions in groups:
        raw = {"effect": "allow", "action": actions, "resource": [R + root + "*"]}
        if condition:
            raw["condition"] = condition
        statements.append(raw)
    return json.dumps({"version": "2.0", "statement": statements})


@settings(max_examples=examples(600))
@given(cases())
def test_product_like_policy_matches_the_oracle(case):
    root, key, granted, action, cap, length, image_only, content_type, split = case
    values = {}
    if length is not None:
        values["cos:content-length"] = str(length)
    if content_type is not None:
        values["cos:content-type"] = content_type
    expected = (
        key.startswith(root)
        and action in granted
        and (cap is None or (length is not None and length <= cap))
        and (not image_only or content_type is None or content_type.startswith("image/"))
    )
    parsed = parse_policy(product_like_policy(root, granted, cap, image_only, split))
    decision = decide(parsed, action, R + key, values)
    assert decision.allowed is expected, decision.reason
    if expected:
        assert parsed.statements[decision.statement].effect == "allow"
    else:
        assert decision.statement is None
        assert decision.reason.startswith("denied by default")
