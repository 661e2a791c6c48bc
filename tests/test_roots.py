"""Root templates and the overlap rules (sts_core/roots.py), checked against an
oracle that renders roots for many identities.

The oracle knows nothing of the rules: it renders every template for every
assignment of its placeholders (user IDs and claim values drawn from the
configs' own literals, so every caller-chosen collision is tried), then looks
at every pair of rendered roots where one contains the other. Two roots of
different owners (the values of a template's own placeholders) may overlap only
when the outer one is read-only and all its own placeholders agree with the
inner one's. Whenever the validator accepts a config, that holds.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from sts_core.roots import TemplateError, check_template
from tests.support import make_env, shipped_config
from tests.support.examples import examples

LITERALS = ("users", "public", "a")
VALUES = (*LITERALS, "zed")  # every literal, and one value that is none of them
PLACEHOLDERS = ("{uid}", "{claim:org}", "{claim:team}")
READ = ("name/cos:GetObject", "name/cos:GetBucket")
WRITE = ("name/cos:GetObject", "name/cos:PutObject")


@st.composite
def templates(draw, uid: bool):
    """1-3 segments, each placeholder at most once; `uid`: exactly one {uid}, else none.

    A placeholder once drawn leaves the pool, so no drawn template is thrown away."""
    pool = [p for p in PLACEHOLDERS if p != "{uid}"]
    length = draw(st.integers(1, 3))
    segments = []
    for _ in range(length):
        segment = draw(st.sampled_from([*LITERALS, *pool]))
        if segment in pool:
            pool.remove(segment)
        segments.append(segment)
    if uid:
        segments[draw(st.integers(0, length - 1))] = "{uid}"
    return "/".join(segments) + "/"


@st.composite
def configs(draw):
    user_root = draw(templates(uid=True))
    grants = []
    for _ in range(draw(st.integers(1, 4))):
        root = draw(st.one_of(st.just(user_root), templates(uid=True), templates(uid=False)))
        grants.append((root, draw(st.sampled_from([READ, WRITE]))))
    shared = sorted({root for root, _ in grants if "{uid}" not in root})
    document = shipped_config()
    document["prefix"]["template"] = user_root
    document["shared_roots"] = shared
    document["profiles"] = {
        "p": {"grants": [{"root": root, "actions": list(acts)} for root, acts in grants]}
    }
    document["default_profile"] = "p"
    return document


def oracle_violations(document):
    """Pairs of rendered roots, of different owners, that one may not share with the other."""
    actions: dict[str, set[str]] = {document["prefix"]["template"]: set()}
    for root in document["shared_roots"]:
        actions.setdefault(root, set())
    for grant in document["profiles"]["p"]["grants"]:
        actions.setdefault(grant["root"], set()).update(grant["actions"])
    rendered = []  # (segments, template, owner)
    for template in actions:
        names = [s for s in template.rstrip("/").split("/") if s.startswith("{")]
        for values in itertools.product(VALUES, repeat=len(names)):
            owner = dict(zip(names, values))
            text = template
            for name, value in owner.items():
                text = text.replace(name, value)
            rendered.append((tuple(text.rstrip("/").split("/")), template, owner))
    by_segments: dict[tuple[str, ...], list] = {}
    for item in rendered:
        by_segments.setdefault(item[0], []).append(item)
    for inner_segments, inner, inner_owner in rendered:
        for depth in range(1, len(inner_segments) + 1):
            for _, outer, outer_owner in by_segments.get(inner_segments[:depth], ()):
                if (outer, outer_owner) == (inner, inner_owner):
                    continue
                written = not actions[outer] <= set(READ)
                agrees = outer_owner.items() <= inner_owner.items()
                if (written and outer_owner != inner_owner) or not agrees:
                    yield outer, outer_owner, inner, inner_owner


@settings(max_examples=examples(400))
@given(configs())
def test_an_accepted_config_never_lets_one_owner_reach_anothers_root(document):
    try:
        parse_config(document, make_env())
    except ConfigError:
        assume(False)
    assert next(oracle_violations(document), None) is None


def test_the_oracle_sees_the_reviewed_attacks():
    """The oracle is not vacuous: each attack of the review is a violation to it."""
    attacks = [
        ("users/{uid}/", [("{claim:org}/", READ)]),
        ("users/{uid}/", [("a/{claim:org}/", WRITE), ("a/public/", READ)]),
        ("users/{uid}/", [("{claim:org}/", WRITE), ("public/", READ)]),
        ("a/{uid}/", [("a/{uid}/", WRITE), ("a/public/", READ)]),
        ("a/{claim:org}/{uid}/", [("a/{claim:org}/", WRITE)]),
    ]
    for user_root, grants in attacks:
        document = shipped_config()
        document["prefix"]["template"] = user_root
        document["shared_roots"] = [r for r, _ in grants if "{uid}" not in r]
        document["profiles"] = {
            "p": {"grants": [{"root": r, "actions": list(a)} for r, a in grants]}
        }
        document["default_profile"] = "p"
        assert next(oracle_violations(document), None) is not None, user_root
        with pytest.raises(ConfigError):
            parse_config(document, make_env())


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("\uff55/{uid}/", "NFKC"),  # a full-width u
        ("users/{uid}/{uid}/", "at most once"),
        ("t/{claim:x}/{claim:x}/", "each placeholder at most once"),
        ("users/{uid}", "end with '/'"),
        ("", "whole bucket"),
        ("a/./{uid}/", "'.' segments"),
        ("a\u200b/{uid}/", "control"),
    ],
)
def test_unsafe_templates_are_refused_with_the_reason(template, words):
    with pytest.raises(TemplateError, match=words):
        check_template(template)
