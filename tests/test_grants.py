"""Grants real apps need (issue 12): several roots per profile, declared shared areas,
claims in root templates, per-profile buckets, fresh upload folders, confined
listings, Cloud Infinite, AssumeRole ExternalId.

Each feature is shown through the public handler (what STS receives) and, where
COS decides, with the official SDK against the local COS.
"""

from __future__ import annotations

import copy
import json
import os
from urllib.parse import unquote

import pytest
import yaml

import index
from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from sts_tools.emulators.cos.server import CosEmulator
from tests.support import (
    BUCKET,
    REGION,
    ROOT,
    body_of,
    context,
    event,
    make_env,
    make_service,
    shipped_config,
    token,
)
from tests.support.cos import client, last_record, mint, refused
from tests.support.examples import examples

AVATARS = "avatars-1250000000"
RESOURCE = f"qcs::cos:{REGION}:uid/1250000000:{BUCKET}/"


def amplify():
    with open(os.path.join(ROOT, "examples", "amplify.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def policy_sent(emulator):
    return json.loads(unquote(emulator.calls[-1].params["Policy"]))


def resources(policy):
    return [r for statement in policy["statement"] for r in statement["resource"]]


def ask(service, user="alice", body=None, **claims):
    return index.handle(service, event(token(user, **claims), body or {}), context())


# -- configuration: what may be declared -----------------------------------------------


def refused_config(change):
    document = shipped_config()
    change(document)
    with pytest.raises(ConfigError) as caught:
        parse_config(document, make_env())
    return caught.value


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda d: d["profiles"]["upload"].update(grants=[{"root": "public/",
                                                            "actions": ["name/cos:GetObject"]}]),
         "profiles.upload.actions", "either actions or grants"),
        (lambda d: d["profiles"].update(pub={"grants": [{"root": "public/",
                                                         "actions": ["name/cos:GetObject"]}]}),
         "profiles.pub.grants[0].root", "shared_roots"),
        (lambda d: d["profiles"].update(all={"grants": [{"root": "",
                                                         "actions": ["name/cos:GetObject"]}]}),
         "profiles.all.grants[0].root", "whole bucket"),
        (lambda d: d["profiles"].update(all={"grants": [{"root": "/",
                                                         "actions": ["name/cos:GetObject"]}]}),
         "profiles.all.grants[0].root", "start"),
        (lambda d: d["profiles"].update(t={"grants": [{"root": "t-{claim:tenant}/{uid}/",
                                                       "actions": ["name/cos:GetObject"]}]}),
         "profiles.t.grants[0].root", "whole path segment"),
        (lambda d: d["profiles"].update(t={"grants": [{"root": "{claim:a b}/{uid}/",
                                                       "actions": ["name/cos:GetObject"]}]}),
         "profiles.t.grants[0].root", "braced"),
        (lambda d: d["profiles"]["upload"].update(bucket="Not_A_Bucket"),
         "profiles.upload.bucket", "name-APPID"),
        (lambda d: d["profiles"]["upload"].update(region="mars"), "profiles.upload.region",
         "region"),
        (lambda d: d["profiles"]["upload"].update(ci_actions=["name/ci:*"]),
         "profiles.upload.ci_actions[0]", "Cloud Infinite"),
        (lambda d: d["profiles"]["upload"].update(fresh_folder="yes"),
         "profiles.upload.fresh_folder", "true or false"),
        (lambda d: d.update(shared_roots=["users/{uid}/"]), "shared_roots[0]", "no {uid}"),
        (lambda d: d.update(shared_roots=[""]), "shared_roots[0]", "whole bucket"),
    ],
)  # fmt: skip
def test_grant_configuration_refusals_name_the_key(change, key, words):
    error = refused_config(change)
    assert error.key == key
    assert words in str(error)


def test_a_shared_area_holding_other_users_roots_may_only_be_read():
    def writable_users_folder(document):
        document["shared_roots"] = ["users/"]
        document["profiles"]["peek"] = {
            "grants": [{"root": "users/", "actions": ["name/cos:GetObject", "name/cos:PutObject"]}]
        }

    error = refused_config(writable_users_folder)
    assert error.key == "profiles.peek.grants[0].actions"
    assert "may only be read" in str(error)
    # A single user's folder named as a "shared" area: user "admin" would own it.
    error = refused_config(
        lambda d: (
            d.update(shared_roots=["users/admin/"]),
            d["profiles"].update(
                adm={"grants": [{"root": "users/admin/", "actions": ["name/cos:GetObject"]}]}
            ),
        )
    )
    assert error.key == "profiles.adm.grants[0].root"
    assert "when a caller's {uid} is 'admin'" in str(error)
    # Reading is fine (Amplify's protected area), and an unrelated area may be written.
    document = amplify()
    assert parse_config(document, make_env()).profiles["protected"].grants[1].root == "protected/"


