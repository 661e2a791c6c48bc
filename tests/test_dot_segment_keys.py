"""Keys with dot segments (`users/alice/../bob/x`): what the product's keys can do under
each reading of such keys the local COS models (sts_tools/emulators/cos/object_key_reading.py),
with and without `object_keys.deny_dot_segments`, and what `check-deployment` reports.

Keys come from the public handler; cos-python-sdk-v5 sends the dot-segment key (it
writes `./` as `.%2F`, so neither it nor requests collapses the key before COS sees it).
"""

from __future__ import annotations

import json
import posixpath
import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import index
from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from sts_core.policy import PolicyViolation, dot_segment_deny, guard
from sts_tools.commands import check_dot_segments as dots
from sts_tools.commands import cli
from sts_tools.emulators.cos import cam
from sts_tools.emulators.cos.errors import NoSuchKey
from sts_tools.emulators.cos.object_key_reading import (
    COLLAPSE,
    KEY_READINGS,
    LITERAL,
    RAW_THEN_COLLAPSED,
    REFUSE,
    UnreadableKey,
    collapse,
    has_odd_segments,
    read_key,
)
from sts_tools.emulators.gateway import DevServer
from tests.support import BUCKET, body_of, context, event, make_env, make_service, shipped_config
from tests.support import token as user_token
from tests.support.containment import target_for
from tests.support.cos import client, form_upload, mint, refused

APP_ORIGIN = "https://app.example.com"
SECRET = b"bob's secret"
ACTIONS = ["name/cos:GetObject", "name/cos:PutObject", "name/cos:DeleteObject"]
CLIMBS = ["users/alice/../bob/x.txt", "users/alice/sub/../../bob/x.txt"]


def config(deny: bool) -> dict:
    document = shipped_config()
    document["object_keys"] = {"deny_dot_segments": deny}
    return document


@pytest.fixture(params=KEY_READINGS)
def reading(request, local_cos):
    """The session's local COS under one reading, restored afterwards."""
    local_cos.key_reading = request.param
    yield request.param
    local_cos.key_reading = LITERAL


def objects(cos) -> set[str]:
    return {stored.key for stored in cos.store.objects(BUCKET)}


def stored(cos, key):
    try:
        return cos.store.get_object(BUCKET, key).body
    except NoSuchKey:
        return None


# -- the reading rule, unit by unit ---------------------------------------------------


@pytest.mark.parametrize(
    ("key", "collapsed"),
    [
        ("users/alice/../bob/x", "users/bob/x"),
        ("users/alice/./x", "users/alice/x"),
        ("users/alice//x", "users/alice/x"),
        ("users/alice/sub/", "users/alice/sub/"),
        ("users/alice/../../../x", "x"),
        ("users/alice/..", "users"),
        ("users/alice/.", "users/alice"),
        ("users/alice/.../x", "users/alice/.../x"),
    ],
)
def test_collapse(key, collapsed):
    assert collapse(key) == collapsed


@given(st.lists(st.sampled_from(["a", "b", ".", "..", "", "...", ".a"]), min_size=1, max_size=8))
def test_collapse_agrees_with_posixpath(segments):
    key = "/".join(segments)
    oracle = posixpath.normpath("/" + key).lstrip("/")
    if key.endswith("/") and oracle:
        oracle += "/"
    assert collapse(key) == oracle
    assert has_odd_segments(key) == (collapse(key) != key)


def test_each_reading_gives_its_keys():
    key = "users/alice/../bob/x"
    assert read_key(key, LITERAL) == (key, key)
    assert read_key(key, COLLAPSE) == ("users/bob/x", "users/bob/x")
    assert read_key(key, RAW_THEN_COLLAPSED) == (key, "users/bob/x")
    with pytest.raises(UnreadableKey):
        read_key(key, REFUSE)
    for reading in KEY_READINGS:  # plain keys are plain under every reading
        assert read_key("users/alice/x.txt", reading) == ("users/alice/x.txt",) * 2
    with pytest.raises(UnreadableKey):
        read_key("users/..", COLLAPSE)  # nothing left: no object key
    with pytest.raises(ValueError, match="key_reading must be one of"):
        read_key(key, "normalise")


