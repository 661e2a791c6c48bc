"""Conditions: every operator with and without _if_exist, absent and unparsable values,
OR over values, negation over several values, and strict parsing (PolicyError)."""

from __future__ import annotations

import ipaddress

import pytest

from sts_tools.emulators.cos.conditions import (
    OPERATORS,
    Condition,
    PolicyError,
    describe,
    holds,
    parse_conditions,
    render,
)


def one(operator: str, key: str, value) -> Condition:
    (condition,) = parse_conditions({operator: {key: value}})
    return condition


# (operator, key, policy value, request value, holds)
PRESENT = [
    ("string_equal", "cos:x-cos-acl", "private", "private", True),
    ("string_equal", "cos:x-cos-acl", "private", "public-read", False),
    ("string_equal", "cos:x-cos-acl", "private", "Private", False),
    ("string_equal", "cos:x-cos-acl", "private", "", False),
    ("string_equal", "cos:prefix", "folder%2F", "folder%2F", True),
    ("string_equal", "cos:prefix", "folder%2F", "folder/", False),
    ("string_not_equal", "cos:x-cos-acl", "private", "public-read", True),
    ("string_not_equal", "cos:x-cos-acl", "private", "private", False),
    ("string_like", "cos:content-type", "image/*", "image/png", True),
    ("string_like", "cos:content-type", "image/*", "image/", True),
    ("string_like", "cos:content-type", "image/*", "text/plain", False),
    ("string_like", "cos:content-type", "image/*", "IMAGE/png", False),
    ("string_like", "cos:content-type", "image/*", "image", False),
    ("string_like", "cos:content-type", "image/?", "image/x", False),
    ("string_not_like", "cos:content-type", "image/*", "text/plain", True),
    ("string_not_like", "cos:content-type", "image/*", "image/png", False),
    ("ip_equal", "qcs:ip", "10.0.0.0/8", "10.1.2.3", True),
    ("ip_equal", "qcs:ip", "10.0.0.0/8", "11.0.0.1", False),
    ("ip_equal", "qcs:ip", "10.217.182.3/24", "10.217.182.200", True),  # host bits set
    ("ip_equal", "qcs:ip", "10.217.182.3/24", "10.217.183.1", False),
    ("ip_equal", "qcs:ip", "192.168.1.5", "192.168.1.5", True),
    ("ip_equal", "qcs:ip", "192.168.1.5", "192.168.1.6", False),
    ("ip_equal", "qcs:ip", "2001:db8::/32", "2001:db8::1", True),
    ("ip_equal", "qcs:ip", "2001:db8::/32", "2001:db9::1", False),
    ("ip_equal", "qcs:ip", "::/0", "10.0.0.1", False),  # v4 client, v6 block
    ("ip_equal", "qcs:ip", "0.0.0.0/0", "2001:db8::1", False),  # v6 client, v4 block
    ("ip_equal", "qcs:ip", "10.0.0.0/8", "::ffff:10.1.2.3", True),  # dual-stack socket
    ("ip_not_equal", "qcs:ip", "10.0.0.0/8", "11.0.0.1", True),
    ("ip_not_equal", "qcs:ip", "10.0.0.0/8", "10.0.0.1", False),
    ("ip_not_equal", "qcs:ip", "2001:db8::/32", "2001:db8::1", False),
    ("numeric_equal", "cos:content-length", 100, "100", True),
    ("numeric_equal", "cos:content-length", 100, "0100", True),
    ("numeric_equal", "cos:content-length", 100, "101", False),
    ("numeric_equal", "cos:content-length", "100", "100", True),  # numeric string in policy
    ("numeric_not_equal", "cos:content-length", 100, "101", True),
    ("numeric_not_equal", "cos:content-length", 100, "100", False),
    ("numeric_greater_than", "cos:content-length", 100, "101", True),
    ("numeric_greater_than", "cos:content-length", 100, "100", False),
    ("numeric_greater_than_equal", "cos:content-length", 100, "100", True),
    ("numeric_greater_than_equal", "cos:content-length", 100, "99", False),
    ("numeric_less_than", "cos:content-length", 100, "99", True),
    ("numeric_less_than", "cos:content-length", 100, "100", False),
    ("numeric_less_than_equal", "cos:content-length", 100, "100", True),
    ("numeric_less_than_equal", "cos:content-length", 100, "101", False),
    ("numeric_less_than_equal", "cos:content-length", 104857600, "104857600", True),
    ("numeric_less_than_equal", "cos:content-length", 104857600, "104857601", False),
    ("numeric_less_than", "cos:content-length", 1.5, "1.2", True),
    ("numeric_less_than", "cos:content-length", 1.5, "1.5", False),
    ("bool_equal", "cos:secure-transport", True, "true", True),
    ("bool_equal", "cos:secure-transport", True, "false", False),
    ("bool_equal", "cos:secure-transport", "false", "false", True),
    ("bool_equal", "cos:secure-transport", "false", "true", False),
]