OTHER = "profiles.other.grants[0].root"


@pytest.mark.parametrize(
    ("template", "grant_root", "shared", "key", "words"),
    [
        # user "shared" would own data/shared/*
        ("data/{uid}/", "data/shared/{uid}/", [], OTHER, "{uid} is 'shared'"),
        ("{uid}/", "users/{uid}/", [], OTHER, "{uid} is 'users'"),  # "users" would own users/*
        # the user's (written) root would hold a root per claim value
        ("users/{uid}/", "users/{uid}/archive/{claim:org}/", [], "profiles.upload.actions",
         "may only be read"),
        ("{uid}/", "public/", ["public/"], OTHER, "{uid} is 'public'"),  # "public" owns public/
        ("t/{claim:tenant}/{uid}/", "t/{claim:tenant}/shared/", ["t/{claim:tenant}/shared/"],
         OTHER, "{uid} is 'shared'"),
    ],
)  # fmt: skip
def test_no_users_root_may_be_or_contain_another_templates_roots(
    template, grant_root, shared, key, words
):
    def overlapping(document):
        document["prefix"]["template"] = template
        document["shared_roots"] = shared
        document["profiles"].pop("avatar")  # its tickets need a fixed first segment
        document["profiles"]["other"] = {
            "grants": [{"root": grant_root, "actions": ["name/cos:GetObject"]}]
        }

    error = refused_config(overlapping)
    assert error.key == key
    assert words in str(error)


def test_roots_that_cannot_meet_are_accepted():
    document = shipped_config()
    document["shared_roots"] = ["public/", "tenants/{claim:tenant}/shared/"]
    document["profiles"]["mix"] = {
        "grants": [
            {"root": "users/{uid}/", "actions": ["name/cos:GetObject"]},
            {"root": "uploads/{uid}/", "actions": ["name/cos:PutObject"]},
            {"root": "tenants/{claim:tenant}/users/{uid}/", "actions": ["name/cos:GetObject"]},
            {"root": "tenants/{claim:tenant}/shared/", "actions": ["name/cos:PutObject"]},
            {"root": "public/", "actions": ["name/cos:PutObject"]},
        ]
    }
    assert len(parse_config(document, make_env()).profiles["mix"].grants) == 5


@pytest.mark.parametrize("url", ["redis://:pw@[::1", "redis://[zz]:6379", "redis://h:99999"])
def test_malformed_redis_urls_fail_closed_naming_the_variable(url):
    env = make_env(STS_REDIS_URL=url, STS_CACHE_KEY="k" * 40)
    with pytest.raises(ConfigError) as caught:
        parse_config(shipped_config(), env)
    assert caught.value.key == "STS_REDIS_URL"
    assert "pw" not in str(caught.value)


def test_a_profile_names_its_bucket_and_region_together():
    error = refused_config(lambda d: d["profiles"]["upload"].update(bucket=AVATARS))
    assert error.key == "profiles.upload.region"


def test_external_id_needs_assume_role_and_a_safe_value():
    document = shipped_config()
    with pytest.raises(ConfigError, match="STS_EXTERNAL_ID: is only sent with AssumeRole"):
        parse_config(document, make_env(STS_EXTERNAL_ID="ext-123"))
    role = {"STS_ROLE_ARN": "qcs::cam::uin/100000000001:roleName/cos-sts"}
    with pytest.raises(ConfigError, match="STS_EXTERNAL_ID: must be"):
        parse_config(document, make_env(STS_EXTERNAL_ID="a b", **role))
    config = parse_config(document, make_env(STS_EXTERNAL_ID="ext-123", **role))
    assert config.sts.external_id == "ext-123"


# -- several grants: Amplify-like areas -------------------------------------------------


@pytest.fixture
def areas(emulator):
    return make_service(make_env(emulator.endpoint), amplify())


