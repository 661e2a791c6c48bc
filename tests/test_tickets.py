"""Upload and download tickets (sts_core/tickets.py, ticket_signing_key.py), as a user
meets them: a ticket from the public handler, then the one request it is for sent
over HTTP to the local COS, which checks the signature, the form policy and the
signing key's CAM policy. Then the refusals, the pure planner's edges, and the
signing key's own limits.
"""

from __future__ import annotations

import base64
import copy
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import index
from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from sts_core.errors import BadRequest, Forbidden
from sts_core.issued_credentials import IssuedCredentials
from sts_core.policy import PolicyViolation, RootGrant, Target
from sts_core.ticket_signing_key import TicketSigner, check_signer_policy, signer_policy
from sts_core.tickets import TicketRequest, parse_ticket, plan_ticket
from sts_tools.emulators.cos.server import CosEmulator
from tests.support import BUCKET, REGION, Clock, body_of, context, event, make_env, token
from tests.support.cos import client, refused
from tests.support.examples import examples
from tests.support.tickets import (
    ask,
    cos_error,
    policy_of,
    send,
    ticket,
    ticket_document,
    ticket_key,
    ticket_service,
)

JPEG = b"\xff\xd8\xff\xe0 a small jpeg"
KEY_SHAPE = ticket_key()


@pytest.fixture
def service(emulator, local_cos):
    return ticket_service(emulator, local_cos)


def stored(cos, key):
    return cos.store.get_object(BUCKET, key)


# -- what each ticket is for works --------------------------------------------------------


def test_a_post_ticket_uploads_one_file_to_a_key_the_function_chose(service, local_cos):
    given = ticket(service, method="post", extension="jpg")
    assert given["method"] == "POST"
    assert KEY_SHAPE.fullmatch(given["key"])
    assert given["fileField"] == "file"
    assert given["contentType"] == "image/jpeg"
    response = send(given, JPEG)
    assert response.status_code == 200, response.text  # success_action_status 200
    assert stored(local_cos, given["key"]).body == JPEG
    assert stored(local_cos, given["key"]).content_type == "image/jpeg"


def test_a_put_ticket_uploads_exactly_the_announced_size(service, local_cos):
    given = ticket(service, method="put", contentType="image/png", size=len(JPEG))
    assert given["key"].endswith(".png")
    assert given["headers"]["Content-Length"] == str(len(JPEG))
    response = send(given, JPEG)
    assert response.status_code == 200, response.text
    assert stored(local_cos, given["key"]).body == JPEG


def test_a_get_ticket_downloads_one_of_the_callers_objects(service, local_cos):
    upload = ticket(service, method="post", extension="png")
    assert send(upload, JPEG).status_code == 200
    download = ticket(service, method="get", key=upload["key"])
    response = send(download)
    assert response.status_code == 200
    assert response.content == JPEG


def test_the_answer_names_where_and_until_when(service):
    response = ask(service, {"method": "post", "extension": "webp"})
    body = body_of(response)
    assert (body["bucket"], body["region"], body["prefix"]) == (BUCKET, REGION, "users/alice/")
    given = body["ticket"]
    assert 0 < given["expiredTime"] - time.time() <= 300
    assert given["url"].startswith(f"http://{BUCKET}.cos.{REGION}.localhost:")
    assert "credentials" not in body  # no key leaves the function
    assert given["maxSize"] == 5 * 1024 * 1024


@pytest.mark.parametrize("sample", ["apigw_official.json", "function_url.json"])
def test_both_triggers_hand_out_tickets(service, local_cos, sample):
    body = {"profile": "avatar", "ticket": {"method": "post", "extension": "png"}}
    response = index.handle(service, event(token("alice"), body, sample=sample), context())
    assert response["statusCode"] == 200, response["body"]
    assert cos_error(send(body_of(response)["ticket"], JPEG)) == ""


