"""End to end on the local stack: the official COS Python SDK and upload tickets
write to the local COS, whose events reach the function as the COS trigger would
deliver them (sts_tools/emulators/cos/notifications.py); the test's own receiver
gets one verified webhook per object; a quota refuses the next ticket and then the
next keys; a deletion frees usage; a redelivered event changes nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from sts_core.handler import handle
from sts_tools.emulators.cos.notifications import Notifier
from tests.support import BUCKET, REGION, context
from tests.support.cos import client, mint, refused
from tests.support.redis import document_with, far, instance, redis_env
from tests.support.tickets import ask, send, ticket_document

SECRET = "whsec_" + base64.b64encode(b"local-webhook-secret-for-the-e2e!").decode()
KIB = 1024


@pytest.fixture
def receiver():
    from sts_tools.support.webhook_receiver import WebhookReceiver

    with WebhookReceiver(SECRET) as server:
        yield server


@pytest.fixture
def stack(emulator, local_cos, redis_server, redis_db, receiver):
    """The function with a 10 KiB / 4 files quota and the webhook, fed by the local COS."""
    env = redis_env(emulator.endpoint, redis_server.url, STS_WEBHOOK_URL=receiver.url,
                    STS_WEBHOOK_SECRET=SECRET)  # fmt: skip
    document = ticket_document(local_cos.port)
    document["quota"] = {"bytes": 10 * KIB, "files": 4}
    service = instance(env, document_with(**{k: v for k, v in document.items()
                                             if isinstance(v, dict)}))  # fmt: skip
    delivered: list[Any] = []

    def deliver(event: Any) -> Any:
        delivered.append(event)
        return handle(service, event, context())

    local_cos.notify = Notifier(deliver, BUCKET, REGION, retry_delays=(0.05, 0.1))
    yield service, local_cos, delivered
    local_cos.notify.stop()
    local_cos.notify = Notifier(None, BUCKET, REGION)


def settled(cos: Any) -> None:
    assert cos.notify.wait(10), "the local COS's events were not delivered in time"


def test_keys_and_tickets_end_to_end(stack, receiver, redis_db):
    service, cos, delivered = stack
    alice = mint(service, "alice", {"profile": "read-write"})
    sdk = client(cos, alice)
    sdk.put_object(Bucket=BUCKET, Key="users/alice/notes.txt", Body=b"x" * (2 * KIB))
    # A form without a size reserves its ceiling (5 MiB): more than this quota.
    ceiling = ask(service, {"method": "post", "extension": "jpg"})
    assert ceiling["statusCode"] == 403
    assert "quota_exceeded" in ceiling["body"]
    post = ask(service, {"method": "post", "extension": "jpg", "size": KIB})
    given = json.loads(post["body"])["ticket"]
    assert send(given, b"j" * KIB).status_code == 200
    put = ask(service, {"method": "put", "extension": "png", "size": KIB})
    given_put = json.loads(put["body"])["ticket"]
    assert send(given_put, b"p" * KIB).status_code == 200
    settled(cos)

    hooks = {hook["data"]["key"]: hook["data"] for hook in receiver.verified()}
    assert len(hooks) == 3 == len(receiver.verified())
    by_key = hooks["users/alice/notes.txt"]
    assert (by_key["userId"], by_key["uploadedBy"], by_key["ticketId"]) == ("alice", "alice", None)
    form = hooks[given["key"]]
    assert (form["uploadedBy"], form["ticketId"]) == ("alice", given["ticketId"])
    assert hooks[given_put["key"]]["ticketId"] == given_put["ticketId"]
    # Each ticket's reservation ended with its event: usage is exact.
    usage = service.quota.usage("alice", far())
    assert (usage.bytes, usage.files, usage.reserved_bytes) == (4 * KIB, 3, 0)

    # A redelivered event changes nothing (and its webhook repeats its id).
    handle(service, delivered[0], context())
    assert service.quota.usage("alice", far()).bytes == 4 * KIB
    assert len(receiver.verified()) == 3

    # The quota: a ticket that would pass it is refused, exactly; then the keys.
    too_big = ask(service, {"method": "put", "extension": "png", "size": 7 * KIB})
    assert too_big["statusCode"] == 403
    assert "quota_exceeded" in too_big["body"]
    sdk.put_object(Bucket=BUCKET, Key="users/alice/big.bin", Body=b"b" * (6 * KIB))
    settled(cos)
    refused_keys = index_handle(service, "alice")
    assert refused_keys["statusCode"] == 403
    assert "quota_exceeded" in refused_keys["body"]
    assert "10240" in refused_keys["body"]  # the limit, in the message

    # A deletion frees usage: keys again.
    sdk.delete_object(Bucket=BUCKET, Key="users/alice/big.bin")
    settled(cos)
    assert service.quota.usage("alice", far()).bytes == 4 * KIB
    assert index_handle(service, "alice")["statusCode"] == 200
    removed = [h for h in receiver.verified() if h["type"] == "object.removed"]
    assert [h["data"]["key"] for h in removed] == ["users/alice/big.bin"]
    # What Redis holds names no user, key or object (docs/scale.md).
    from tests.support.redis import dump

    held = b"\n".join(dump(redis_db))
    for plain in (b"alice", b"notes.txt", alice["credentials"]["tmpSecretId"].encode()):
        assert plain not in held


def test_keys_get_a_simple_upload_limit_of_the_bytes_left(stack):
    service, cos, _ = stack
    alice = mint(service, "alice", {"profile": "read-write"})
    sdk = client(cos, alice)
    sdk.put_object(Bucket=BUCKET, Key="users/alice/a.bin", Body=b"a" * (8 * KIB))
    settled(cos)
    fresh = mint(service, "alice", {"profile": "read-write"})
    error = refused(client(cos, fresh).put_object, Bucket=BUCKET, Key="users/alice/b.bin",
                    Body=b"b" * (3 * KIB))  # fmt: skip
    assert error.get_error_code() == "AccessDenied"
    client(cos, fresh).put_object(Bucket=BUCKET, Key="users/alice/c.bin", Body=b"c" * KIB)


def test_multipart_upload_is_one_event(stack, receiver):
    service, cos, _ = stack
    sdk = client(cos, mint(service, "bob", {"profile": "read-write"}))
    upload = sdk.create_multipart_upload(Bucket=BUCKET, Key="users/bob/big.bin")["UploadId"]
    part = sdk.upload_part(Bucket=BUCKET, Key="users/bob/big.bin", Body=b"m" * KIB,
                           PartNumber=1, UploadId=upload)  # fmt: skip
    sdk.complete_multipart_upload(
        Bucket=BUCKET, Key="users/bob/big.bin", UploadId=upload,
        MultipartUpload={"Part": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )  # fmt: skip
    settled(cos)
    (hook,) = receiver.verified()
    assert hook["data"]["eventName"] == "cos:ObjectCreated:CompleteMultipartUpload"
    assert (hook["data"]["userId"], hook["data"]["uploadedBy"]) == ("bob", "bob")


def test_a_copy_and_a_batch_delete_are_events_too(stack, receiver):
    """PUT Object - Copy is a created object (counted, owner and uploader named);
    each key a batch delete removes is a removed object, and frees its usage."""
    service, cos, _ = stack
    sdk = client(cos, mint(service, "bob", {"profile": "read-write"}))
    sdk.put_object(Bucket=BUCKET, Key="users/bob/a.txt", Body=b"a" * KIB)
    sdk.copy_object(Bucket=BUCKET, Key="users/bob/b.txt", CopySource={
        "Bucket": BUCKET, "Key": "users/bob/a.txt", "Region": REGION})  # fmt: skip
    settled(cos)
    copied = [h["data"] for h in receiver.verified() if h["data"]["key"] == "users/bob/b.txt"]
    assert [(c["eventName"], c["size"], c["userId"], c["uploadedBy"]) for c in copied] == [
        ("cos:ObjectCreated:Copy", KIB, "bob", "bob")
    ]
    assert service.quota.usage("bob", far()).files == 2
    sdk.delete_objects(Bucket=BUCKET, Delete={"Object": [
        {"Key": "users/bob/a.txt"}, {"Key": "users/bob/b.txt"}]})  # fmt: skip
    settled(cos)
    removed = sorted(h["data"]["key"] for h in receiver.verified() if h["type"] == "object.removed")
    assert removed == ["users/bob/a.txt", "users/bob/b.txt"]
    usage = service.quota.usage("bob", far())
    assert (usage.bytes, usage.files) == (0, 0)


def test_a_failing_function_gets_the_event_again(stack, receiver):
    service, cos, delivered = stack
    receiver.status = 503
    sdk = client(cos, mint(service, "alice", {"profile": "read-write"}))
    sdk.put_object(Bucket=BUCKET, Key="users/alice/r.txt", Body=b"r")
    settled(cos)
    assert len(delivered) == 3  # the first delivery and two retries
    assert cos.notify.history[-1].outcome.startswith("failed")
    assert len({d.webhook_id for d in receiver.deliveries}) == 1


def index_handle(service: Any, user: str) -> Any:
    from tests.support import event, token

    return handle(service, event(token(user), {"profile": "read-write"}), context())


# -- make run with examples/uploads.yml ------------------------------------------------------


def serve_env(**extra: str) -> dict[str, str]:
    import os

    from tests.support import CONTRACT_ENV

    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_ENV and k != "STS_REDIS_URL"}
    return {**env, "STS_CONFIG": "examples/uploads.yml", **extra}


@pytest.mark.slow
def test_make_run_with_the_uploads_example_counts_usage_and_shows_events(redis_server):
    """`make run` starts a local redis-server for the quota; an upload through the local
    endpoint and the local COS shows in the playground with the user's usage."""
    import time

    import requests

    from sts_tools.support.dev_token import mint_token
    from tests.support import free_port, start_serve, stop_serve

    ports = free_port(), free_port(), free_port()
    process, banner = start_serve(serve_env(), *ports)
    try:
        assert "Redis: a local redis-server" in banner, banner
        keys = requests.post(
            f"http://127.0.0.1:{ports[0]}/sts",
            timeout=10,
            json={},
            headers={"Authorization": f"Bearer {mint_token('alice')}"},
        ).json()
        sdk = client(type("Cos", (), {"port": ports[1]}), keys)
        sdk.put_object(Bucket=BUCKET, Key="users/alice/hello.txt", Body=b"hello")
        state: dict[str, Any] = {}
        for _ in range(100):
            state = requests.get(f"http://127.0.0.1:{ports[2]}/state.json", timeout=10).json()
            if state["events"]:
                break
            time.sleep(0.1)
        (event,) = state["events"]
        assert event["outcome"] == "delivered"
        (record,) = event["result"]["records"]
        assert (record["key"], record["usageBytes"], record["usageFiles"]) == (
            "users/alice/hello.txt", 5, 1)  # fmt: skip
    finally:
        stop_serve(process)


