"""The backstops behind the policy builders, through the public handler: were a
builder (or the config) to produce a broader policy, the guard refuses it and STS
is never asked. Each test here fails when its rule is broken in the shipped code:

- a ticket's key is checked against the caller's root with its trailing `/`;
- the guard refuses an upload statement whose ACL pin allows `public-read`;
- the signing key's own check refuses a policy with only its ACL pin removed;
- `plan_grant` calls the guard (a builder adding another user's root ends in
  PolicyViolation, a 500 `misconfigured`, and no STS call).
"""

from __future__ import annotations

import copy

import pytest

import index
from sts_core import grant, ticket_signing_key
from sts_core.config_validation import parse_config
from sts_core.policy import PIN, PolicyViolation
from sts_core.ticket_signing_key import check_signer_policy, signer_policy
from tests.support import body_of, context, event, make_env, make_service, token
from tests.support.tickets import ask, send, ticket, ticket_document

JPEG = b"\xff\xd8\xff\xe0 a small jpeg"


def error_code(response, status):
    assert response["statusCode"] == status, response["body"]
    return body_of(response)["error"]["code"]


# -- a ticket's key against the caller's root, with its `/` --------------------------------


@pytest.fixture
def named(emulator, local_cos):
    """Tickets that may name the key (caller_names), as the attack needs."""
    return make_service(make_env(emulator.endpoint),
                        ticket_document(local_cos.port, caller_names=True))  # fmt: skip


@pytest.mark.parametrize("field", ["key", "name"])
def test_no_ticket_reaches_a_user_whose_id_extends_the_callers(named, local_cos, field):
    upload = ticket(named, user="alice2", method="put", name="secret.jpg", size=len(JPEG))
    assert send(upload, JPEG).status_code == 200
    wanted = {"method": "get", field: "users/alice2/secret.jpg"}
    if field == "name":
        wanted[field] = "../alice2/secret.jpg"
    assert error_code(ask(named, wanted), 403) == "ticket_denied"
    # and alice's own key of that shape still works
    mine = ticket(named, method="put", name="secret.jpg", size=len(JPEG))
    assert send(mine, JPEG).status_code == 200
    assert send(ticket(named, method="get", key="users/alice/secret.jpg")).content == JPEG


# -- the guard behind plan_grant ------------------------------------------------------------


def broken_builder(monkeypatch, breach):
    """plan_grant's builder, then `breach` applied to what it built."""
    real = grant.build_policy

    def build(*args, **kwargs):
        policy = copy.deepcopy(real(*args, **kwargs))
        breach(policy["statement"])
        return policy

    monkeypatch.setattr(grant, "build_policy", build)


def allow_public_read(statements):
    for statement in statements:
        acls = statement.get("condition", {}).get(PIN, {}).get("cos:x-cos-acl")
        if acls is not None:
            acls.append("public-read")


def add_bobs_root(statements):
    resource = statements[0]["resource"][0]
    statements[0]["resource"].append(resource.replace("users/alice/", "users/bob/"))


@pytest.mark.parametrize("breach", [allow_public_read, add_bobs_root])
def test_a_broader_policy_from_the_builder_is_never_sent(emulator, monkeypatch, breach):
    service = make_service(make_env(emulator.endpoint))
    broken_builder(monkeypatch, breach)
    response = index.handle(service, event(token("alice"), {"profile": "upload"}), context())
    assert error_code(response, 500) == "misconfigured"
    assert emulator.calls == []


def test_the_unbroken_builder_is_sent(emulator, monkeypatch):
    """The control: the same path with a breach that changes nothing issues keys."""
    service = make_service(make_env(emulator.endpoint))
    broken_builder(monkeypatch, lambda statements: None)
    response = index.handle(service, event(token("alice"), {"profile": "upload"}), context())
    assert response["statusCode"] == 200, response["body"]
    assert len(emulator.calls) == 1


# -- the signing key's own check ------------------------------------------------------------


def drop_acl_pin(config, address=None, kind="upload"):
    policy = REAL_SIGNER_POLICY(config, address, kind)
    for statement in policy["statement"]:
        statement.get("condition", {}).get(PIN, {}).pop("cos:x-cos-acl", None)
    return policy


REAL_SIGNER_POLICY = signer_policy


def test_a_signing_key_policy_without_its_acl_pin_is_refused():
    config = parse_config(ticket_document(9001), make_env())
    check_signer_policy(signer_policy(config), config)
    with pytest.raises(PolicyViolation, match="pinned private"):
        check_signer_policy(drop_acl_pin(config), config)


def test_a_signing_key_without_its_acl_pin_is_never_asked_for(emulator, local_cos, monkeypatch):
    """A bind_ip profile's signing key is built per address at request time: with the
    builder broken, the ticket request is a 500 and STS is never asked."""
    document = ticket_document(local_cos.port)
    document["profiles"]["avatar"]["bind_ip"] = True
    service = make_service(make_env(emulator.endpoint), document)
    monkeypatch.setattr(ticket_signing_key, "signer_policy", drop_acl_pin)
    response = ask(service, {"method": "post", "extension": "jpg"})
    assert error_code(response, 500) == "misconfigured"
    assert emulator.calls == []