def test_many_tickets_cost_one_sts_call(service, emulator, local_cos):
    for _ in range(25):
        given = ticket(service, method="post", extension="jpg")
        assert send(given, JPEG).status_code == 200
    assert len(emulator.calls) == 1
    assert len({record.key for record in local_cos.records}) == 25


# -- COS refuses what the ticket does not allow -------------------------------------------


def test_a_larger_or_empty_file_is_refused_by_the_form_policy(emulator, local_cos):
    service = ticket_service(emulator, local_cos, max_size=16)
    given = ticket(service, method="post", extension="jpg")
    assert cos_error(send(given, b"x" * 17)) == "EntityTooLarge"
    assert cos_error(send(given, b"")) == "EntityTooSmall"
    assert cos_error(send(given, b"x" * 16)) == ""


def test_a_post_ticket_with_a_size_accepts_only_that_size(service):
    given = ticket(service, method="post", extension="jpg", size=4)
    assert ["content-length-range", 4, 4] in policy_of(given)["conditions"]
    assert cos_error(send(given, b"12345")) == "EntityTooLarge"
    assert cos_error(send(given, b"123")) == "EntityTooSmall"
    assert cos_error(send(given, b"1234")) == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key", "users/alice/other.jpg"),
        ("key", "users/bob/2026-01-01/0123.jpg"),
        ("Content-Type", "text/html"),
        ("acl", "public-read"),
        ("x-cos-storage-class", "ARCHIVE"),
        ("success_action_status", "201"),
    ],
)
def test_changing_a_pinned_form_field_is_refused(service, local_cos, field, value):
    given = ticket(service, method="post", extension="jpg")
    response = send(given, JPEG, fields={field: value})
    assert response.status_code == 403, response.text
    assert cos_error(response) == "AccessDenied"
    assert not local_cos.store.list_objects(BUCKET, "").objects


def test_a_tampered_policy_or_signature_is_refused(service):
    given = ticket(service, method="post", extension="jpg")
    policy = policy_of(given)
    policy["conditions"] = [c for c in policy["conditions"] if "key" not in c]
    forged = base64.b64encode(json.dumps(policy).encode()).decode()
    assert cos_error(send(given, JPEG, fields={"policy": forged})) == "SignatureDoesNotMatch"
    signature = given["fields"]["q-signature"]
    bad = signature[:-1] + ("1" if signature.endswith("0") else "0")  # always a different one
    assert cos_error(send(given, JPEG, fields={"q-signature": bad})) == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"headers": {"Content-Type": "text/html"}}, "SignatureDoesNotMatch"),
        ({"headers": {"x-cos-acl": "public-read"}}, "SignatureDoesNotMatch"),
        ({"headers": {"x-cos-forbid-overwrite": None}}, "SignatureDoesNotMatch"),
        ({"content": JPEG + b"more"}, "SignatureDoesNotMatch"),  # the length is signed
        ({"method": "DELETE"}, "SignatureDoesNotMatch"),
    ],
)
def test_a_put_ticket_is_for_exactly_its_request(service, local_cos, change, code):
    given = ticket(service, method="put", extension="jpg", size=len(JPEG))
    content = change.pop("content", JPEG)
    response = send(given, content, **change)
    assert cos_error(response) == code, response.text
    assert not local_cos.store.list_objects(BUCKET, "").objects


def test_a_ticket_url_for_another_key_does_not_verify(service, local_cos):
    given = ticket(service, method="put", extension="jpg", size=len(JPEG))
    other = given["url"].replace(given["key"].rsplit("/", 1)[1], "0" * 32 + ".jpg")
    assert cos_error(send(given, JPEG, url=other)) == "SignatureDoesNotMatch"


def test_a_put_with_a_callers_name_never_overwrites(emulator, local_cos):
    service = ticket_service(emulator, local_cos, caller_names=True)
    first = ticket(service, method="put", name="me.jpg", size=len(JPEG))
    assert first["key"] == "users/alice/me.jpg"
    assert cos_error(send(first, JPEG)) == ""
    again = ticket(service, method="put", name="me.jpg", size=3)
    response = send(again, b"new")
    assert response.status_code == 409
    assert cos_error(response) == "FileAlreadyExists"
    assert stored(local_cos, "users/alice/me.jpg").body == JPEG


