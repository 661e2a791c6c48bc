"""COS events through the public handler: recognised by envelope only, placed by
the grant's own root rules, attributed to a key or a ticket, counted once, in any
order (sts_core/uploads.py, cos_events.py, quota.py)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sts_core.cos_events import is_cos_event, parse_record
from sts_core.handler import handle
from sts_tools.support.trigger_events import (
    api_gateway_event,
    cos_event,
    cos_record,
    function_url_event,
)
from tests.support import BUCKET, REGION, body_of, context, make_env, make_service, token
from tests.support.redis import document_with, far, instance, log_lines, redis_env

CREATED = "cos:ObjectCreated:Put"
REMOVED = "cos:ObjectRemove:Delete"


def record(key: str, name: str = CREATED, **fields: Any) -> dict[str, Any]:
    fields.setdefault("size", 10)
    fields.setdefault("event_time", 1_700_000_000)
    fields.setdefault("request_id", f"req-{key}-{name}")
    return cos_record(name, BUCKET, REGION, key, **fields)


def events_logged(capsys: Any) -> list[dict[str, Any]]:
    return [line for line in log_lines(capsys) if line.get("msg") == "cos-event"]


def ask_keys(service: Any, user: str = "alice", profile: str = "upload") -> dict[str, Any]:
    response = handle(
        service,
        api_gateway_event(
            headers={"Authorization": f"Bearer {token(user)}"}, body={"profile": profile}
        ),
        context(),
    )
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


# -- recognition --------------------------------------------------------------------


@pytest.mark.parametrize("build", [api_gateway_event, function_url_event])
def test_an_http_caller_cannot_send_a_cos_event(emulator, capsys, build):
    """Through either trigger, a COS event in the body, the headers or the query is an
    HTTP request (refused without a token), never an event."""
    service = make_service(make_env(emulator.endpoint))
    fake = cos_event(record("users/alice/x.jpg"))
    for request in (
        build(body=fake),
        build(body=json.dumps(fake), headers={"Records": "[]"}),
        build(body={"Records": fake["Records"], "profile": "upload"}, query={"Records": "1"}),
    ):
        response = handle(service, request, context())
        assert response["statusCode"] == 401
    assert events_logged(capsys) == []


def test_the_envelope_alone_decides():
    real = cos_event(record("users/alice/x.jpg"))
    assert is_cos_event(real)
    assert not is_cos_event({**real, "httpMethod": "POST"})
    assert not is_cos_event({**real, "requestContext": {}})
    wrong_source = copy.deepcopy(real)
    wrong_source["Records"][0]["event"]["eventSource"] = "qcs::cmq"
    assert not is_cos_event(wrong_source)
    assert not is_cos_event({"Records": []})
    assert not is_cos_event({"Records": [{"cos": {}}]})


# -- reading records ------------------------------------------------------------------


def test_both_documented_field_types():
    as_numbers = parse_record(record("users/alice/a.jpg", size=1029, event_time=1_700_000_000))
    as_strings = parse_record(record("users/alice/a.jpg", size="1029",
                                     event_time="2023-11-14T22:13:20Z"))  # fmt: skip
    assert (as_numbers.size, as_numbers.time) == (as_strings.size, as_strings.time)
    assert as_numbers.time == 1_700_000_000
    offset = parse_record(record("users/alice/a.jpg", event_time="2023-11-15T06:13:20+08:00"))
    assert offset.time == 1_700_000_000


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40))
@settings(max_examples=200, deadline=None)
def test_keys_are_decoded_exactly_once(name):
    """Whatever the key (percent signs included), the record gives it back as uploaded."""
    key = "users/alice/" + name
    assert parse_record(record(key)).key == key


def test_a_percent_sequence_in_a_key_is_not_decoded_twice():
    assert parse_record(record("users/alice/%41.jpg")).key == "users/alice/%41.jpg"


# -- placing and attributing ---------------------------------------------------------------


def test_owner_uploader_and_outside_objects(emulator, capsys):
    service = make_service(make_env(emulator.endpoint))
    keys = ask_keys(service, "alice")
    authorization = (
        f"q-sign-algorithm=sha1&q-ak={keys['credentials']['tmpSecretId']}&q-sign-time=1;2"
    )
    capsys.readouterr()
    event = cos_event(
        record("users/alice/a.jpg", authorization=authorization),
        record("users/bob/b.jpg"),
        record("elsewhere/c.jpg"),
        record("users/alice", request_id="short"),
    )
    result = handle(service, event, context())
    assert (result["handled"], result["ignored"]) == (2, 2)
    lines = {line["key"]: line for line in events_logged(capsys) if "key" in line}
    alice = lines["users/alice/a.jpg"]
    assert alice["outcome"] == "handled"
    assert alice["root"] == "users/alice/"
    assert alice["owner"] == alice["uploader"] != lines["users/bob/b.jpg"]["owner"]
    assert lines["users/bob/b.jpg"]["uploader"] is None
    assert lines["elsewhere/c.jpg"]["outcome"] == "ignored"
    assert lines["users/alice"]["outcome"] == "ignored"


def test_the_issued_key_is_logged_by_its_public_id_only(emulator, capsys):
    service = make_service(make_env(emulator.endpoint))
    keys = ask_keys(service)
    line = [entry for entry in log_lines(capsys) if entry.get("msg") == "request"][-1]
    assert line["tmpSecretId"] == keys["credentials"]["tmpSecretId"]
    text = json.dumps(line)
    assert keys["credentials"]["tmpSecretKey"] not in text
    assert keys["credentials"]["sessionToken"] not in text


def test_a_user_key_beats_a_ticket_header_it_set_itself(emulator, capsys):
    """A key holder may send x-cos-meta-sts-ticket on their own upload: the event is
    then theirs, not the ticket's."""
    service = make_service(make_env(emulator.endpoint))
    keys = ask_keys(service, "alice")
    authorization = f"q-ak={keys['credentials']['tmpSecretId']}"
    capsys.readouterr()
    event = cos_event(record("users/alice/a.jpg", authorization=authorization,
                             metadata={"x-cos-meta-sts-ticket": "0" * 32}))  # fmt: skip
    handle(service, event, context())
    (line,) = events_logged(capsys)
    assert line["ticketId"] is None
    assert line["uploader"] == line["owner"]