def test_the_table_covers_every_operator():
    assert {row[0] for row in PRESENT} == set(OPERATORS)


@pytest.mark.parametrize("suffix", ["", "_if_exist"])
@pytest.mark.parametrize(("operator", "key", "value", "request_value", "expected"), PRESENT)
def test_present_value(operator, key, value, request_value, expected, suffix):
    condition = one(operator + suffix, key, value)
    assert holds(condition, {key: request_value}) is expected


@pytest.mark.parametrize("operator", sorted(OPERATORS))
def test_missing_key_holds_only_with_if_exist(operator):
    key, value = next((row[1], row[2]) for row in PRESENT if row[0] == operator)
    other = {"cos:versionid": "v1"}  # something present, just not this key
    assert holds(one(operator, key, value), other) is False
    assert holds(one(operator, key, value), {}) is False
    assert holds(one(operator + "_if_exist", key, value), other) is True
    assert holds(one(operator + "_if_exist", key, value), {}) is True


UNPARSABLE = {
    "numeric": [
        "",
        "abc",
        " 100",
        "100 ",
        "1_000",
        "+5",
        "1e3",
        "0x10",
        "\u0661\u0660\u0660",
        "1.",
        ".5",
        "NaN",
    ],
    "ip": ["", "host", "10.0.0.256", "10.0.0.1/8", " 10.0.0.1", "fe80::1::2", "10.0.0"],
    "bool": ["", "TRUE", "True", "yes", "1", "0", " true"],
}


@pytest.mark.parametrize("suffix", ["", "_if_exist"])
@pytest.mark.parametrize("operator", sorted(o for o in OPERATORS if not o.startswith("string")))
def test_unparsable_request_value_never_holds(operator, suffix):
    # Negated operators too: "not equal to 100" must not be true of "abc".
    key, value = next((row[1], row[2]) for row in PRESENT if row[0] == operator)
    kind = OPERATORS[operator].kind
    condition = one(operator + suffix, key, value)
    for text in UNPARSABLE[kind]:
        assert holds(condition, {key: text}) is False, text


@pytest.mark.parametrize(
    ("operator", "key", "values", "request_value", "expected"),
    [
        ("string_equal", "cos:x-cos-acl", ["private", "public-read"], "public-read", True),
        ("string_equal", "cos:x-cos-acl", ["private", "public-read"], "default", False),
        ("string_like", "cos:content-type", ["image/*", "video/*"], "video/mp4", True),
        ("string_like", "cos:content-type", ["image/*", "video/*"], "text/html", False),
        ("ip_equal", "qcs:ip", ["10.0.0.0/8", "2001:db8::/32"], "2001:db8::5", True),
        ("ip_equal", "qcs:ip", ["10.0.0.0/8", "192.168.0.0/16"], "192.168.3.4", True),
        ("ip_equal", "qcs:ip", ["10.0.0.0/8", "192.168.0.0/16"], "172.16.0.1", False),
        ("numeric_equal", "cos:content-length", [1, 2, 3], "2", True),
        ("numeric_equal", "cos:content-length", [1, 2, 3], "4", False),
        ("numeric_less_than", "cos:content-length", [10, 1000], "500", True),  # any of them
        ("bool_equal", "cos:secure-transport", [True, False], "false", True),
    ],
)
def test_several_values_are_ored(operator, key, values, request_value, expected):
    assert holds(one(operator, key, values), {key: request_value}) is expected


