"""What a ticket profile may and may not hand out, attacked through the public
handler (index.handle) with the local STS and, where COS decides, the local COS
over HTTP: a ticket-only profile gives no keys, tickets honour bind_ip as keys do,
the signing key's STS session is no user's, and configs that cannot keep their
promise fail at cold start naming the key.
"""

from __future__ import annotations

import copy

import pytest

import index
from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from tests.support import body_of, context, event, make_env, make_service, shipped_config, token
from tests.support.tickets import cos_error, send, ticket_document

JPEG = b"\xff\xd8\xff\xe0 a small jpeg"


def bound_service(emulator, local_cos, trust=False):
    document = ticket_document(local_cos.port)
    document["profiles"]["avatar"]["bind_ip"] = True
    document["function_url"] = {"trust_remote_addr": trust}
    return make_service(make_env(emulator.endpoint), document)


def ticket_event(sample="apigw_official.json", source_ip=None, headers=None, user="alice"):
    body = {"profile": "avatar", "ticket": {"method": "post", "extension": "jpg"}}
    request = event(token(user), body, sample=sample, headers=headers)
    if source_ip is not None:
        request = copy.deepcopy(request)
        request["requestContext"]["sourceIp"] = source_ip
    return request


# -- a ticket-only profile gives no keys ---------------------------------------------------


def test_the_shipped_avatar_profile_gives_no_keys(emulator):
    service = make_service(make_env(emulator.endpoint))
    for body in ({"profile": "avatar"}, {"profile": "avatar", "durationSeconds": 900}):
        response = index.handle(service, event(token("alice"), body), context())
        assert response["statusCode"] == 403, response["body"]
        assert body_of(response)["error"]["code"] == "tickets_only"
        assert "credentials" not in body_of(response)
    assert emulator.calls == []  # refused before STS was asked


def test_the_shipped_avatar_profile_still_gives_tickets(emulator, local_cos):
    service = make_service(make_env(emulator.endpoint), ticket_document(local_cos.port))
    response = index.handle(service, ticket_event(), context())
    assert response["statusCode"] == 200, response["body"]
    assert cos_error(send(body_of(response)["ticket"], JPEG)) == ""


def test_a_ticket_only_profile_without_tickets_fails_at_cold_start():
    document = shipped_config()
    document["profiles"]["upload"]["tickets_only"] = True
    with pytest.raises(ConfigError) as raised:
        parse_config(document, make_env())
    assert raised.value.key == "profiles.upload.tickets_only"


# -- bind_ip holds for tickets as for keys -------------------------------------------------


def test_an_untrusted_function_url_address_gets_no_ticket(emulator, local_cos):
    service = bound_service(emulator, local_cos)
    response = index.handle(service, ticket_event("function_url.json"), context())
    assert response["statusCode"] == 400, response["body"]
    assert body_of(response)["error"]["code"] == "no_source_ip"
    assert emulator.calls == []


def test_a_bound_ticket_works_only_from_the_callers_address(emulator, local_cos):
    """The local COS sees 127.0.0.1: a ticket issued to that address uploads, one
    issued to another address is refused on its qcs:ip condition."""
    service = bound_service(emulator, local_cos)
    here = index.handle(service, ticket_event(source_ip="127.0.0.1"), context())
    assert here["statusCode"] == 200, here["body"]
    assert cos_error(send(body_of(here)["ticket"], JPEG)) == ""
    elsewhere = index.handle(service, ticket_event(source_ip="192.0.2.10"), context())
    assert elsewhere["statusCode"] == 200, elsewhere["body"]
    assert cos_error(send(body_of(elsewhere)["ticket"], JPEG)) == "AccessDenied"
    assert "qcs:ip" in local_cos.records[-1].reason
    for call in emulator.calls:  # one signing key per address, each bound to it
        for statement in call.policy["statement"]:
            assert statement["condition"]["ip_equal"]["qcs:ip"][0] in (
                "127.0.0.1/32",
                "192.0.2.10/32",
            )


def test_a_trusted_function_url_address_binds_the_ticket(emulator, local_cos):
    service = bound_service(emulator, local_cos, trust=True)
    headers = {"x-scf-remote-addr": "198.51.100.7"}
    response = index.handle(service, ticket_event("function_url.json", headers=headers),
                            context())  # fmt: skip
    assert response["statusCode"] == 200, response["body"]
    (call,) = emulator.calls
    assert all(s["condition"]["ip_equal"] == {"qcs:ip": ["198.51.100.7/32"]}
               for s in call.policy["statement"])  # fmt: skip
    assert cos_error(send(body_of(response)["ticket"], JPEG)) == "AccessDenied"


# -- the signing key's session is no user's ------------------------------------------------


def test_no_user_id_names_the_signing_keys_session(emulator, local_cos):
    document = ticket_document(local_cos.port)
    document["profiles"]["avatar"]["tickets_only"] = False
    service = make_service(make_env(emulator.endpoint), document)
    response = index.handle(service, ticket_event(user="ticket-signer"), context())
    assert response["statusCode"] == 200, response["body"]
    keys = index.handle(service, event(token("ticket-signer"), {"profile": "avatar"}), context())
    assert keys["statusCode"] == 200, keys["body"]
    signer, user = (call.params["Name"] for call in emulator.calls)
    assert signer != user
    assert user.startswith("cos-sts-")
    assert not signer.startswith("cos-sts-")


# -- configs that cannot keep their promise (the refusals: test_tickets.py) ----------------


def test_the_shortest_signing_key_still_fits_the_default_ticket():
    document = ticket_document(9001)
    document["tickets"]["signer_duration"] = 900  # 300 s tickets + 60 s margin fit
    assert parse_config(document, make_env()).ticket_signer_duration == 900