def test_a_ticket_dies_at_its_expiry_though_the_signing_key_lives_on(emulator):
    offset = [0.0]
    with CosEmulator(emulator.keyring, bucket=BUCKET, region=REGION, log=lambda line: None,
                     clock=lambda: time.time() + offset[0]) as cos:  # fmt: skip
        service = ticket_service(emulator, cos, ttl=60)
        form = ticket(service, method="post", extension="jpg")
        put = ticket(service, method="put", extension="jpg", size=len(JPEG))
        offset[0] = 62
        assert cos_error(send(form, JPEG)) == "AccessDenied"
        assert cos_error(send(put, JPEG)) == "AccessDenied"
        assert "expired" in send(put, JPEG).text.lower()
        fresh = ticket(service, method="post", extension="jpg")  # same key, a new window
        offset[0] = 0
        assert cos_error(send(fresh, JPEG)) == ""
    assert len(emulator.calls) == 1


def test_the_signing_key_itself_reaches_only_the_ticket_roots(service, emulator, local_cos):
    ticket(service, method="post", extension="jpg")
    (call,) = emulator.calls
    resources = [r for s in call.policy["statement"] for r in s["resource"]]
    assert resources
    assert all(r.endswith(f"{BUCKET}/users/*") for r in resources)
    signer = service.tickets._current["upload"]
    keys = {"credentials": {"tmpSecretId": signer.tmp_secret_id,
                            "tmpSecretKey": signer.tmp_secret_key,
                            "sessionToken": signer.session_token}}  # fmt: skip
    cos = client(local_cos, keys)
    cos.put_object(Bucket=BUCKET, Key="users/anyone/x.jpg", Body=b"in a root")
    for key in ("public/x.jpg", "x.jpg", "usersx/y.jpg"):
        assert refused(cos.put_object, Bucket=BUCKET, Key=key, Body=b"x").get_status_code() == 403
    assert refused(cos.put_object, Bucket=BUCKET, Key="users/anyone/y.jpg", Body=b"x",
                   ACL="public-read").get_status_code() == 403  # fmt: skip
    assert refused(cos.delete_object, Bucket=BUCKET, Key="users/anyone/x.jpg")
    assert refused(cos.list_objects, Bucket=BUCKET, Prefix="users/")


# -- what the function refuses to sign ----------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "status", "code"),
    [
        ({"method": "post", "extension": "exe"}, 403, "ticket_denied"),
        ({"method": "post", "extension": "jpg", "contentType": "image/png"}, 403,
         "ticket_denied"),
        ({"method": "post", "contentType": "image/*"}, 403, "ticket_denied"),
        ({"method": "post"}, 403, "ticket_denied"),
        ({"method": "post", "extension": "jpg", "size": 6 * 1024 * 1024}, 403, "ticket_denied"),
        ({"method": "put", "extension": "jpg"}, 400, "invalid_field"),  # no size
        ({"method": "put", "extension": "jpg", "size": 0}, 403, "ticket_denied"),
        ({"method": "put", "extension": "jpg", "size": 3, "name": "me.jpg"}, 403,
         "ticket_denied"),  # caller_names is off
        ({"method": "post", "extension": "jpg", "key": "users/alice/x.jpg"}, 400,
         "invalid_field"),
        ({"method": "get", "key": "users/bob/2026-01-01/a.jpg"}, 403, "ticket_denied"),
        ({"method": "get", "key": "users/alice/../bob/a.jpg"}, 403, "ticket_denied"),
        ({"method": "get", "key": "users/alice/"}, 403, "ticket_denied"),
        ({"method": "get", "key": "users/alice/*"}, 403, "ticket_denied"),
        ({"method": "get"}, 400, "invalid_field"),
        ({"method": "get", "name": "a.jpg"}, 403, "ticket_denied"),
        ({"method": "delete"}, 400, "invalid_field"),
        ({"method": "post", "extension": 5}, 400, "invalid_field"),
        ({"method": "put", "extension": "jpg", "size": True}, 400, "invalid_field"),
        ({"method": "put", "extension": "jpg", "size": -1}, 400, "invalid_field"),
        ({"method": "post", "extension": "jpg", "acl": "public-read"}, 400, "invalid_field"),
        ("post", 400, "invalid_field"),
    ],
)  # fmt: skip
def test_the_function_refuses_tickets_the_profile_does_not_give(service, emulator, wanted,
                                                               status, code):  # fmt: skip
    response = ask(service, wanted)
    assert response["statusCode"] == status, response["body"]
    assert body_of(response)["error"]["code"] == code
    assert "Traceback" not in response["body"]