def test_each_area_profile_grants_exactly_its_roots(areas, emulator):
    expected = {
        "private": {RESOURCE + "private/alice/*"},
        "protected": {RESOURCE + "protected/alice/*", RESOURCE + "protected/*"},
        "public": {RESOURCE + "public/*"},
    }
    for profile, roots in expected.items():
        response = ask(areas, body={"profile": profile})
        assert response["statusCode"] == 200, response["body"]
        assert set(resources(policy_sent(emulator))) == roots
    assert body_of(ask(areas, body={"profile": "protected"}))["prefix"] == "protected/alice/"
    readable = [s for s in policy_sent(emulator)["statement"]
                if RESOURCE + "protected/*" in s["resource"]]  # fmt: skip
    assert {a for s in readable for a in s["action"]} <= {
        "name/cos:GetObject", "name/cos:HeadObject", "name/cos:GetBucket"}  # fmt: skip


def test_a_scope_cannot_write_into_a_read_only_area(areas, emulator):
    scope = [{"action": "name/cos:PutObject", "prefix": "protected/bob/avatar.png"}]
    response = ask(areas, body={"profile": "protected", "scope": scope})
    assert response["statusCode"] == 403
    assert body_of(response)["error"]["code"] == "scope_denied"
    assert emulator.calls == []


def test_amplify_areas_with_the_sdk(areas, local_cos):
    def sdk(user, profile):
        return client(local_cos, mint(areas, user, body={"profile": profile}))

    alice_private, bob_private = sdk("alice", "private"), sdk("bob", "private")
    alice_private.put_object(Bucket=BUCKET, Key="private/alice/diary.txt", Body=b"dear")
    refused(bob_private.get_object, Bucket=BUCKET, Key="private/alice/diary.txt")
    refused(bob_private.put_object, Bucket=BUCKET, Key="private/alice/x", Body=b"x")

    alice_protected, bob_protected = sdk("alice", "protected"), sdk("bob", "protected")
    alice_protected.put_object(Bucket=BUCKET, Key="protected/alice/avatar.png", Body=b"png")
    seen = bob_protected.get_object(Bucket=BUCKET, Key="protected/alice/avatar.png")
    assert seen["Body"].get_raw_stream().read() == b"png"
    for call, extra in ((bob_protected.put_object, {"Body": b"x"}),
                        (bob_protected.delete_object, {})):  # fmt: skip
        error = refused(call, Bucket=BUCKET, Key="protected/alice/avatar.png", **extra)
        assert error.get_status_code() == 403
    assert local_cos.store.get_object(BUCKET, "protected/alice/avatar.png").body == b"png"
    refused(bob_protected.get_object, Bucket=BUCKET, Key="private/alice/diary.txt")

    alice_public, bob_public = sdk("alice", "public"), sdk("bob", "public")
    alice_public.put_object(Bucket=BUCKET, Key="public/readme.txt", Body=b"hi")
    assert bob_public.head_object(Bucket=BUCKET, Key="public/readme.txt")["Content-Length"] == "2"
    refused(alice_public.put_object, Bucket=BUCKET, Key="private/bob/x", Body=b"x")


# -- listing the user's own files --------------------------------------------------------


@pytest.mark.parametrize("on_bucket", [False, True])
@pytest.mark.parametrize("reading", ["prefix", "bucket"])
def test_listing_is_confined_to_the_users_root_under_every_reading(emulator, on_bucket, reading):
    document = amplify()
    document["listing"] = {"bucket_resource": on_bucket}
    service = make_service(make_env(emulator.endpoint), document)
    with CosEmulator(emulator.keyring, bucket=BUCKET, region=REGION, log=lambda _: None,
                     list_resource=reading) as cos:  # fmt: skip
        for key in ("private/alice/a.txt", "private/alice/d/b.txt", "private/bob/secret.txt"):
            cos.store.put_object(BUCKET, key, b"x")
        sdk = client(cos, mint(service, body={"profile": "private"}))
        # Whatever the reading and the policy shape: nothing outside the root lists.
        for prefix in ("", "private/", "private/bob/", "private/alice", "public/"):
            error = refused(sdk.list_objects, Bucket=BUCKET, Prefix=prefix)
            assert error.get_status_code() == 403, prefix
        listing = None
        works = reading == "prefix" or on_bucket
        if works:
            listing = sdk.list_objects(Bucket=BUCKET, Prefix="private/alice/")
            keys = {item["Key"] for item in listing["Contents"]}
            assert keys == {"private/alice/a.txt", "private/alice/d/b.txt"}
        else:
            # The documented policy shape under the strict reading: refused, never wider.
            refused(sdk.list_objects, Bucket=BUCKET, Prefix="private/alice/")
    policy = policy_sent(emulator)
    on_the_bucket = [s for s in policy["statement"] if RESOURCE in s["resource"]]
    if on_bucket:
        assert on_the_bucket
        assert all(
            s["condition"]["string_like"]["cos:prefix"] == ["private%2Falice%2F*"]
            for s in on_the_bucket
        )
    else:
        assert on_the_bucket == []


