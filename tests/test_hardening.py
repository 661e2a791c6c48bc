"""What a hostile config, token or body could still do, closed: each finding of the
adversarial review (issue 16) as a test through the public handler, the config
loader, or the official SDK against the local COS."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import index
from sts_core.config_validation import ConfigError, parse_config
from sts_core.object_keys import key_problem
from sts_core.rate_limit import RateLimiter
from tests.support import (
    BUCKET,
    JWT_SECRET,
    body_of,
    context,
    event,
    make_env,
    make_service,
    shipped_config,
    token,
)
from tests.support.cos import client, form_upload, last_record, mint, refused
from tests.support.redis import document_with, instance, redis_env


@pytest.fixture
def service(emulator):
    return make_service(make_env(emulator.endpoint))


def refused_config(document, **env):
    with pytest.raises(ConfigError) as caught:
        parse_config(document, make_env(**env))
    return caught.value


def with_grants(*grants, shared=()):
    document = shipped_config()
    document["shared_roots"] = list(shared)
    document["profiles"]["team"] = {
        "grants": [{"root": root, "actions": list(actions)} for root, actions in grants]
    }
    return document


READ = ("name/cos:GetObject", "name/cos:GetBucket")
WRITE = ("name/cos:PutObject", "name/cos:DeleteObject")


# -- 1. a claim in a shared area ------------------------------------------------------


@pytest.mark.parametrize(
    ("grants", "shared", "value"),
    [
        # org=users would read everyone's users/<uid>/
        ([("{claim:org}/", READ)], ["{claim:org}/"], "'users'"),
        # org=announcements would write the read-only area
        ([("orgs/{claim:org}/", WRITE), ("orgs/announcements/", READ)],
         ["orgs/{claim:org}/", "orgs/announcements/"], "'announcements'"),
        ([("home/{claim:sub}/", WRITE), ("home/public/", READ)],
         ["home/{claim:sub}/", "home/public/"], "'public'"),
        # a tenant called "public" beside a readable public/ (or one called "users")
        ([("{claim:tenant}/", WRITE), ("public/", READ)], ["{claim:tenant}/", "public/"],
         None),
        # a claim and the user ID facing each other: org=alice is alice's root
        ([("users/{claim:org}/", READ)], ["users/{claim:org}/"], "the same value"),
    ],
)  # fmt: skip
def test_claims_are_caller_controlled_in_every_overlap_rule(emulator, grants, shared, value):
    document = with_grants(*grants, shared=shared)
    error = refused_config(document)
    assert error.key.startswith(("profiles.team.grants", "shared_roots", "profiles.upload"))
    assert "could share keys" in str(error)
    assert value is None or value in str(error)


def test_the_claim_attack_gets_no_keys_because_the_function_never_starts(emulator):
    """What the attacker of finding 1 would meet: the config is refused at cold start, so
    the function answers 500 misconfigured (details in the log) and never calls STS."""
    document = with_grants(("{claim:org}/", READ), shared=["{claim:org}/"])
    error = refused_config(document)
    response = index.handle(error, event(token("alice", org="users")), context())
    assert response["statusCode"] == 500
    assert body_of(response)["error"]["code"] == "misconfigured"
    assert emulator.calls == []


def test_tenant_areas_that_cannot_meet_other_owners_are_accepted(emulator):
    document = with_grants(
        ("tenants/{claim:tenant}/shared/", WRITE),
        ("tenants/{claim:tenant}/", READ),
        ("tenants/{claim:tenant}/users/{uid}/", WRITE),
        shared=["tenants/{claim:tenant}/shared/", "tenants/{claim:tenant}/"],
    )
    service = make_service(make_env(emulator.endpoint), document)
    response = index.handle(
        service, event(token("alice", tenant="acme"), {"profile": "team"}), context()
    )
    assert response["statusCode"] == 200, response["body"]
    resources = [r for s in emulator.calls[-1].policy["statement"] for r in s["resource"]]
    assert all("/tenants/acme/" in r for r in resources)


def test_a_writable_tenant_area_may_not_hold_its_members_roots(emulator):
    error = refused_config(
        with_grants(
            ("tenants/{claim:tenant}/", WRITE),
            ("tenants/{claim:tenant}/users/{uid}/", WRITE),
            shared=["tenants/{claim:tenant}/"],
        )
    )
    assert error.key == "profiles.team.grants[0].actions"
    assert "may only be read" in str(error)


# -- 2. upload keys pin the ACL and the storage class --------------------------------------


def test_upload_keys_cannot_publish_or_archive(service, local_cos):
    cos = client(local_cos, mint(service, body={"profile": "upload"}))
    key = "users/alice/photo.jpg"
    assert cos.put_object(Bucket=BUCKET, Key=key, Body=b"plain")["ETag"]
    cos.put_object(Bucket=BUCKET, Key=key, Body=b"private", ACL="private")
    cos.put_object(Bucket=BUCKET, Key=key, Body=b"std", StorageClass="STANDARD")
    for kwargs in ({"ACL": "public-read"}, {"ACL": "public-read-write"},
                   {"StorageClass": "DEEP_ARCHIVE"}, {"StorageClass": "ARCHIVE"}):  # fmt: skip
        error = refused(cos.put_object, Bucket=BUCKET, Key=key, Body=b"x", **kwargs)
        assert error.get_status_code() == 403
        assert "x-cos-" in last_record(local_cos)["reason"]
    error = refused(cos.create_multipart_upload, Bucket=BUCKET, Key=key, ACL="public-read")
    assert error.get_status_code() == 403
    assert local_cos.store.get_object(BUCKET, key).body == b"std"


def test_form_uploads_cannot_publish_or_archive_either(service, local_cos):
    keys = mint(service, body={"profile": "upload"})
    ok = form_upload(local_cos, keys, "users/alice/f.txt", b"f", extra={"acl": "private"})
    assert ok.status_code == 204, ok.text
    for extra in ({"acl": "public-read"}, {"x-cos-storage-class": "DEEP_ARCHIVE"}):
        response = form_upload(local_cos, keys, "users/alice/g.txt", b"g", extra=extra)
        assert response.status_code == 403, extra


def test_a_profile_may_allow_other_storage_classes(emulator, local_cos):
    document = shipped_config()
    document["profiles"]["upload"]["storage_classes"] = ["STANDARD", "STANDARD_IA"]
    service = make_service(make_env(emulator.endpoint), document)
    cos = client(local_cos, mint(service, body={"profile": "upload"}))
    cos.put_object(Bucket=BUCKET, Key="users/alice/ia", Body=b"ia", StorageClass="STANDARD_IA")
    assert refused(
        cos.put_object, Bucket=BUCKET, Key="users/alice/a", Body=b"a", StorageClass="ARCHIVE"
    )
    document["profiles"]["upload"]["storage_classes"] = ["GLACIER"]
    assert refused_config(document).key == "profiles.upload.storage_classes[0]"


# -- 3. caller mistakes are 4xx, never 500 ----------------------------------------------------


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


@settings(max_examples=300)
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


# -- 4. request ids -------------------------------------------------------------------------


def test_scf_context_id_wins_and_header_ids_are_bounded(service, capsys):
    evt = event(token(), sample="function_url.json", headers={"x-scf-request-id": "x" * 5000})
    response = index.handle(service, evt, context())
    assert response["headers"]["X-Request-Id"] == "scf-req-0001"
    response = index.handle(service, evt, {})  # invoked by hand: a fresh id, not the header
    assert len(response["headers"]["X-Request-Id"]) == 36
    evt["headers"]["x-scf-request-id"] = "id\r\nSet-Cookie: a=b"
    assert "\n" not in index.handle(service, evt, {})["headers"]["X-Request-Id"]
    evt["headers"]["x-scf-request-id"] = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    assert (
        index.handle(service, evt, {})["headers"]["X-Request-Id"]
        == evt["headers"]["x-scf-request-id"]
    )
    assert "x" * 200 not in capsys.readouterr().out


# -- 5. the validator refuses what the guard would refuse on every request ---------------------


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda d: d["prefix"].update(template="\uff55/{uid}/"), "prefix.template", "NFKC"),
        (lambda d: d["profiles"]["upload"]["actions"].__setitem__(0, "name/cos:PutObjcet"),
         "profiles.upload.actions[0]", "did you mean name/cos:PutObject?"),
        (lambda d: d["profiles"]["upload"]["actions"].__setitem__(0, "name/cos:putObject"),
         "profiles.upload.actions[0]", "did you mean name/cos:PutObject?"),
    ],
)  # fmt: skip
def test_templates_and_actions_the_runtime_would_refuse_fail_at_cold_start(change, key, words):
    document = shipped_config()
    change(document)
    error = refused_config(document)
    assert error.key == key
    assert words in str(error)


# -- 6. configuration messages never quote credentials ---------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    ["ftp://AKIDX:secret@sts.example.com", "https://AKIDX:secret@sts.example.com",
     "http://AKIDX:secret@sts.example.com"],
)  # fmt: skip
def test_sts_endpoint_credentials_never_reach_a_message(emulator, capsys, endpoint):
    error = refused_config(shipped_config(), STS_ENDPOINT=endpoint)
    assert error.key == "STS_ENDPOINT"
    response = index.handle(error, event(token()), context())
    logged = capsys.readouterr().out
    for text in (str(error), response["body"], logged):
        assert "secret" not in text
        assert "AKIDX" not in text


def test_any_url_a_config_message_quotes_is_redacted():
    document = shipped_config()
    document["auth"].update(issuer="https://login.example.com", audience="app")
    env = {"STS_JWKS_URL": "http://AKIDX:secret@login.example.com/jwks.json"}
    error = refused_config(document, **env)
    assert error.key == "auth.jwks_url"
    assert "secret" not in str(error)
    assert "http://***@login.example.com" in str(error)


def test_plain_http_sts_only_on_loopback():
    assert refused_config(shipped_config(), STS_ENDPOINT="http://sts.example.com").key == (
        "STS_ENDPOINT"
    )
    for endpoint in ("http://127.0.0.1:9100", "http://localhost:9100", "http://[::1]:9100"):
        parse_config(shipped_config(), make_env(STS_ENDPOINT=endpoint))


# -- 7. a token's remaining life is capped ------------------------------------------------------


@pytest.mark.parametrize("exp", [time.time() + 10 * 365 * 86400, 1e308, 10**40])
def test_far_future_tokens_are_refused(service, emulator, exp):
    response = index.handle(service, event(token(exp=exp)), context())
    assert response["statusCode"] == 401
    assert body_of(response)["error"]["code"] == "invalid_token"
    assert emulator.calls == []


def test_tokens_of_common_identity_providers_pass_and_the_cap_is_configurable(emulator):
    service = make_service(make_env(emulator.endpoint))
    month = int(time.time()) + 29 * 86400  # Auth0's longest access token is 30 days
    assert index.handle(service, event(token(exp=month)), context())["statusCode"] == 200
    document = shipped_config()
    document["auth"]["max_token_lifetime"] = 3600
    short = make_service(make_env(emulator.endpoint), document)
    assert index.handle(short, event(token(exp=month)), context())["statusCode"] == 401
    hour = int(time.time()) + 3000
    assert index.handle(short, event(token(exp=hour)), context())["statusCode"] == 200


# -- 8. Redis state is bounded -----------------------------------------------------------------


def test_a_tampered_rate_limit_bucket_cannot_lock_users_out(emulator, redis_server, redis_db):
    env = redis_env(emulator.endpoint, redis_server.url)
    document = document_with(rate_limit={"per_user": {"rate": 1, "burst": 2}})
    service = instance(env, document)
    limiter: RateLimiter = service.limiter
    user_key = limiter.shared.user_key("alice")
    far_future = int(time.time() * 1000) + 10**9
    redis_db.hset(user_key, mapping={"t": -(10**15), "s": far_future})
    redis_db.hset("cos-sts:{rl}:g", mapping={"t": -(10**15), "s": far_future})
    response = index.handle(service, event(token("alice")), context())
    assert response["statusCode"] == 429
    assert int(response["headers"]["Retry-After"]) <= 1  # one token's refill, not 11 days


def test_rate_limit_replies_out_of_bounds_are_bad_values(emulator, redis_server, redis_db):
    """A reply no honest bucket gives (a script someone replaced) is refused; the
    request then falls back to this instance's buckets."""
    env = redis_env(emulator.endpoint, redis_server.url)
    service = instance(env, document_with(rate_limit={"per_user": {"rate": 1, "burst": 2}}))
    limiter: RateLimiter = service.limiter
    link = limiter.shared.link
    replies = iter([[0, 2_000_000_000, 0]])
    link.script = lambda *args: next(replies)  # the one stand-in: what Redis answered
    response = index.handle(service, event(token("alice")), context())
    assert response["statusCode"] == 200  # the local buckets admitted it


# -- 9. content-type wildcards are explained ---------------------------------------------------


def test_explain_says_what_a_content_type_wildcard_admits(emulator):
    from sts_tools.explain import explain

    document = shipped_config()
    document["profiles"]["upload"]["content_types"] = ["image/*"]
    config = parse_config(document, make_env())
    service = make_service(make_env(emulator.endpoint), document)
    report, _ = explain(config, service.verifier, user="alice", body=b'{"profile":"upload"}')
    assert "image/svg+xml" in report
    assert "string_like" in report


def test_every_secret_stays_out_of_the_response_and_log(service, capsys):
    response = index.handle(service, event(token(exp=1e308)), context())
    out = capsys.readouterr().out
    assert JWT_SECRET not in response["body"] + out
    assert json.loads(out.splitlines()[-1])["status"] == 401