def test_a_profile_without_tickets_gives_none(service, emulator):
    response = ask(service, {"method": "post", "extension": "jpg"}, profile="upload")
    assert response["statusCode"] == 403
    assert "gives no post tickets" in body_of(response)["error"]["message"]
    assert emulator.calls == []


def test_a_ticket_takes_no_scope_or_duration(service):
    for extra in ({"scope": [{"action": "name/cos:PutObject"}]}, {"durationSeconds": 900}):
        response = ask(service, {"method": "post", "extension": "jpg"}, **extra)
        assert response["statusCode"] == 400
        assert body_of(response)["error"]["code"] == "invalid_field"


def test_no_token_no_ticket(service, emulator):
    request = event(None, {"profile": "avatar", "ticket": {"method": "post", "extension": "jpg"}})
    assert index.handle(service, request, context())["statusCode"] == 401
    request = event(token("alice", secret="x" * 32), json.loads(request["body"]))
    assert index.handle(service, request, context())["statusCode"] == 401
    assert emulator.calls == []


def test_tickets_count_against_the_callers_rate_limit(emulator, local_cos):
    document = ticket_document(local_cos.port)
    document["rate_limit"] = {"enabled": True, "per_user": {"rate": 0.001, "burst": 2}}
    from tests.support import make_service

    service = make_service(make_env(emulator.endpoint), document)
    wanted = {"method": "post", "extension": "jpg"}
    assert [ask(service, wanted)["statusCode"] for _ in range(3)] == [200, 200, 429]
    assert ask(service, wanted, user="bob")["statusCode"] == 200


def test_the_log_says_ticket_and_holds_no_secret(service, capsys):
    response = ask(service, {"method": "put", "extension": "jpg", "size": 3})
    given = body_of(response)["ticket"]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    (line,) = [entry for entry in lines if entry.get("msg") == "request"]
    assert (line["outcome"], line["ticket"], line["signer"]) == ("ticket", "put", "issued")
    text = json.dumps(lines)
    signed = given["url"].split("q-signature=", 1)[1].split("&", 1)[0]
    for secret in (given["url"].split("x-cos-security-token=", 1)[1], signed):
        assert secret not in text
    assert line["objectKey"] == given["key"]  # who had which key: docs/security.md
    assert "q-ak" not in text


# -- the planner, pure ---------------------------------------------------------------------

SIGNER = IssuedCredentials("AKIDsigner", "signer-secret", "signer-token", 0, 2_000_000_000)
NOW = 1_700_000_000.0


def target(root="users/alice/"):
    return Target(REGION, "1250000000", BUCKET, root, "alice", (RootGrant(root, ("x",)),))


def avatar(**changes):
    document = ticket_document(9001)
    document["profiles"]["avatar"]["tickets"].update(changes)
    return parse_config(document, make_env()).profiles["avatar"]


def plan(wanted, profile=None, now=NOW, signer=SIGNER):
    return plan_ticket(profile or avatar(), target(), parse_ticket(wanted), signer,
                       "https://{bucket}.cos.{region}.myqcloud.com", now,
                       lambda: "f" * 32)  # fmt: skip