@pytest.mark.parametrize(
    ("operator", "key", "values", "request_value", "expected"),
    [
        ("string_not_equal", "cos:x-cos-acl", ["private", "default"], "private", False),
        ("string_not_equal", "cos:x-cos-acl", ["private", "default"], "default", False),
        ("string_not_equal", "cos:x-cos-acl", ["private", "default"], "public-read", True),
        ("string_not_like", "cos:content-type", ["image/*", "video/*"], "video/mp4", False),
        ("string_not_like", "cos:content-type", ["image/*", "video/*"], "image/png", False),
        ("string_not_like", "cos:content-type", ["image/*", "video/*"], "text/plain", True),
        ("ip_not_equal", "qcs:ip", ["10.0.0.0/8", "192.168.0.0/16"], "192.168.1.1", False),
        ("ip_not_equal", "qcs:ip", ["10.0.0.0/8", "192.168.0.0/16"], "10.9.9.9", False),
        ("ip_not_equal", "qcs:ip", ["10.0.0.0/8", "192.168.0.0/16"], "8.8.8.8", True),
        ("numeric_not_equal", "cos:content-length", [1, 2], "1", False),
        ("numeric_not_equal", "cos:content-length", [1, 2], "2", False),
        ("numeric_not_equal", "cos:content-length", [1, 2], "3", True),
    ],
)
def test_negated_operators_need_the_value_to_differ_from_all(
    operator, key, values, request_value, expected
):
    assert holds(one(operator, key, values), {key: request_value}) is expected
    assert holds(one(operator + "_if_exist", key, values), {key: request_value}) is expected


def test_one_condition_per_operator_and_key():
    block = {
        "string_equal": {"cos:x-cos-acl": "private", "cos:x-cos-storage-class": "STANDARD"},
        "numeric_less_than_equal_if_exist": {"cos:content-length": 10},
    }
    parsed = parse_conditions(block)
    assert [(c.operator, c.key, c.if_exist) for c in parsed] == [
        ("string_equal", "cos:x-cos-acl", False),
        ("string_equal", "cos:x-cos-storage-class", False),
        ("numeric_less_than_equal_if_exist", "cos:content-length", True),
    ]


def test_values_are_converted_once_at_parse_time():
    assert one("ip_equal", "qcs:ip", "10.217.182.3/24").values == (
        ipaddress.ip_network("10.217.182.0/24"),
    )
    assert one("numeric_equal", "cos:content-length", ["7", 8, 1.5]).values == (7, 8, 1.5)
    assert one("bool_equal", "cos:secure-transport", "true").values == (True,)
    assert one("string_not_equal_if_exist", "cos:x-cos-acl", "a").negate is True
    assert one("string_equal", "cos:x-cos-acl", "a").negate is False


def test_the_policy_value_pattern_is_the_wildcard_not_the_request_value():
    # string_like matches the request against the policy's pattern, never the reverse.
    assert (
        holds(one("string_like", "cos:content-type", "image/png"), {"cos:content-type": "*"})
        is False
    )