# -- counting ---------------------------------------------------------------------------


def quota_service(emulator: Any, redis_server: Any, **quota: int) -> Any:
    env = redis_env(emulator.endpoint, redis_server.url)
    return instance(env, document_with(quota=quota or {"bytes": 100, "files": 3}))


def usage_of(service: Any, user: str = "alice") -> tuple[int, int]:
    usage = service.quota.usage(user, far())
    return usage.bytes, usage.files


def test_counted_once_in_any_order(emulator, redis_server, redis_db):
    service = quota_service(emulator, redis_server)
    put = record("users/alice/a.jpg", size=30, event_time=100)
    overwrite = record("users/alice/a.jpg", size=50, event_time=101)
    delete = record("users/alice/a.jpg", REMOVED, size=0, event_time=102)
    handle(service, cos_event(put, put), context())
    assert usage_of(service) == (30, 1)
    handle(service, cos_event(delete), context())  # overtakes the overwrite
    handle(service, cos_event(overwrite), context())
    handle(service, cos_event(put), context())  # redelivered late
    assert usage_of(service) == (0, 0)


@given(st.permutations(range(4)), st.lists(st.integers(0, 3), max_size=4))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # flushed per example
def test_any_order_and_any_redelivery_give_the_same_usage(
    sts_emulator, redis_server, redis_db, order, repeats
):
    redis_db.flushall()
    service = quota_service(sts_emulator, redis_server, bytes=10_000)
    events = [
        record("users/alice/a.jpg", size=30, event_time=100),
        record("users/alice/b.jpg", size=40, event_time=100),
        record("users/alice/a.jpg", size=70, event_time=105),
        record("users/alice/b.jpg", REMOVED, size=0, event_time=106),
    ]
    for index in [*order, *repeats]:
        handle(service, cos_event(events[index]), context())
    assert usage_of(service) == (70, 1)  # a.jpg's last version alone


# -- the webhook -------------------------------------------------------------------------

SECRET = "whsec_" + __import__("base64").b64encode(b"webhook-test-secret-32-bytes-long").decode()


@pytest.fixture
def receiver():
    from sts_tools.support.webhook_receiver import WebhookReceiver

    with WebhookReceiver(SECRET) as server:
        yield server