def test_the_form_policy_pins_every_field_it_can():
    given = plan({"method": "post", "extension": "JPG"})
    key = "users/alice/2023-11-14/" + "f" * 32 + ".jpg"
    window = "1699999940;1700000300"
    assert given.key == key
    assert given.url == f"https://{BUCKET}.cos.{REGION}.myqcloud.com/"
    assert policy_of({"fields": given.fields}) == {
        "expiration": "2023-11-14T22:18:20Z",
        "conditions": [
            {"q-sign-algorithm": "sha1"}, {"q-ak": "AKIDsigner"}, {"q-sign-time": window},
            {"bucket": BUCKET}, {"key": key}, ["content-length-range", 1, 5 * 1024 * 1024],
            {"Content-Type": "image/jpeg"}, {"acl": "private"},
            {"x-cos-storage-class": "STANDARD"}, {"success_action_status": "200"},
            {"x-cos-security-token": "signer-token"},
        ],
    }  # fmt: skip
    assert given.fields["q-key-time"] == window
    assert next(iter(given.fields)) == "key"  # fields in form order; the file goes last


def test_a_ticket_never_outlives_its_signing_key():
    short = SIGNER._replace(expired_time=int(NOW) + 100)
    given = plan({"method": "get", "key": "users/alice/a.jpg"}, signer=short)
    assert given.expired_time == int(NOW) + 100
    assert f"q-key-time=1699999940%3B{int(NOW) + 100}" in given.url


def test_a_presigned_put_signs_each_header_it_names():
    given = plan({"method": "put", "contentType": "image/webp", "size": 10})
    signed = given.url.split("q-header-list=", 1)[1].split("&", 1)[0]
    assert signed.split("%3B") == sorted(
        ["host", "content-type", "content-length", "x-cos-acl", "x-cos-storage-class",
         "x-cos-forbid-overwrite"]
    )  # fmt: skip
    assert "q-url-param-list=x-cos-security-token" in given.url


def test_caller_names_are_held_to_the_key_rules():
    profile = avatar(caller_names=True)
    for name in ("../bob/a.jpg", "a//b.jpg", "a.png", "a?.jpg", "a%2e.jpg", "./a.jpg"):
        with pytest.raises(Forbidden):
            plan({"method": "put", "name": name, "extension": "jpg", "size": 1}, profile)
    assert plan({"method": "put", "name": "a/b.jpg", "size": 1, "extension": "jpg"},
                profile).key == "users/alice/a/b.jpg"  # fmt: skip
    with pytest.raises(Forbidden):  # POST cannot forbid overwriting: its keys are random
        plan({"method": "post", "name": "a.jpg", "extension": "jpg"}, profile)


texts = st.one_of(st.none(), st.text(max_size=40))
asks = st.fixed_dictionaries(
    {"method": st.sampled_from(["post", "put", "get"])},
    optional={"extension": texts, "contentType": texts, "name": texts, "key": texts,
              "size": st.integers(-1, 10**8)},
)  # fmt: skip


@settings(max_examples=examples(400))
@given(wanted=asks, caller_names=st.booleans())
def test_every_ticket_lies_inside_the_callers_root(wanted, caller_names):
    """Oracle written apart from object_keys.py: a plain prefix test and segment scan."""
    profile = avatar(caller_names=caller_names)
    try:
        given = plan(wanted, profile)
    except (BadRequest, Forbidden):
        return
    rest = given.key[len("users/alice/") :]
    assert given.key.startswith("users/alice/")
    assert rest
    assert all(segment not in ("", ".", "..") for segment in rest.split("/"))
    assert not set(given.key) & set("*?%\\")
    if given.method != "GET":
        assert given.content_type in {"image/jpeg", "image/png", "image/webp"}
        assert given.key.endswith("." + {"image/jpeg": "jpg", "image/png": "png",
                                          "image/webp": "webp"}[given.content_type])  # fmt: skip
        assert 1 <= given.max_size <= 5 * 1024 * 1024