def test_listing_on_the_bucket_makes_multipart_work_under_the_strict_reading(emulator, tmp_path):
    document = shipped_config()
    document["listing"] = {"bucket_resource": True}
    service = make_service(make_env(emulator.endpoint), document)
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(2 * 1024 * 1024 + 5))
    with CosEmulator(emulator.keyring, bucket=BUCKET, region=REGION, log=lambda _: None,
                     list_resource="bucket") as cos:  # fmt: skip
        sdk = client(cos, mint(service, body={"profile": "upload"}))
        sdk.upload_file(Bucket=BUCKET, Key="users/alice/big.bin", LocalFilePath=str(source),
                        PartSize=1)  # fmt: skip
        assert cos.store.get_object(BUCKET, "users/alice/big.bin").body == source.read_bytes()


# -- claims in templates -------------------------------------------------------------------


def tenant_service(emulator):
    document = shipped_config()
    document["prefix"]["template"] = "tenants/{claim:tenant}/users/{uid}/"
    return make_service(make_env(emulator.endpoint), document)


def test_a_tenant_claim_places_the_root(emulator, local_cos):
    service = tenant_service(emulator)
    keys = mint(service, body={"profile": "read-write"}, tenant="acme")
    assert keys["prefix"] == "tenants/acme/users/alice/"
    sdk = client(local_cos, keys)
    sdk.put_object(Bucket=BUCKET, Key="tenants/acme/users/alice/a.txt", Body=b"x")
    refused(sdk.put_object, Bucket=BUCKET, Key="tenants/globex/users/alice/a.txt", Body=b"x")


@pytest.mark.parametrize(
    "tenant",
    [None, "", "../globex", "acme/users", "*", "ac me", "acme\n", "\uff41\uff43\uff4d\uff45",
     "{uid}", "..", True, {"id": "acme"}, ["acme"], "a" * 129, "%2e%2e"],
)  # fmt: skip
def test_missing_or_unsafe_claims_are_403_and_never_reach_sts(emulator, tenant):
    service = tenant_service(emulator)
    claims = {} if tenant is None else {"tenant": tenant}
    response = ask(service, body={"profile": "upload"}, **claims)
    assert response["statusCode"] == 403, response["body"]
    assert body_of(response)["error"]["code"] == "claim_rejected"
    assert emulator.calls == []


# -- per-profile bucket and region ----------------------------------------------------------


def avatar_service(emulator):
    document = shipped_config()
    document["profiles"]["avatars"] = {
        "actions": ["name/cos:PutObject", "name/cos:GetObject"],
        "bucket": AVATARS,
        "region": "ap-shanghai",
    }
    return make_service(make_env(emulator.endpoint), document)


def test_a_profile_may_name_its_own_bucket_and_region(emulator):
    service = avatar_service(emulator)
    keys = mint(service, body={"profile": "avatars"})
    assert (keys["bucket"], keys["region"]) == (AVATARS, "ap-shanghai")
    assert set(resources(policy_sent(emulator))) == {
        f"qcs::cos:ap-shanghai:uid/1250000000:{AVATARS}/users/alice/*"
    }
    scope = [{"action": "name/cos:PutObject", "prefix": "users/alice/me.png", "bucket": BUCKET}]
    response = ask(service, body={"profile": "avatars", "scope": scope})
    assert response["statusCode"] == 403
    assert AVATARS in body_of(response)["error"]["message"]
    scope[0].update(bucket=AVATARS, region="ap-shanghai")
    assert ask(service, body={"profile": "avatars", "scope": scope})["statusCode"] == 200


