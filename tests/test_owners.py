"""roots.owner_of: an object key read back into the root that holds it, by the same
rules that render roots for a grant (checked against rendering, the oracle)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from sts_core.config_model import DEFAULT_USER_ID_PATTERN
from sts_core.roots import owner_of
from sts_core.user_prefix import check_user_id, render_root

PATTERN = re.compile(DEFAULT_USER_ID_PATTERN)
TEMPLATES = ("users/{uid}/", "public/", "protected/", "protected/{uid}/",
             "tenants/{claim:org}/users/{uid}/")  # fmt: skip
USER = st.from_regex(r"[A-Za-z0-9_.@-]{1,20}", fullmatch=True).filter(
    lambda u: ".." not in u and u != "."
)
NAME = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
               min_size=1, max_size=30)  # fmt: skip


def check(value: str) -> str:
    return check_user_id(value, PATTERN)


@given(USER, USER, NAME, st.sampled_from([t for t in TEMPLATES if "{uid}" in t]))
@settings(max_examples=300)
def test_a_key_under_a_rendered_root_belongs_to_its_user(user, org, name, template):
    root = render_root(template, user, {"org": org}, PATTERN)
    owner = owner_of(root + name, TEMPLATES, check)
    assert owner is not None
    assert (owner.template, owner.root, owner.user_id) == (template, root, user)


@given(NAME)
def test_a_shared_area_has_no_user(name):
    owner = owner_of("public/" + name, TEMPLATES, check)
    assert owner is not None
    assert owner.user_id is None
    assert owner.root == "public/"


def test_keys_no_grant_could_render_belong_to_no_one():
    for key in ("users/alice", "users/", "users/../x", "users/a b/x", "users/a%2Fb/x",
                "Users/alice/x", "/users/alice/x", "users//x", "elsewhere/x", "publicx/y",
                "users/\uff41lice/x", "users/" + "a" * 129 + "/x"):  # fmt: skip
        assert owner_of(key, TEMPLATES, check) is None, key


def test_a_user_root_inside_a_shared_area_wins():
    owner = owner_of("protected/alice/x.jpg", TEMPLATES, check)
    assert owner is not None
    assert owner.user_id == "alice"
    assert owner.template == "protected/{uid}/"
    folder = owner_of("protected/x.jpg", TEMPLATES, check)
    assert folder is not None
    assert folder.user_id is None