def test_parse_ticket_refuses_unknown_fields():
    with pytest.raises(BadRequest, match="unknown field 'acl'"):
        parse_ticket({"method": "post", "acl": "public-read"})
    assert parse_ticket({"method": "get", "key": "k"}) == TicketRequest("get", key="k")


# -- the signing key's policy and the config -----------------------------------------------


def shipped(**changes):
    document = ticket_document(9001)
    document.update(changes)
    return parse_config(document, make_env())


def test_the_signing_keys_cover_each_ticket_profile_and_nothing_else():
    resource = f"qcs::cos:{REGION}:uid/1250000000:{BUCKET}/users/*"
    assert signer_policy(shipped(), kind="upload")["statement"] == [
        {"effect": "allow", "action": ["name/cos:PostObject", "name/cos:PutObject"],
         "resource": [resource],
         "condition": {"string_equal_if_exist": {"cos:x-cos-acl": ["private", "default"],
                                                 "cos:x-cos-storage-class": ["STANDARD"]}}},
    ]  # fmt: skip
    assert signer_policy(shipped(), kind="download")["statement"] == [
        {"effect": "allow", "action": ["name/cos:GetObject"], "resource": [resource]},
    ]


def test_one_signing_key_never_both_uploads_and_reads():
    """A key that could do both would turn a PUT ticket plus an unsigned
    x-cos-copy-source into a copy of any user's object (tests/test_ticket_copy.py)."""
    config = shipped()
    both = signer_policy(config, kind="upload")
    both["statement"] += signer_policy(config, kind="download")["statement"]
    with pytest.raises(PolicyViolation, match="both upload and read"):
        check_signer_policy(both, config)
    upload = signer_policy(config, kind="upload")
    upload["statement"][0]["action"].append("name/cos:GetObject")
    with pytest.raises(PolicyViolation, match="both upload and read"):
        check_signer_policy(upload, config)


class CountingIssuer:
    """The issuer's interface, keys stamped with the test's clock."""

    def __init__(self, clock):
        self.clock, self.asked = clock, []

    def issue(self, env, user_id, policy_text, duration, deadline, session=None):
        self.asked.append((session, duration))
        now = int(self.clock())
        return IssuedCredentials(f"AKID{len(self.asked)}", "k", "t", now, now + duration)


def test_the_signing_key_is_renewed_before_a_ticket_could_outlive_it():
    clock = Clock()
    issuer = CountingIssuer(clock)
    signer = TicketSigner(shipped(), issuer, clock=clock)
    notes = []
    first = signer.key({}, 0.0, lambda **fields: notes.append(fields["signer"]))
    clock.now += 3600 - (300 + 60)  # the longest ticket (300 s) and the margin still fit
    assert signer.key({}, 0.0, lambda **fields: notes.append(fields["signer"])) is first
    clock.now += 1
    second = signer.key({}, 0.0, lambda **fields: notes.append(fields["signer"]))
    assert second.tmp_secret_id == "AKID2"
    assert notes == ["issued", "reused", "issued"]
    assert issuer.asked == [("cos-ticket-signer", 3600)] * 2