def test_make_run_says_what_a_quota_needs_without_redis_server(tmp_path):
    import subprocess
    import sys

    from tests.support import ROOT

    env = serve_env(PATH=str(tmp_path))  # no redis-server on PATH
    finished = subprocess.run(
        [sys.executable, "-m", "sts_tools", "serve", "--port", "0", "--cos-port", "0",
         "--playground-port", "0"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert finished.returncode != 0
    assert "install redis-server" in finished.stderr + finished.stdout


def test_a_client_cannot_drop_or_change_the_tickets_signed_field(stack):
    """The ticket id is signed: a PUT without its header, or a form with another value,
    is refused by the local COS, so an event's ticketId is the ticket's own."""
    service, _, _ = stack
    put = json.loads(ask(service, {"method": "put", "extension": "png", "size": 4})["body"])
    assert send(put["ticket"], b"pppp", headers={"x-cos-meta-sts-ticket": None}).status_code == 403
    changed = {"x-cos-meta-sts-ticket": "0" * 32}
    assert send(put["ticket"], b"pppp", headers=changed).status_code == 403
    form = json.loads(ask(service, {"method": "post", "extension": "jpg", "size": 4})["body"])
    assert send(form["ticket"], b"jjjj", fields=changed).status_code == 403
    dropped = {"x-cos-meta-sts-ticket": None}
    assert send(form["ticket"], b"jjjj", fields=dropped).status_code == 403
    assert send(form["ticket"], b"jjjj").status_code == 200


# -- the commands ---------------------------------------------------------------------------


def test_the_usage_command_shows_and_resets(redis_server, redis_db):
    from sts_tools.support.trigger_events import cos_event as event_of
    from sts_tools.support.trigger_events import cos_record as record_of
    from tests.support import make_env, run_python
    from tests.support.redis import CACHE_KEY

    env = {**serve_env(), **make_env(), "STS_REDIS_URL": redis_server.url,
           "STS_CACHE_KEY": CACHE_KEY, "COS_BUCKET": BUCKET, "COS_REGION": REGION}  # fmt: skip
    import os

    from sts_core.config_loading import load_config
    from sts_core.service import service_for
    from tests.support import ROOT

    service = service_for(load_config(os.path.join(ROOT, "examples/uploads.yml"), env), env)
    created = record_of("cos:ObjectCreated:Put", BUCKET, REGION, "users/carol/a.bin", size=42,
                        event_time=5, request_id="r1")  # fmt: skip
    handle(service, event_of(created), context())
    shown = json.loads(run_python("-m", "sts_tools", "usage", "carol", env=env).stdout)
    assert (shown["bytes"], shown["files"], shown["limitBytes"]) == (42, 1, 52428800)
    reset = json.loads(run_python("-m", "sts_tools", "usage", "carol", "--reset", env=env).stdout)
    assert (reset["bytes"], reset["files"], reset["reset"]) == (0, 0, True)


def test_webhook_listen_prints_verified_deliveries():
    import subprocess
    import sys
    import time

    import requests

    from sts_core.webhook import secret_bytes, signed_request
    from tests.support import ROOT, free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sts_tools", "webhook-listen", "--port", str(port)], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        secret = lines[2].split("=", 1)[1].split()[0]
        body, headers = signed_request(secret_bytes(secret), "msg_x", int(time.time()), {"a": 1})
        url = lines[1].split("=", 1)[1].strip()
        assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 204
        assert requests.post(url, data=body + b" ", headers=headers, timeout=5).status_code == 400
        good, bad = json.loads(process.stdout.readline()), json.loads(process.stdout.readline())
        assert (good["verified"], good["payload"], bad["verified"]) == (True, {"a": 1}, False)
    finally:
        process.terminate()
        process.wait(timeout=10)