# -- the product's refusals, end to end, under each reading ------------------------------


# What a prefix-scoped key achieves through a climbing key, per reading, with no deny:
# (PUT status, where the bytes land), (GET status of bob's object through a climb).
WITHOUT_DENY = {
    LITERAL: (200, "raw", 404),
    COLLAPSE: (403, None, 403),
    RAW_THEN_COLLAPSED: (200, "users/bob/x.txt", 200),  # the crossing
    REFUSE: (400, None, 400),
}


@pytest.mark.parametrize("key", CLIMBS)
def test_a_climbing_write_under_each_reading(emulator, local_cos, reading, key):
    cos = client(local_cos, mint(make_service(make_env(emulator.endpoint), config(False)),
                                 body={"profile": "read-write"}))  # fmt: skip
    status, lands, _ = WITHOUT_DENY[reading]
    if status == 200:
        cos.put_object(Bucket=BUCKET, Key=key, Body=b"climbed")
    else:
        assert refused(cos.put_object, Bucket=BUCKET, Key=key, Body=b"x").get_status_code() == (
            status
        )
    assert objects(local_cos) == ({key if lands == "raw" else lands} if lands else set())


def test_a_climbing_read_under_each_reading(emulator, local_cos, reading):
    local_cos.store.put_object(BUCKET, "users/bob/secret.txt", SECRET)
    cos = client(local_cos, mint(make_service(make_env(emulator.endpoint), config(False)),
                                 body={"profile": "read-write"}))  # fmt: skip
    key = "users/alice/../bob/secret.txt"
    status = WITHOUT_DENY[reading][2]
    if status == 200:
        body = cos.get_object(Bucket=BUCKET, Key=key)["Body"].get_raw_stream().read()
        assert body == SECRET  # the dangerous reading: bob's object, read with alice's keys
    else:
        assert refused(cos.get_object, Bucket=BUCKET, Key=key).get_status_code() == status


@pytest.mark.parametrize("key", [*CLIMBS, "users/alice/./x.txt", "users/alice//x.txt"])
def test_the_deny_holds_under_every_reading(emulator, local_cos, reading, key):
    local_cos.store.put_object(BUCKET, "users/bob/x.txt", SECRET)
    service = make_service(make_env(emulator.endpoint), config(True))
    cos = client(local_cos, mint(service, body={"profile": "read-write"}))
    # Where CAM sees the collapsed key, a key that stays in the root is that plain key.
    harmless = reading == COLLAPSE and collapse(key).startswith("users/alice/")
    for call, extra in ((cos.put_object, {"Body": b"x"}), (cos.get_object, {}),
                        (cos.delete_object, {})):  # fmt: skip
        if harmless:
            call(Bucket=BUCKET, Key=key, **extra)
            continue
        error = refused(call, Bucket=BUCKET, Key=key, **extra)
        assert error.get_status_code() == (400 if reading == REFUSE else 403)
    assert stored(local_cos, "users/bob/x.txt") == SECRET
    assert objects(local_cos) == {"users/bob/x.txt"}
    # ... and plain keys in the user's root still work.
    cos.put_object(Bucket=BUCKET, Key="users/alice/plain.txt", Body=b"ok")
    got = cos.get_object(Bucket=BUCKET, Key="users/alice/plain.txt")["Body"].get_raw_stream()
    assert got.read() == b"ok"


@pytest.mark.parametrize("deny", [False, True])
def test_a_climbing_form_upload_under_each_reading(emulator, local_cos, reading, deny):
    """PostObject carries the key in the form: the same reading applies to it."""
    keys = mint(make_service(make_env(emulator.endpoint), config(deny)), body={"profile": "upload"})
    key = "users/alice/../bob/x.txt"
    answer = form_upload(local_cos, keys, key, b"climbed").status_code
    crossed = reading == RAW_THEN_COLLAPSED and not deny
    if reading == REFUSE:
        assert answer == 400
    elif crossed or (reading == LITERAL and not deny):
        assert answer == 204
    else:
        assert answer == 403
    landed = objects(local_cos)
    assert landed == ({"users/bob/x.txt"} if crossed else {key} if answer == 204 else set())


