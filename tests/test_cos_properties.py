"""Property: for random user IDs and object keys, keys minted by the handler are
allowed on a key exactly when an independent oracle says the key lies inside that
user's root and the profile has the action.

The oracle is written here from the contract (the product contract, "The prefix": the root is
``users/<uid>/``; the profile's actions come from config.yml read as plain YAML),
not from the product's policy builder nor the local COS's evaluator.
"""

from __future__ import annotations

import string
from urllib.parse import unquote

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st

import index
from tests.support import body_of, context, event, make_env, make_service, shipped_config, token
from tests.support.cos import REQUESTS, sign
from tests.support.examples import examples

# Profiles that give keys (a tickets_only profile answers a keys request 403).
PROFILES = {n: p for n, p in shipped_config()["profiles"].items() if not p.get("tickets_only")}
# Object-level actions (the key is the path) and the request each is.
OBJECT_REQUESTS = {
    action: request for action, request in REQUESTS.items() if None not in request[1].values()
}

USER_CHARS = string.ascii_letters + string.digits + "_.@-"
user_ids = st.text(USER_CHARS, min_size=1, max_size=12).filter(lambda u: u not in (".", ".."))
key_chars = st.sampled_from([*"abcXYZ019", "/", ".", "..", " ", "-", "+", "%", "?", "#", "*",
                             "报", "é", "~", "(", "'"])  # fmt: skip
tails = st.lists(key_chars, max_size=12).map("".join)


def inside(user: str, key: str) -> bool:
    """The oracle: a key is the user's exactly when it starts with users/<uid>/."""
    return key.startswith("users/" + user + "/")


@st.composite
def cases(draw):
    user = draw(user_ids)
    other = draw(user_ids)
    shape = draw(st.sampled_from(["own"] * 4 + ["other", "sibling", "prefix-of", "root", "free"]))
    tail = draw(tails)
    key = {
        "own": f"users/{user}/{tail}",
        "other": f"users/{other}/{tail}",
        "sibling": f"users/{user}{draw(st.sampled_from(['2', 'x', '.', '-']))}/{tail}",
        "prefix-of": f"users/{user[:-1]}/{tail}" if len(user) > 1 else f"users/{tail}",
        "root": tail,
        "free": draw(st.text(min_size=1, max_size=20)),
    }[shape]
    profile = draw(st.sampled_from(sorted(PROFILES)))
    action = draw(st.sampled_from(sorted(OBJECT_REQUESTS)))
    return user, key, profile, action


@settings(max_examples=examples(250), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_keys_allow_exactly_the_users_root_and_the_profiles_actions(emulator, local_cos, case):
    user, key, profile, action = case
    # Keys COS itself cannot hold: empty, control characters, lone surrogates.
    assume(key != "" and key.isprintable())
    assume(not any(0xD800 <= ord(c) < 0xE000 for c in key))
    assume(not key.startswith("/"))  # the SDKs strip a leading slash
    service = make_service(make_env(emulator.endpoint))
    response = index.handle(service, event(token(user), {"profile": profile}), context())
    if response["statusCode"] == 403:
        # The contract: within this alphabet, only a '..' may make a user ID unusable.
        assert ".." in user, response["body"]
        return
    keys = body_of(response)
    method, params = OBJECT_REQUESTS[action]
    request = sign(keys, method, key, params, b"x" if method in ("PUT", "POST") else b"")
    # requests drops trailing dot segments ("a/." -> "a/") after the SDK signed the
    # key: such keys cannot be used through this client at all, with any COS.
    assume(unquote(request[1].split("?")[0])[1:] == key)
    local_cos.handle(*request)
    record = local_cos.records[-1]
    assert record.key == key
    expected = inside(user, key) and action in PROFILES[profile]["actions"]
    tally("allowed" if expected else "denied")
    assert record.decision == ("allow" if expected else "deny"), (record.key, record.reason)
