"""User IDs and root rendering (sts_core/user_prefix.py), under attack and under
hypothesis, against the independent containment oracle (tests/support/containment.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sts_core.errors import Forbidden
from sts_core.user_prefix import check_user_id, render_root
from tests.support.containment import escapes_root, root_resource, target_for
from tests.support.examples import examples

DEFAULT_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
ANYTHING = re.compile(r"(?s).*")  # a careless operator's pattern: the hard rules still hold


# -- user IDs ----------------------------------------------------------------------

HOSTILE_USER_IDS = [
    "",
    ".",
    "..",
    "a..b",
    "../bob",
    "alice/../bob",
    "alice/",
    "/alice",
    "*",
    "alice*",
    "a?b",
    "a\\b",
    "a b",
    " alice",
    "alice\n",
    "a\x00b",
    "a\tb",
    "${uin}",
    "{uid}",
    "a%2Fb",
    "%2e%2e",
    "alice:bob",
    'a"b',
    "a'b",
    "\uff41\uff4c\uff49\uff43\uff45",  # full-width "alice"
    "alice\uff0fbob",  # full-width solidus
    "\uff0e\uff0e",  # full-width dots
    "a\u200bb",  # zero-width space
    "a\u202eb",  # right-to-left override
    "a\u00a0b",  # no-break space
    "e\u0301",  # combining accent (not NFKC)
    "x" * 129,
    "\u0430lice",  # Cyrillic a: NFKC-stable, refused by the ASCII pattern
    "a#b",
    "a|b",
]


@pytest.mark.parametrize("user_id", HOSTILE_USER_IDS)
def test_hostile_user_ids_are_refused_with_403(user_id):
    with pytest.raises(Forbidden) as caught:
        check_user_id(user_id, DEFAULT_PATTERN)
    assert caught.value.status == 403
    assert caught.value.code == "user_id_rejected"


@pytest.mark.parametrize("user_id", [u for u in HOSTILE_USER_IDS if u != "\u0430lice"])
def test_hard_rules_hold_even_with_a_permissive_pattern(user_id):
    with pytest.raises(Forbidden):
        check_user_id(user_id, ANYTHING)


@pytest.mark.parametrize(
    "user_id", ["alice", "alice2", "user@example.com", "a.b", "A_B-c", "x" * 128, "42", ".hidden"]
)
def test_ordinary_user_ids_are_accepted(user_id):
    assert check_user_id(user_id, DEFAULT_PATTERN) == user_id
    assert render_root("users/{uid}/", user_id) == f"users/{user_id}/"


def test_configured_length_only_narrows():
    with pytest.raises(Forbidden):
        check_user_id("abcdef", DEFAULT_PATTERN, max_length=5)
    with pytest.raises(Forbidden):
        check_user_id("x" * 129, ANYTHING, max_length=1000)


def test_render_is_plain_replacement_not_format():
    assert render_root("users/{uid}/", "{0.__class__}") == "users/{0.__class__}/"


@settings(max_examples=examples(500))
@given(st.text(max_size=140))
def test_any_accepted_id_renders_a_root_that_prefixes_no_other(user_id):
    try:
        check_user_id(user_id, ANYTHING)
    except Forbidden:
        return
    root = render_root("users/{uid}/", user_id)
    assert root.count("/") == 2
    assert root.endswith("/")
    assert not escapes_root(root_resource(target_for(user_id)) + "*", target_for(user_id))


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_no_root_is_a_prefix_of_another(first, second):
    assume(first != second)
    for user_id in (first, second):
        try:
            check_user_id(user_id, ANYTHING)
        except Forbidden:
            return
    a, b = render_root("users/{uid}/", first), render_root("users/{uid}/", second)
    assert not a.startswith(b)
    assert not b.startswith(a)