def hooked_service(emulator: Any, receiver: Any, redis_url: Any = None, **quota: int) -> Any:
    extra = {"STS_WEBHOOK_URL": receiver.url, "STS_WEBHOOK_SECRET": SECRET}
    if redis_url is None:
        return make_service(make_env(emulator.endpoint, **extra))
    env = redis_env(emulator.endpoint, redis_url, **extra)
    return instance(env, document_with(quota=quota) if quota else None)


def test_one_verified_webhook_per_object_in_the_documented_shape(emulator, receiver, capsys):
    service = hooked_service(emulator, receiver)
    keys = ask_keys(service, "alice")
    handle(service, cos_event(
        record("users/alice/a.jpg", size=1029, etag='"abc"', content_type="image/jpeg",
               authorization=f"q-ak={keys['credentials']['tmpSecretId']}"),
        record("users/alice/a.jpg", REMOVED, size=0, event_time=1_700_000_001),
        record("outside/x.jpg"),
    ), context())  # fmt: skip
    created, removed = receiver.verified()
    assert created == {
        "type": "object.created",
        "timestamp": "2023-11-14T22:13:20Z",
        "data": {"bucket": BUCKET, "key": "users/alice/a.jpg", "size": 1029, "etag": '"abc"',
                 "contentType": "image/jpeg", "userId": "alice", "root": "users/alice/",
                 "uploadedBy": "alice", "ticketId": None, "eventName": CREATED},
    }  # fmt: skip
    assert removed["type"] == "object.removed"
    assert removed["data"]["userId"] == "alice"
    text = capsys.readouterr().out + json.dumps(receiver.verified())
    for secret in (SECRET, SECRET[6:], keys["credentials"]["tmpSecretKey"],
                   keys["credentials"]["sessionToken"], receiver.url):  # fmt: skip
        assert secret not in text


def test_a_failed_delivery_fails_the_invocation_and_the_retry_repeats_the_id(
    emulator, receiver, capsys
):
    service = hooked_service(emulator, receiver)
    event = cos_event(record("users/alice/a.jpg"))
    receiver.status = 500
    with pytest.raises(Exception, match="retry"):
        handle(service, event, context())
    receiver.status = 204
    handle(service, event, context())  # SCF's retry
    handle(service, event, context())  # and a duplicate delivery
    ids = [d.webhook_id for d in receiver.deliveries]
    assert len(ids) == 3
    assert len(set(ids)) == 1
    assert len(receiver.verified()) == 1
    assert "500" in events_logged(capsys)[0]["detail"]


def test_a_slow_or_absent_receiver_fails_within_the_time_limit(emulator, receiver):
    import time

    service = hooked_service(emulator, receiver)
    receiver.delay = 3
    started = time.monotonic()
    with pytest.raises(Exception, match="retry"):
        handle(service, cos_event(record("users/alice/a.jpg")), context(1500))
    assert time.monotonic() - started < 1.5
    receiver.stop()
    with pytest.raises(Exception, match="retry"):
        handle(service, cos_event(record("users/alice/b.jpg")), context())


def test_a_tampered_delivery_fails_the_library_check(emulator, receiver):
    """The oracle really checks: the same body under another secret is refused."""
    from sts_core.webhook import signed_request

    other = b"another-secret-of-thirty-two-byt"
    body, headers = signed_request(other, "msg_1", int(__import__("time").time()), {"a": 1})
    assert not receiver.receive(body, headers).verified
    body, headers = signed_request(
        __import__("base64").b64decode(SECRET[6:]), "msg_1", int(__import__("time").time()),
        {"a": 1})  # fmt: skip
    assert receiver.receive(body, headers).verified