# -- the deny statement: built, guarded, and evaluated against an independent oracle -----


def oracle_allows(user: str, key: str) -> bool:
    """Written from the contract: the user's root, and no '.', '..' or empty segment
    (an empty last segment is a folder object)."""
    parts = key.split("/")
    odd = any(part in (".", "..") for part in parts) or any(part == "" for part in parts[:-1])
    return key.startswith(f"users/{user}/") and not odd


pieces = st.sampled_from(
    ["users/", "alice/", "bob/", "../", "./", "/", ".", "..", "x", ".x", "..."]
)
keys_near_the_root = (
    st.tuples(
        st.sampled_from(["users/alice/", "users/alice/x/", "users/bob/", "users/", ""]),
        st.lists(pieces, max_size=6).map("".join),
    )
    .map("".join)
    .filter(bool)
)


@pytest.fixture(scope="module")
def issued_policy(sts_emulator):
    """The policy the handler sends for alice's read-write keys with the deny on."""
    service = make_service(make_env(sts_emulator.endpoint), config(True))
    response = index.handle(service, event(user_token("alice"), {"profile": "read-write"}),
                            context())  # fmt: skip
    secret_id = body_of(response)["credentials"]["tmpSecretId"]
    return cam.parse_policy(sts_emulator.keyring.get(secret_id).policy_text)


@settings(max_examples=300)
@given(key=keys_near_the_root, action=st.sampled_from(ACTIONS))
def test_the_issued_policy_allows_exactly_plain_keys_in_the_root(issued_policy, key, action):
    resource = f"qcs::cos:ap-guangzhou:uid/1250000000:{BUCKET}/{key}"
    values = {"cos:content-length": "1"} if action == "name/cos:PutObject" else {}
    assert cam.decide(issued_policy, action, resource, values).allowed == oracle_allows(
        "alice", key
    )


def test_the_guard_takes_only_the_dot_segment_deny():
    target = target_for("alice")
    allow = {"effect": "allow", "action": ["name/cos:GetObject"],
             "resource": [target.resource("users/alice/*")]}  # fmt: skip
    deny = dot_segment_deny(target, ["name/cos:GetObject"])
    guard({"version": "2.0", "statement": [allow, deny]}, target)
    for broken in (
        {**deny, "resource": [*deny["resource"], target.resource("users/bob/*")]},
        {**deny, "condition": {"ip_equal": {"qcs:ip": ["10.0.0.1/32"]}}},
        {**deny, "action": ["name/cos:*"]},
        {
            **deny,
            "resource": [r.replace(BUCKET, "otherbucket-1250000000") for r in deny["resource"]],
        },
    ):
        with pytest.raises(PolicyViolation):
            guard({"version": "2.0", "statement": [allow, broken]}, target)


@pytest.mark.parametrize(
    ("section", "named"),
    [({"deny_dot_segments": "yes"}, "object_keys.deny_dot_segments"),
     ({"deny_dot_segment": True}, "object_keys.deny_dot_segment")],
)  # fmt: skip
def test_a_bad_switch_fails_at_cold_start_naming_the_key(section, named):
    document = shipped_config()
    document["object_keys"] = section
    with pytest.raises(ConfigError, match=re.escape(named)):
        parse_config(document, make_env())


def test_the_switch_is_off_by_default_and_adds_one_deny(emulator):
    for deny, statements in ((False, 0), (True, 1)):
        service = make_service(make_env(emulator.endpoint), config(deny))
        response = index.handle(service, event(user_token("alice"), {"profile": "upload"}),
                                context())  # fmt: skip
        secret_id = body_of(response)["credentials"]["tmpSecretId"]
        policy = json.loads(emulator.keyring.get(secret_id).policy_text)
        denies = [s for s in policy["statement"] if s["effect"] == "deny"]
        assert len(denies) == statements
    assert shipped_config().get("object_keys", {}).get("deny_dot_segments") is False


# -- check-deployment's probe, under each reading ----------------------------------------


