"""wildcard.match: '*' is the only syntax; checked by a table and against two naive oracles."""

from __future__ import annotations

import functools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sts_tools.emulators.cos.wildcard import match
from tests.support.examples import examples

CASES = [
    # empty pattern / empty text
    ("", "", True),
    ("", "a", False),
    ("a", "", False),
    ("*", "", True),
    ("**", "", True),
    ("a*", "", False),
    ("*a", "", False),
    # plain text is compared exactly, case-sensitively
    ("abc", "abc", True),
    ("abc", "ABC", False),
    ("abc", "abcd", False),
    ("abcd", "abc", False),
    # characters that are syntax elsewhere are literal here
    ("?", "a", False),
    ("?", "?", True),
    ("a?c", "abc", False),
    ("[ab]", "a", False),
    ("[ab]", "[ab]", True),
    ("[!a]", "b", False),
    ("a.c", "abc", False),
    ("a.c", "a.c", True),
    (".*", "abc", False),
    (".*", ".xyz", True),
    ("a+", "aa", False),
    ("^a$", "a", False),
    ("^a$", "^a$", True),
    ("(a|b)", "a", False),
    ("\\*", "\\anything", True),
    ("\\*", "*", False),
    ("a\\", "a\\", True),
    ("{a,b}", "a", False),
    # '*' spans '/', '.', newlines and the empty run
    ("*", "a/b/c.txt", True),
    ("*", "line\nbreak", True),
    ("a*c", "a/b/c", True),
    ("a*c", "ac", True),
    ("users/alice/*", "users/alice/", True),
    ("users/alice/*", "users/alice/a/b/c.txt", True),
    ("users/alice/*", "users/alice", False),
    ("users/alice/*", "users/alice2/x", False),
    ("users/alice/*", "users/bob/alice/x", False),
    ("*.jpg", "a/b.jpg", True),
    ("*.jpg", "a/b.jpeg", False),
    ("*.jpg", "jpg", False),
    ("image/*", "image/png", True),
    ("image/*", "Image/png", False),
    ("name/cos:*", "name/cos:PutObject", True),
    ("name/cos:*", "name/ci:Describe", False),
    ("name/cos:Put*", "name/cos:PutObjectACL", True),
    ("用户/*", "用户/文件.txt", True),
    ("用户/*", "用戶/文件.txt", False),
    # several stars: pieces in order, prefix and suffix never overlapping
    ("a*b*c", "abc", True),
    ("a*b*c", "aXbYc", True),
    ("a*b*c", "acb", False),
    ("a*b*c", "abcbc", True),
    ("a*b*c", "abcb", False),
    ("ab*ba", "aba", False),
    ("ab*ba", "abba", True),
    ("a**b", "ab", True),
    ("*a*", "bab", True),
    ("*a*", "bbb", False),
    ("*a*b*", "ba", False),
    ("*ab*ab*", "abab", True),
    ("*ab*ab*", "aba", False),
    ("*aa*", "aXa", False),
    ("a*a*a", "aaa", True),
    ("a*a*a", "aa", False),
    ("*?*", "x?y", True),
    ("*?*", "xy", False),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), CASES)
def test_table(pattern, text, expected):
    assert match(pattern, text) is expected


def test_many_stars_against_a_long_text_stay_fast():
    # A backtracking matcher takes exponential time here; this one does not.
    assert match("a*" * 30 + "b", "a" * 20000) is False
    assert match("*a" * 30, "a" * 20000) is True


@functools.cache
def naive(pattern: str, text: str) -> bool:
    """Straight from the definition: a star eats 0..n characters, anything else itself."""
    if not pattern:
        return not text
    if pattern[0] == "*":
        return any(naive(pattern[1:], text[cut:]) for cut in range(len(text) + 1))
    return bool(text) and text[0] == pattern[0] and naive(pattern[1:], text[1:])


def escaped_regex(pattern: str, text: str) -> bool:
    pieces = (re.escape(piece) for piece in pattern.split("*"))
    return re.fullmatch(".*".join(pieces), text, flags=re.DOTALL) is not None


ALPHABET = "ab*?./[]\n"


@st.composite
def pattern_and_text(draw):
    pattern = draw(st.text(alphabet=ALPHABET, max_size=10))
    how = draw(st.sampled_from(["random", "filled", "overlapping"]))
    if how == "random":
        # A two-letter alphabet makes near misses (overlaps, repeats) common.
        letters = draw(st.sampled_from(["ab", ALPHABET.replace("*", "")]))
        text = draw(st.text(alphabet=letters, max_size=12))
    elif how == "filled":
        # Fill each star with something, then maybe damage it: matches stay common.
        fills = [draw(st.text(alphabet=ALPHABET, max_size=4)) for _ in pattern]
        pieces = pattern.split("*")
        text = pieces[0] + "".join(fill + piece for fill, piece in zip(fills, pieces[1:]))
        if text and draw(st.booleans()):
            cut = draw(st.integers(0, len(text) - 1))
            text = text[:cut] + draw(st.sampled_from("ab?.")) + text[cut + 1 :]
    else:
        # The text starts with the prefix and ends with the suffix, but they would have
        # to overlap: "ab*ba" against "aba".
        text = draw(st.text(alphabet="ab", min_size=1, max_size=8))
        head = draw(st.integers(1, len(text)))
        tail = draw(st.integers(0, head - 1))
        pattern = text[:head] + "*" + text[tail:]
    return pattern, text


@settings(max_examples=examples(800))
@given(pattern_and_text())
def test_agrees_with_naive_oracles(case):
    pattern, text = case
    expected = naive(pattern, text)
    assert escaped_regex(pattern, text) is expected  # the two oracles agree with each other
    assert match(pattern, text) is expected