def test_open_reservations_count_until_their_event_or_expiry(emulator, redis_server, redis_db):
    """Tickets are exact: a second ticket that fits the usage but not the usage plus the
    first ticket's reservation is refused; the first one's event ends its reservation."""
    service = quota_service(emulator, redis_server, bytes=10_000)

    def ticket(size: int) -> dict[str, Any]:
        wanted = {"method": "put", "extension": "png", "size": size}
        return handle(service, api_gateway_event(
            headers={"Authorization": f"Bearer {token('alice')}"},
            body={"profile": "avatar", "ticket": wanted}), context())  # fmt: skip

    first = ticket(6_000)
    assert first["statusCode"] == 200
    refused = ticket(6_000)
    assert refused["statusCode"] == 403
    error = body_of(refused)["error"]
    assert error["code"] == "quota_exceeded"
    assert "6000 of 10000 bytes" in error["message"]
    given = body_of(first)["ticket"]
    handle(service, cos_event(record(given["key"], size=6_000, metadata={
        "x-cos-meta-sts-ticket": given["ticketId"]})), context())  # fmt: skip
    usage = service.quota.usage("alice", far())
    assert (usage.bytes, usage.reserved_bytes) == (6_000, 0)
    assert ticket(4_000)["statusCode"] == 200
    assert ticket(1)["statusCode"] == 403


def test_an_object_in_another_bucket_is_ignored(emulator, capsys):
    service = make_service(make_env(emulator.endpoint))
    other = cos_record(CREATED, "otherbucket-1250000000", REGION, "users/alice/a.jpg")
    result = handle(service, cos_event(other), context())
    assert (result["handled"], result["ignored"]) == (0, 1)
    (line,) = events_logged(capsys)
    assert line["detail"] == "not a configured bucket"


def test_a_cold_start_without_quota_or_webhook_loads_no_event_code():
    """Event, webhook and quota code load only when configured or an event arrives."""
    from tests.support import run_python

    script = (
        "import sys, index; "
        "print(sorted(m for m in sys.modules if m in ('sts_core.cos_events', "
        "'sts_core.uploads', 'sts_core.webhook', 'sts_core.quota')))"
    )
    env = {**make_env(), "PATH": "/usr/bin:/bin"}
    assert run_python("-c", script, env=env).stdout.strip() == "[]"


def test_another_instance_names_the_uploader_through_redis(emulator, redis_server, redis_db):
    """Keys are remembered in Redis when it is configured: the instance that gets the
    event need not be the one that issued the key; sealed, under an HMAC name."""
    env = redis_env(emulator.endpoint, redis_server.url)
    issuing, other = instance(env), instance(env)
    keys = ask_keys(issuing, "alice")
    secret_id = keys["credentials"]["tmpSecretId"]
    event = cos_event(record("users/alice/a.jpg", authorization=f"q-ak={secret_id}"))
    (line,) = handle(other, event, context())["records"]
    assert line["uploader"] == line["owner"]
    stored = b"".join(redis_db.get(name) or b"" for name in redis_db.keys("*ak:*"))
    assert stored
    assert b"alice" not in stored
    assert not any(secret_id.encode() in name for name in redis_db.keys("*"))
    alone = make_service(make_env(emulator.endpoint))  # no Redis: only its own keys
    (unknown,) = handle(alone, event, context())["records"]
    assert unknown["uploader"] is None


@given(st.lists(st.tuples(st.sampled_from("ab"), st.sampled_from(["c", "r"]),
                          st.integers(0, 5), st.integers(1, 100)), min_size=1, max_size=8,
                unique_by=lambda e: e[:3]),  # two creations in one second: approximate
       st.randoms())  # fmt: skip
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # flushed per example
def test_usage_equals_the_last_event_per_object(sts_emulator, redis_server, redis_db, events, rnd):
    """Oracle: per object, the event with the greatest (time, removal over creation);
    usage is the sum of the sizes of those that are creations. Any order, any repeats."""
    redis_db.flushall()
    service = quota_service(sts_emulator, redis_server, bytes=10**9)
    last: dict[str, tuple[int, int, int]] = {}
    for name, kind, when, size in events:
        rank = (when, 1 if kind == "r" else 0)
        if name not in last or rank > last[name][:2]:
            last[name] = (*rank, size)
    alive = [size for _, removal, size in last.values() if not removal]
    shuffled = events + rnd.sample(events, len(events) // 2)
    rnd.shuffle(shuffled)
    for name, kind, when, size in shuffled:
        handle(service, cos_event(record(
            f"users/alice/{name}", CREATED if kind == "c" else REMOVED,
            size=size if kind == "c" else 0, event_time=when,
            request_id=f"{name}-{kind}-{when}-{size}")), context())  # fmt: skip
    assert usage_of(service) == (sum(alive), len(alive))
