"""Caller mistakes are 4xx, never 500: deep nesting, lone surrogates, any JSON
body at all (property), and a valid scope over nested grants still issues."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

import index
from sts_core.object_keys import key_problem
from tests.support import (
    BUCKET,
    body_of,
    context,
    event,
    make_env,
    make_service,
    shipped_config,
    token,
)
from tests.support.cos import client, mint
from tests.support.examples import examples


def test_deeply_nested_bodies_are_400(service, emulator):
    response = index.handle(service, event(token(), "[" * 8000 + "]" * 8000), context())
    assert response["statusCode"] == 400
    assert body_of(response)["error"]["code"] == "invalid_body"


def test_lone_surrogates_are_refused_with_4xx(service, emulator):
    for body in (
        '{"scope": [{"action": "name/cos:PutObject", "prefix": "users/alice/\\ud800"}]}',
        '{"profile": "\\udfff"}',
        '{"\\ud800": 1}',
    ):
        response = index.handle(service, event(token(), body), context())
        assert 400 <= response["statusCode"] < 500, body
        response["body"].encode("utf-8")  # still encodable text
    assert emulator.calls == []
    # Each layer refuses on its own: the body parser (no text, no field) and the key rules.
    response = index.handle(service, event(token(), '{"profile": "\\udfff"}'), context())
    assert body_of(response)["error"]["code"] == "invalid_field"
    assert key_problem("users/alice/\ud800") == "it is not valid Unicode text"


# Text with anything JSON can carry: lone surrogates, controls, path syntax.
TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0xFFFF), max_size=12) | st.sampled_from(
    ["name/cos:PutObject", "name/cos:GetObject", "users/alice/", "users/alice/x", "upload"]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["profile", "scope", "durationSeconds", "action", "prefix", "bucket", "region", "x"]
            )
            | TEXT,
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=examples(300))
@given(JSON)
def test_no_body_is_ever_a_500(sts_emulator, body):
    emulator = sts_emulator
    emulator.reset()
    service = make_service(make_env(emulator.endpoint))
    response = index.handle(service, event(token(), json.dumps(body)), context())
    assert response["statusCode"] in (200, 400, 403, 413), response["body"]
    response["body"].encode("utf-8")
    if response["statusCode"] == 200:  # then only inside alice's root
        resources = [r for s in emulator.calls[-1].policy["statement"] for r in s["resource"]]
        assert all("/users/alice/" in r for r in resources)


NESTED = {
    "shared_roots": ["protected/"],
    "profiles": {
        "protected": {
            "grants": [
                {"root": "protected/{uid}/", "actions": ["name/cos:PutObject",
                                                         "name/cos:DeleteObject"]},
                {"root": "protected/", "actions": ["name/cos:GetObject"]},
            ]
        }
    },
}  # fmt: skip


def test_a_valid_scope_over_nested_grants_is_issued(emulator, local_cos):
    document = shipped_config()
    document["prefix"]["template"] = "protected/{uid}/"
    document["shared_roots"] = NESTED["shared_roots"]
    document["profiles"] = NESTED["profiles"]
    document["default_profile"] = "protected"
    service = make_service(make_env(emulator.endpoint), document)
    key = "protected/alice/a.txt"
    scope = [{"action": a, "prefix": key} for a in ("name/cos:DeleteObject", "name/cos:GetObject")]
    keys = mint(service, body={"scope": scope})
    statements = emulator.calls[-1].policy["statement"]
    assert sorted(s["action"] for s in statements) == [
        ["name/cos:DeleteObject"],
        ["name/cos:GetObject"],
    ]
    cos = client(local_cos, keys)
    local_cos.store.put_object(BUCKET, key, b"mine")
    assert cos.get_object(Bucket=BUCKET, Key=key)["Body"].get_raw_stream().read() == b"mine"
    cos.delete_object(Bucket=BUCKET, Key=key)