def test_per_profile_bucket_keys_work_only_in_that_bucket(emulator, local_cos):
    service = avatar_service(emulator)
    keys = mint(service, body={"profile": "avatars"})
    with CosEmulator(emulator.keyring, bucket=AVATARS, region="ap-shanghai",
                     log=lambda _: None) as avatars:  # fmt: skip
        client(avatars, keys).put_object(Bucket=AVATARS, Key="users/alice/me.png", Body=b"png")
        assert avatars.store.get_object(AVATARS, "users/alice/me.png").body == b"png"
    wrong = copy.deepcopy(keys)
    wrong["region"] = REGION
    refused(client(local_cos, wrong).put_object, Bucket=BUCKET, Key="users/alice/me.png",
            Body=b"png")  # fmt: skip
    assert "no resource covers" in last_record(local_cos)["reason"]


# -- fresh upload folders ----------------------------------------------------------------------


def fresh_service(emulator):
    document = shipped_config()
    document["profiles"]["drop"] = {
        "actions": ["name/cos:PutObject", "name/cos:GetObject"],
        "fresh_folder": True,
    }
    return make_service(make_env(emulator.endpoint), document, cache=True)


def test_every_credential_gets_its_own_unguessable_folder(emulator):
    service = fresh_service(emulator)
    prefixes = {mint(service, body={"profile": "drop"})["prefix"] for _ in range(5)}
    assert len(prefixes) == 5  # never reused, not even from the key cache
    for prefix in prefixes:
        head, folder, tail = prefix.rsplit("/", 2)
        assert head == "users/alice"
        assert tail == ""
        assert len(folder) == 32
        assert int(folder, 16) >= 0


def test_fresh_folder_keys_cannot_touch_earlier_uploads(emulator, local_cos):
    service = fresh_service(emulator)
    first = mint(service, body={"profile": "drop"})
    client(local_cos, first).put_object(Bucket=BUCKET, Key=first["prefix"] + "a.jpg", Body=b"1")
    second = mint(service, body={"profile": "drop"})
    sdk = client(local_cos, second)
    sdk.put_object(Bucket=BUCKET, Key=second["prefix"] + "b.jpg", Body=b"2")
    for key in (first["prefix"] + "a.jpg", "users/alice/old.jpg"):
        refused(sdk.put_object, Bucket=BUCKET, Key=key, Body=b"overwrite")
        refused(sdk.get_object, Bucket=BUCKET, Key=key)
    assert local_cos.store.get_object(BUCKET, first["prefix"] + "a.jpg").body == b"1"


# -- Cloud Infinite and ExternalId -----------------------------------------------------------


def test_cloud_infinite_actions_on_the_users_root_only(emulator):
    document = shipped_config()
    document["profiles"]["upload"]["ci_actions"] = ["name/ci:CreateMediaJobs"]
    service = make_service(make_env(emulator.endpoint), document)
    assert ask(service, body={"profile": "upload"})["statusCode"] == 200
    statements = policy_sent(emulator)["statement"]
    ci = [s for s in statements if any(a.startswith("name/ci:") for a in s["action"])]
    assert ci == [{
        "effect": "allow",
        "action": ["name/ci:CreateMediaJobs"],
        "resource": [f"qcs::ci:{REGION}:uid/1250000000:bucket/{BUCKET}/users/alice/*"],
    }]  # fmt: skip
    scope = [{"action": "name/cos:PutObject", "prefix": "users/alice/one.jpg"}]
    assert ask(service, body={"profile": "upload", "scope": scope})["statusCode"] == 200
    assert all(
        not a.startswith("name/ci:")
        for s in policy_sent(emulator)["statement"]
        for a in s["action"]
    )  # a scope narrows everything, Cloud Infinite included


@pytest.mark.parametrize("external_id", [None, "partner-7f3a"])
def test_assume_role_sends_external_id_only_when_set(emulator, external_id):
    from sts_tools.emulators.sts import (
        DEV_ROLE_SECRET_ID,
        DEV_ROLE_SECRET_KEY,
        DEV_ROLE_TOKEN,
    )

    env = make_env(
        emulator.endpoint,
        STS_ROLE_ARN="qcs::cam::uin/100000000001:roleName/cos-sts",
        TENCENTCLOUD_SECRETID=DEV_ROLE_SECRET_ID,
        TENCENTCLOUD_SECRETKEY=DEV_ROLE_SECRET_KEY,
        TENCENTCLOUD_SESSIONTOKEN=DEV_ROLE_TOKEN,
        STS_EXTERNAL_ID=external_id,
    )
    service = make_service(env)
    assert ask(service, body={"profile": "upload"})["statusCode"] == 200
    call = emulator.calls[-1]
    assert call.action == "AssumeRole"
    if external_id is None:
        assert "ExternalId" not in call.params
    else:
        assert call.params["ExternalId"] == external_id


