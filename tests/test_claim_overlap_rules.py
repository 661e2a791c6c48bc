"""A claim (caller-controlled) in a shared root is checked by every overlap rule:
a config where a claim value could reach another owner's root, or write a
read-only area, is refused at cold start, and the function then issues nothing."""

from __future__ import annotations

import pytest

import index
from tests.support import (
    body_of,
    context,
    event,
    make_env,
    make_service,
    shipped_config,
    token,
)
from tests.support.refusals import refused_config


def with_grants(*grants, shared=()):
    document = shipped_config()
    document["shared_roots"] = list(shared)
    document["profiles"]["team"] = {
        "grants": [{"root": root, "actions": list(actions)} for root, actions in grants]
    }
    return document


READ = ("name/cos:GetObject", "name/cos:GetBucket")
WRITE = ("name/cos:PutObject", "name/cos:DeleteObject")


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