@pytest.mark.parametrize(
    "block",
    [
        # unknown operators and qualifiers
        {"string_equals": {"cos:x-cos-acl": "a"}},
        {"StringEquals": {"cos:x-cos-acl": "a"}},
        {"String_Equal": {"cos:x-cos-acl": "a"}},
        {"for_any_value:string_equal": {"cos:x-cos-acl": "a"}},
        {"string_equal_ignore_case": {"cos:x-cos-acl": "a"}},
        {"null_equal": {"cos:x-cos-acl": True}},
        {"date_less_than": {"cos:x-cos-acl": "2030-01-01T00:00:00Z"}},
        {"_if_exist": {"cos:x-cos-acl": "a"}},
        {"string_equal_if_exist_if_exist": {"cos:x-cos-acl": "a"}},
        {"string_equal_IF_EXIST": {"cos:x-cos-acl": "a"}},
        {"": {"cos:x-cos-acl": "a"}},
        # unknown keys
        {"string_equal": {"cos:Content-Type": "a"}},
        {"string_equal": {"qcs:vpc": "vpc-1"}},
        {"string_equal": {"cos:content_type": "a"}},
        {"string_equal": {"x-cos-acl": "a"}},
        {"string_equal": {"": "a"}},
        # operator family does not fit the key's type
        {"numeric_equal": {"cos:content-type": 1}},
        {"string_equal": {"qcs:ip": "10.0.0.1"}},
        {"string_like": {"qcs:ip": "10.*"}},
        {"string_equal": {"cos:content-length": "100"}},
        {"ip_equal": {"cos:content-length": "10.0.0.0/8"}},
        {"bool_equal": {"cos:x-cos-acl": True}},
        {"numeric_less_than": {"cos:secure-transport": 1}},
        # values of the wrong type or shape
        {"numeric_equal": {"cos:content-length": "abc"}},
        {"numeric_equal": {"cos:content-length": True}},
        {"numeric_equal": {"cos:content-length": None}},
        {"numeric_equal": {"cos:content-length": "1e3"}},
        {"numeric_equal": {"cos:content-length": float("inf")}},
        {"numeric_equal": {"cos:content-length": [[1]]}},
        {"numeric_equal": {"cos:content-length": {"a": 1}}},
        {"numeric_equal": {"cos:content-length": []}},
        {"ip_equal": {"qcs:ip": "10.0.0.0/33"}},
        {"ip_equal": {"qcs:ip": "localhost"}},
        {"ip_equal": {"qcs:ip": 167772161}},
        {"bool_equal": {"cos:secure-transport": "yes"}},
        {"bool_equal": {"cos:secure-transport": 1}},
        {"string_equal": {"cos:x-cos-acl": 5}},
        {"string_equal": {"cos:x-cos-acl": None}},
        {"string_equal": {"cos:x-cos-acl": ["a", 1]}},
        {"string_like": {"cos:content-type": ["image/*", None]}},
        # block shapes
        {"string_equal": {}},
        {"string_equal": "cos:x-cos-acl"},
        {"string_equal": [{"cos:x-cos-acl": "a"}]},
        [],
        "string_equal",
        None,
    ],
)
def test_anything_unknown_is_a_policy_error(block):
    with pytest.raises(PolicyError):
        parse_conditions(block)


def test_policy_error_names_the_culprit():
    with pytest.raises(PolicyError, match="string_equals"):
        parse_conditions({"string_equals": {"cos:x-cos-acl": "a"}})
    with pytest.raises(PolicyError, match="qcs:vpc"):
        parse_conditions({"string_equal": {"qcs:vpc": "a"}})
    with pytest.raises(PolicyError, match="cos:content-type is string"):
        parse_conditions({"numeric_equal": {"cos:content-type": 1}})


def test_an_empty_block_is_no_condition():
    assert parse_conditions({}) == ()


def test_render_and_describe():
    cap = one("numeric_less_than_equal", "cos:content-length", 104857600)
    assert render(cap) == "numeric_less_than_equal cos:content-length 104857600"
    kinds = one("string_like_if_exist", "cos:content-type", ["image/*", "video/*"])
    assert render(kinds) == "string_like_if_exist cos:content-type ['image/*', 'video/*']"
    assert render(one("bool_equal", "cos:secure-transport", "true")) == (
        "bool_equal cos:secure-transport true"
    )
    assert describe(cap, {}) == "cos:content-length is absent"
    assert describe(cap, {"cos:content-length": "12"}) == "cos:content-length is '12'"
    assert "not a valid numeric value" in describe(cap, {"cos:content-length": "12k"})
    # Control characters in a request value are escaped, so a log line stays one line.
    assert "\n" not in describe(kinds, {"cos:content-type": "a\nb"})