# -- property: nothing accepted ever reaches outside the declared roots ------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import event as tally  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# The oracle's view of examples/amplify.yml: read as plain YAML, not through the
# product's config code; {uid} becomes {u} for plain string replacement.
AREA_GRANTS = {
    name: [(g["root"].replace("{uid}", "{u}"), set(g["actions"])) for g in profile["grants"]]
    for name, profile in amplify()["profiles"].items()
}
AREA_ROOTS = {name: [root for root, _ in grants] for name, grants in AREA_GRANTS.items()}
ALL_ACTIONS = sorted({a for p in amplify()["profiles"].values() for g in p["grants"]
                      for a in g["actions"]})  # fmt: skip
pieces = st.sampled_from(["private/", "protected/", "public/", "users/", "alice/", "bob/", "..",
                          "/", "*", "a", "%2F", "x.txt", "alice", "{u}/"])  # fmt: skip
prefixes = st.one_of(
    st.lists(pieces, max_size=6).map("".join),
    # Mostly inside a root, so accepted scopes are common.
    st.tuples(st.sampled_from(["private/alice/", "protected/alice/", "protected/", "public/"]),
              st.lists(pieces, max_size=3).map("".join)).map("".join),
)  # fmt: skip
scopes = st.lists(
    st.fixed_dictionaries({"action": st.sampled_from(ALL_ACTIONS), "prefix": prefixes}),
    min_size=1, max_size=4,
)  # fmt: skip


def outside_declared_roots(policy, user, profile):
    """The independent oracle: resources (and listing conditions) a policy names that do
    not lie under a root of the profile granting all of the statement's actions."""
    grants = [(root.replace("{u}", user), actions) for root, actions in AREA_GRANTS[profile]]
    strays = []
    for statement in policy["statement"]:
        wanted = set(statement["action"])
        roots = [root for root, actions in grants if wanted <= actions]
        encoded = [root.replace("/", "%2F") for root in roots]
        for resource in statement["resource"]:
            key = resource[len(RESOURCE) :] if resource.startswith(RESOURCE) else None
            if key == "":
                listing = wanted <= {"name/cos:GetBucket", "name/cos:ListMultipartUploads"}
                pinned = statement.get("condition", {}).get("string_like", {}).get("cos:prefix")
                if (
                    not listing
                    or not pinned
                    or not all(any(value.startswith(root) for root in encoded) for value in pinned)
                ):
                    strays.append(resource)
            elif (
                key is None
                or not any(key.startswith(root) for root in roots)
                or "*" in key[:-1]
                or ".." in key.split("/")
            ):
                strays.append(resource)
    return strays


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    user=st.sampled_from(["alice"] * 4 + ["bob", "a.b", "x-1", "..", "al/ice", "*"]),
    profile=st.sampled_from(sorted(AREA_ROOTS)),
    scope=st.one_of(st.none(), st.none(), scopes),
    on_bucket=st.booleans(),
)
def test_no_accepted_request_reaches_outside_the_declared_roots(
    emulator, user, profile, scope, on_bucket
):
    document = amplify()
    document["listing"] = {"bucket_resource": on_bucket}
    service = make_service(make_env(emulator.endpoint), document)
    before = len(emulator.calls)
    body = {"profile": profile} if scope is None else {"profile": profile, "scope": scope}
    response = ask(service, user, body=body)
    tally(f"status {response['statusCode']}")
    if response["statusCode"] != 200:
        assert response["statusCode"] in (400, 403), response["body"]
        assert len(emulator.calls) == before  # refused before STS
        return
    assert outside_declared_roots(policy_sent(emulator), user, profile) == []


# -- the guard's new rules, attacked directly ---------------------------------------------

from sts_core.policy import PolicyViolation, RootGrant, Target, guard  # noqa: E402