def test_the_probe_keys_climb_into_the_neighbour():
    keys = dots.dot_keys("users/alice/", "users/alice-cos-sts-check/", "p.txt")
    assert collapse(keys.written) == collapse(keys.reread) == keys.collapsed
    assert keys.collapsed == "users/alice-cos-sts-check/p.txt"
    assert keys.written.startswith("users/alice/")
    assert keys.reread.startswith("users/alice/")
    assert keys.written != keys.reread


@pytest.fixture
def deployed(emulator, local_cos, tmp_path):
    """An endpoint for a config document, and that document as check-deployment's --config."""
    servers = []

    def start(document: dict) -> tuple[str, str]:
        document["cors"]["allowed_origins"] = [APP_ORIGIN]
        service = make_service(make_env(emulator.endpoint), document)
        server = DevServer(lambda event, ctx: index.handle(service, event, ctx), port=0)
        servers.append(server.start())
        path = tmp_path / "config.yml"
        path.write_text(yaml.safe_dump(document))
        return f"{server.url}/sts", str(path)

    yield start
    for server in servers:
        server.stop()


def probe_rows(capsys, deployed, local_cos, deny: bool) -> dict:
    url, config_file = deployed(config(deny))
    cli.main(["check-deployment", url, "--token", user_token("alice"), "--origin", APP_ORIGIN,
              "--cos-endpoint", local_cos.endpoint, "--config", config_file, "--json"])  # fmt: skip
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("\n[\n") + 1 :] if not out.startswith("[") else out)
    return {row["check"]: row for row in rows}


# What check-deployment reports per reading, without the deny.
PROBE_WITHOUT_DENY = {
    LITERAL: ("PASS", "stored as typed inside the prefix"),
    COLLAPSE: ("PASS", "403 AccessDenied (COS checks the collapsed key"),
    RAW_THEN_COLLAPSED: ("FAIL", "LANDED IN ANOTHER USER'S FOLDER as users/alice-cos-sts-check/"),
    REFUSE: ("PASS", "400 InvalidArgument (COS refuses such keys)"),
}


def test_check_deployment_tells_each_reading(capsys, deployed, local_cos, reading):
    rows = probe_rows(capsys, deployed, local_cos, deny=False)
    status, said = PROBE_WITHOUT_DENY[reading]
    write, read = rows[dots.DOT_WRITE], rows[dots.DOT_READ]
    assert (write["status"], read["status"]) == (status, status), (write, read)
    assert said in write["detail"]
    if reading == RAW_THEN_COLLAPSED:
        assert "object_keys.deny_dot_segments: true" in write["detail"]
    # Every other row passes, and the probe left nothing behind.
    probe = (dots.DOT_WRITE, dots.DOT_READ)
    others = {name: r["status"] for name, r in rows.items() if name not in probe}
    assert set(others.values()) == {"PASS"}, others
    assert objects(local_cos) == set()


def test_check_deployment_passes_every_reading_with_the_deny(capsys, deployed, local_cos, reading):
    rows = probe_rows(capsys, deployed, local_cos, deny=True)
    write, read = rows[dots.DOT_WRITE], rows[dots.DOT_READ]
    assert (write["status"], read["status"]) == ("PASS", "PASS"), (write, read)
    assert write["detail"].split(": ", 1)[1].startswith("400" if reading == REFUSE else "403")
    assert objects(local_cos) == set()


def test_the_probe_skips_a_profile_that_cannot_read(capsys, deployed, local_cos, reading):
    url, config_file = deployed(config(False))
    cli.main(["check-deployment", url, "--token", user_token("alice"), "--profile", "upload",
              "--cos-endpoint", local_cos.endpoint, "--config", config_file, "--json"])  # fmt: skip
    out = capsys.readouterr().out
    rows = {r["check"]: r for r in json.loads(out[out.index("\n[\n") + 1 :])}
    assert rows[dots.DOT_WRITE]["status"] == rows[dots.DOT_READ]["status"] == "SKIP"


def test_an_unknown_reading_is_refused_when_the_local_cos_is_made(sts_emulator):
    from sts_tools.emulators.cos.server import CosEmulator

    with pytest.raises(ValueError, match="key_reading must be one of"):
        CosEmulator(sts_emulator.keyring, key_reading="normalise")