@pytest.mark.parametrize(
    "breach",
    [
        lambda s: s[0]["action"].append("name/cos:DeleteObject"),
        lambda s: s[0]["action"].append("name/cos:*"),
        lambda s: s[0]["resource"].append(s[0]["resource"][0].replace("users/*", "*")),
        lambda s: s[0]["resource"].append(s[0]["resource"][0].replace("users/*", "us*")),
        lambda s: s[0].__setitem__("resource", [s[0]["resource"][0].replace("users", "public")]),
        lambda s: s[0].pop("condition"),
        lambda s: s[0]["condition"]["string_equal_if_exist"]["cos:x-cos-acl"].append("public-read"),
        lambda s: s[0]["condition"]["string_equal_if_exist"].pop("cos:x-cos-storage-class"),
        lambda s: s.clear(),
    ],
)
def test_the_signing_key_policy_check_refuses_any_breach(breach):
    config = shipped()
    policy = copy.deepcopy(signer_policy(config))
    check_signer_policy(policy, config)
    breach(policy["statement"])
    with pytest.raises(PolicyViolation):
        check_signer_policy(policy, config)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["profiles"]["avatar"]["tickets"].update(methods=["delete"]),
         "profiles.avatar.tickets.methods[0]"),
        (lambda d: d["profiles"]["upload"].update(tickets={"methods": ["get"]}),
         "profiles.upload.tickets.methods[0]"),  # upload has no GetObject
        (lambda d: d["profiles"]["avatar"]["tickets"].update(methods=[]),
         "profiles.avatar.tickets.methods"),
        (lambda d: d["profiles"]["avatar"]["tickets"].update(types={"jpg": "image/*"}),
         "profiles.avatar.tickets.types.jpg"),
        (lambda d: d["profiles"]["avatar"]["tickets"].update(types={"j/g": "image/jpeg"}),
         "profiles.avatar.tickets.types.j/g"),
        (lambda d: d["profiles"]["avatar"]["tickets"].update(types={}),
         "profiles.avatar.tickets.types"),
        (lambda d: d["profiles"]["avatar"]["tickets"].update(max_size=6 * 1024 * 1024),
         "profiles.avatar.tickets.max_size"),  # above the profile's max_content_length
        (lambda d: d["profiles"]["avatar"]["tickets"].update(ttl=5),
         "profiles.avatar.tickets.ttl"),
        (lambda d: d["profiles"]["avatar"]["tickets"].update(sizes=1),
         "profiles.avatar.tickets.sizes"),
        (lambda d: d["prefix"].update(template="{uid}/"), "profiles.avatar.tickets.methods"),
        (lambda d: d["tickets"].update(cos_endpoint="http://{bucket}.example.com"),
         "tickets.cos_endpoint"),
        (lambda d: d["tickets"].update(cos_endpoint="https://cos.example.com"),
         "tickets.cos_endpoint"),
        (lambda d: d["tickets"].update(cos_endpoint="https://{bucket}.x.com/path"),
         "tickets.cos_endpoint"),
        (lambda d: d["tickets"].update(signer_duration=60), "tickets.signer_duration"),
        # configs that cannot keep their promise (docs/tickets.md, "Configuring it")
        (lambda d: d["profiles"]["avatar"].update(content_types=["image/png"]),
         "profiles.avatar.tickets.types.jpg"),
        (lambda d: d["profiles"]["avatar"]["tickets"].update(ttl=3540),
         "profiles.avatar.tickets.ttl"),  # 3600 - 60: every ticket would cost an STS call
        (lambda d: d["profiles"]["avatar"]["tickets"].update(ttl=840)
         or d["tickets"].update(signer_duration=900), "profiles.avatar.tickets.ttl"),
        (lambda d: d["tickets"].update(
            cos_endpoint="https://{bucket}.cos.{region}.myqcloud.com@evil.example"),
         "tickets.cos_endpoint"),
        (lambda d: d["tickets"].update(cos_endpoint="https://{bucket}.cos.{region}.myqcloud.com#x"),
         "tickets.cos_endpoint"),
        (lambda d: d["tickets"].update(cos_endpoint="https://{bucket}.cos.{region}.myqcloud.com?"),
         "tickets.cos_endpoint"),
        (lambda d: d["tickets"].update(cos_endpoint="https://u:p@{bucket}.cos.myqcloud.com"),
         "tickets.cos_endpoint"),
    ],
)  # fmt: skip
def test_a_bad_ticket_config_fails_at_cold_start_naming_the_key(change, key):
    document = ticket_document(9001)
    change(document)
    with pytest.raises(ConfigError) as raised:
        parse_config(document, make_env())
    assert raised.value.key == key, str(raised.value)


def test_the_default_endpoint_is_tencents_and_https():
    document = ticket_document(9001)
    del document["tickets"]
    config = parse_config(document, make_env())
    assert config.cos_endpoint == "https://{bucket}.cos.{region}.myqcloud.com"
    assert config.ticket_signer_duration == 3600