TARGET = Target(REGION, "1250000000", BUCKET, "private/alice/", "alice",
                (RootGrant("private/alice/", ("name/cos:GetBucket",)),
                 RootGrant("public/", ("name/cos:GetObject",), per_user=False)))  # fmt: skip
CI = f"qcs::ci:{REGION}:uid/1250000000:bucket/{BUCKET}/"


def statement(action, resource, condition=None):
    result = {"effect": "allow", "action": [action], "resource": [resource]}
    if condition is not None:
        result["condition"] = condition
    return {"version": "2.0", "statement": [result]}


def pinned(*values):
    return {"string_like": {"cos:prefix": list(values)}}


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        (statement("name/cos:GetBucket", RESOURCE), "cos:prefix"),
        (statement("name/cos:GetBucket", RESOURCE, pinned("private%2Fbob%2F*")), "outside"),
        (statement("name/cos:GetBucket", RESOURCE, pinned("private%2F*")), "outside"),
        (statement("name/cos:GetBucket", RESOURCE, pinned("*")), "outside"),
        (statement("name/cos:GetBucket", RESOURCE, pinned("private%2Falice%2F*x*")), "outside"),
        (statement("name/cos:GetObject", RESOURCE, pinned("private%2Falice%2F*")), "listings"),
        (statement("name/cos:PutBucket", RESOURCE + "private/alice/*"), "bucket-level"),
        (statement("name/cos:GetObject", RESOURCE + "private/*"), "outside"),
        (statement("name/cos:GetObject", RESOURCE + "publicity/*"), "outside"),
        # Per root, only that root's actions: public/ is read-only here, and unlisted.
        (statement("name/cos:PutObject", RESOURCE + "public/x.txt"), "granting its actions"),
        (statement("name/cos:GetBucket", RESOURCE, pinned("public%2F*")), "outside"),
        (statement("name/ci:CreateMediaJobs", CI + "private/bob/*"), "Cloud Infinite"),
        (statement("name/ci:CreateMediaJobs", CI + "*"), "Cloud Infinite"),
        (statement("name/ci:CreateMediaJobs", RESOURCE + "private/alice/*"), "Cloud Infinite"),
    ],
)  # fmt: skip
def test_the_guard_refuses_listings_and_ci_outside_the_roots(policy, words):
    with pytest.raises(PolicyViolation, match=words):
        guard(policy, TARGET)


def test_the_guard_accepts_what_the_builder_emits_for_these_rules():
    guard(statement("name/cos:GetBucket", RESOURCE, pinned("private%2Falice%2F*")), TARGET)
    guard(statement("name/ci:CreateMediaJobs", CI + "private/alice/*"), TARGET)
    guard(statement("name/cos:GetObject", RESOURCE + "public/readme.txt"), TARGET)


def test_keys_for_a_shared_area_are_never_reused_across_users(emulator):
    """Two users of a profile with shared areas only get identical policies; STS
    names each session after its user, so keys are reused per user only."""
    service = make_service(make_env(emulator.endpoint), amplify(), cache=True)
    first = mint(service, "alice", body={"profile": "public"})
    assert mint(service, "alice", body={"profile": "public"}) == first  # reused for alice
    bob = mint(service, "bob", body={"profile": "public"})
    assert bob["credentials"] != first["credentials"]
    names = [call.params["Name"] for call in emulator.calls]
    assert len(names) == 2
    assert names[0] != names[1]


@pytest.mark.parametrize("reading", ["prefix", "bucket"])
def test_explain_assumes_the_listing_prefix_like_the_sdk_sends_it(emulator, reading):
    from sts_tools.explain import explain

    document = amplify()
    document["listing"] = {"bucket_resource": True}
    service = make_service(make_env(emulator.endpoint), document)
    checks = [("name/cos:GetBucket", "private/alice/"), ("name/cos:GetBucket", "private/")]
    report, status = explain(
        service.config, service.verifier, user="alice", body=b'{"profile":"private"}',
        checks=checks, list_resource=reading,
    )  # fmt: skip
    verdicts = [line.split()[0] for line in report.splitlines() if line.startswith("  ALLOW")
                or line.startswith("  DENY")]  # fmt: skip
    assert verdicts == ["ALLOW", "DENY"], report
    assert "cos:prefix=private%2Falice%2F" in report
    assert status == 1
