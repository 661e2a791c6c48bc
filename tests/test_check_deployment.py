"""`python -m sts_tools check-deployment` end to end against the local stack: the
real handler behind the local endpoint (DevServer, HTTP -> API Gateway event),
the STS emulator, and the local COS, which checks signatures and evaluates the
policy STS attached to each key, as COS does. It must pass a correct deployment
and catch broken ones with the right rows."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import yaml

import index
from sts_core import grant
from sts_core import tickets as tickets_core
from sts_tools.commands import check_deployment as check
from sts_tools.commands import check_tickets as tickets
from sts_tools.commands import cli
from sts_tools.emulators.gateway import DevServer
from tests.support import ROOT, ROOT_RESOURCE, make_env, make_service, shipped_config, token

APP_ORIGIN = "https://app.example.com"
WRITE_OTHER, WRITE_ROOT, READ_OTHER = check.WRITE_OTHER, check.WRITE_ROOT, check.READ_OTHER


def deployed_config(**changes: Any) -> dict[str, Any]:
    document = shipped_config()
    document["cors"]["allowed_origins"] = [APP_ORIGIN]
    for key, value in changes.items():
        document[key] = value
    return document


@pytest.fixture
def endpoint(emulator, local_cos):
    """Start an endpoint for a config document; yields a function returning its URL."""
    servers = []

    def start(document: dict[str, Any]) -> str:
        service = make_service(make_env(emulator.endpoint), document)
        server = DevServer(lambda event, ctx: index.handle(service, event, ctx), port=0)
        servers.append(server.start())
        return f"{server.url}/sts"

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def config_file(tmp_path):
    """What the user believes they deployed (check-deployment --config)."""
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(deployed_config()))
    return str(path)


def run_check(capsys, url, cos, config_file, *extra, user="alice"):
    argv = ["check-deployment", url, "--token", token(user), "--origin", APP_ORIGIN,
            "--cos-endpoint", cos.endpoint, "--config", config_file, "--json", *extra]  # fmt: skip
    status = cli.main(argv)
    out = capsys.readouterr().out  # the in-process handler's log lines come first
    rows = json.loads(out[out.index("\n[\n") + 1 :] if not out.startswith("[") else out)
    return status, {row["check"]: row for row in rows}


def row(rows, start):
    (found,) = [r for name, r in rows.items() if name.startswith(start)]
    return found


def statuses(rows):
    return {name: r["status"] for name, r in rows.items()}


def test_a_correct_deployment_passes_every_check(capsys, endpoint, local_cos, config_file):
    url = endpoint(deployed_config())
    status, rows = run_check(capsys, url, local_cos, config_file)
    assert status == 0, json.dumps(rows, indent=1)
    assert set(statuses(rows).values()) == {"PASS"}
    names = list(rows)
    assert names[:6] == [
        "no token -> 401 with WWW-Authenticate",
        "forged token -> 401 with WWW-Authenticate",
        check.EVENT_INJECTION,
        "unlisted origin https://cos-sts-check.invalid gets no CORS grant",
        f"listed origin {APP_ORIGIN} gets a CORS grant",
        "valid token -> 200 with keys in the documented shape",
    ]
    # read-write was chosen (it may write, read and delete): the probe round trip ran.
    assert names[7:10] == [check.WRITE_MINE, check.READ_MINE, check.DELETE_MINE]
    written = rows[check.WRITE_MINE]["detail"]
    assert written.startswith("users/alice/cos-sts-check/")
    assert written.endswith(": 200 (read-write allows PutObject)")
    assert row(rows, WRITE_OTHER)["detail"].startswith("users/alice-cos-sts-check/")
    assert row(rows, WRITE_OTHER)["detail"].endswith(": 403 AccessDenied")
    assert row(rows, READ_OTHER)["detail"].endswith(": 403 AccessDenied")
    # The avatar profile's post ticket: held to its size and key by COS.
    assert names[-10:] == [tickets.TICKET_FORM, tickets.TICKET_LARGER, tickets.TICKET_OTHER_KEY,
                           tickets.TICKET_OTHER_TYPE, tickets.TICKET_UPLOAD, tickets.TICKET_GET,
                           tickets.TICKET_RETYPE, tickets.TICKET_UNSIGNED, tickets.TICKET_PUT,
                           tickets.TICKET_OVERWRITE]  # fmt: skip
    assert rows[tickets.TICKET_GET]["detail"].startswith("200 as image/")
    assert rows[tickets.TICKET_RETYPE]["detail"].startswith("403 as ")
    assert rows[tickets.TICKET_UNSIGNED]["detail"].endswith(": applied")  # the default reading
    assert rows[tickets.TICKET_FORM]["detail"].startswith("profile avatar, key users/alice/")
    assert rows[tickets.TICKET_LARGER]["detail"].endswith(": 400 EntityTooLarge")
    assert rows[tickets.TICKET_OTHER_KEY]["detail"].endswith(": 403 AccessDenied")
    assert rows[tickets.TICKET_OTHER_TYPE]["detail"].endswith(": 403 AccessDenied")
    assert rows[tickets.TICKET_UPLOAD]["detail"].endswith(": 200; deleted again")
    assert rows[tickets.TICKET_OVERWRITE]["detail"].endswith(
        ": 409 FileAlreadyExists; deleted again"
    )
    # The probe objects are gone; nothing else was written.
    assert local_cos.store.objects(local_cos.bucket.name) == []


@pytest.mark.parametrize(
    ("condition", "failed"),
    [
        ("content-length-range", tickets.TICKET_LARGER),
        ("key", tickets.TICKET_OTHER_KEY),
        ("Content-Type", tickets.TICKET_OTHER_TYPE),
    ],
)
def test_a_ticket_form_that_lost_a_pin_is_caught(capsys, monkeypatch, endpoint, local_cos,
                                                 config_file, condition, failed):  # fmt: skip
    """A broken build: the form policy without one condition, signed as usual."""
    real = tickets_core.form_conditions

    def without(*args):
        return [
            c
            for c in real(*args)
            if not (condition in c or (isinstance(c, list) and c[0] == condition))
        ]

    monkeypatch.setattr(tickets_core, "form_conditions", without)
    url = endpoint(deployed_config())
    status, rows = run_check(capsys, url, local_cos, config_file)
    assert status == 1
    assert {name for name, s in statuses(rows).items() if s == "FAIL"} == {failed}


def test_a_cos_that_ignores_forbid_overwrite_is_caught(capsys, monkeypatch, endpoint, local_cos,
                                                       config_file):  # fmt: skip
    """The unverified point, as it would show on a real bucket that overwrites."""
    monkeypatch.setattr(local_cos.site, "forbid_overwrite", lambda headers: None)
    url = endpoint(deployed_config())
    status, rows = run_check(capsys, url, local_cos, config_file)
    assert status == 1
    assert {name for name, s in statuses(rows).items() if s == "FAIL"} == {tickets.TICKET_OVERWRITE}
    assert "x-cos-forbid-overwrite was not honoured" in rows[tickets.TICKET_OVERWRITE]["detail"]
    assert local_cos.store.objects(local_cos.bucket.name) == []


def test_a_get_ticket_that_can_be_retyped_is_caught(capsys, monkeypatch, endpoint, local_cos,
                                                   config_file):  # fmt: skip
    """A broken build: download tickets without their signed response overrides, on
    a COS that applies unsigned ones (the local COS's default reading)."""
    real = tickets_core._presigned_url

    def unsigned(base, method, key, signer, window, headers, overrides=None):
        return real(base, method, key, signer, window, headers)

    monkeypatch.setattr(tickets_core, "_presigned_url", unsigned)
    status, rows = run_check(capsys, endpoint(deployed_config()), local_cos, config_file)
    assert status == 1
    failed = {name for name, s in statuses(rows).items() if s == "FAIL"}
    assert failed == {tickets.TICKET_RETYPE}
    assert rows[tickets.TICKET_RETYPE]["detail"] == "200 as text/html"


def test_the_unsigned_override_row_reports_the_cos_reading(capsys, monkeypatch, endpoint,
                                                           local_cos, config_file):  # fmt: skip
    monkeypatch.setattr(local_cos, "unsigned_overrides", "ignore")
    status, rows = run_check(capsys, endpoint(deployed_config()), local_cos, config_file)
    assert status == 0, json.dumps(rows, indent=1)
    assert rows[tickets.TICKET_UNSIGNED]["detail"].endswith(": ignored")


def test_profile_limits_are_confirmed_by_cos(capsys, endpoint, local_cos, config_file):
    """The upload profile: the write works, the read and delete are COS's 403."""
    url = endpoint(deployed_config())
    status, rows = run_check(capsys, url, local_cos, config_file, "--profile", "upload")
    assert status == 0, json.dumps(rows, indent=1)
    read = rows[check.READ_MINE]
    assert read["status"] == "PASS"
    assert "upload does not allow GetObject: COS must refuse" in read["detail"]
    assert ": 403 AccessDenied" in read["detail"]


def broaden(monkeypatch, resource: str) -> None:
    """A broken deployment: every statement's resource replaced, and no guard."""
    real = grant.build_policy

    def too_broad(*args: Any, **kwargs: Any) -> dict[str, Any]:
        policy = real(*args, **kwargs)
        for statement in policy["statement"]:
            statement["resource"] = [ROOT_RESOURCE + resource]
        return policy

    monkeypatch.setattr(grant, "build_policy", too_broad)
    monkeypatch.setattr(grant, "guard", lambda policy, target: None)


def test_keys_for_all_users_are_caught(capsys, monkeypatch, endpoint, local_cos, config_file):
    broaden(monkeypatch, "users/*")
    url = endpoint(deployed_config())
    status, rows = run_check(capsys, url, local_cos, config_file)
    assert status == 1
    failed = {name for name, s in statuses(rows).items() if s == "FAIL"}
    assert failed == {row_name(rows, WRITE_OTHER), row_name(rows, READ_OTHER)}
    assert "deleted again" in row(rows, WRITE_OTHER)["detail"]  # the check cleans up
    assert "COS looked for it" in row(rows, READ_OTHER)["detail"]  # 404: it was allowed to look
    assert row(rows, WRITE_ROOT)["status"] == "PASS"


def test_keys_for_the_whole_bucket_are_caught(
    capsys, monkeypatch, endpoint, local_cos, config_file
):
    broaden(monkeypatch, "*")
    url = endpoint(deployed_config())
    status, rows = run_check(capsys, url, local_cos, config_file)
    assert status == 1
    for name in (WRITE_OTHER, WRITE_ROOT, READ_OTHER):
        assert row(rows, name)["status"] == "FAIL", name
    assert row(rows, "valid token")["status"] == "PASS"  # the answer itself looks fine


def test_a_prefix_without_its_slash_is_caught(
    capsys, monkeypatch, endpoint, local_cos, config_file
):
    """users/alice* also covers users/alice-cos-sts-check/: the boundary bug."""
    real = grant.build_policy

    def no_slash(*args: Any, **kwargs: Any) -> dict[str, Any]:
        policy = real(*args, **kwargs)
        for statement in policy["statement"]:
            statement["resource"] = [
                r.replace("/alice/*", "/alice*") for r in statement["resource"]
            ]
        return policy

    monkeypatch.setattr(grant, "build_policy", no_slash)
    monkeypatch.setattr(grant, "guard", lambda policy, target: None)
    status, rows = run_check(capsys, endpoint(deployed_config()), local_cos, config_file)
    assert status == 1
    assert row(rows, WRITE_OTHER)["status"] == "FAIL"
    assert row(rows, WRITE_ROOT)["status"] == "PASS"


def test_an_open_cors_policy_is_caught(capsys, endpoint, local_cos, config_file):
    document = deployed_config()
    document["cors"]["allowed_origins"] = ["*"]
    status, rows = run_check(capsys, endpoint(document), local_cos, config_file)
    assert status == 1
    failed = [name for name, s in statuses(rows).items() if s == "FAIL"]
    assert failed == ["unlisted origin https://cos-sts-check.invalid gets no CORS grant"]


def test_a_deployed_profile_that_differs_from_the_config_is_caught(
    capsys, endpoint, local_cos, config_file
):
    """The deployed read-write lost DeleteObject: COS refuses the delete the
    config promises (and the probe object is reported as left behind)."""
    document = deployed_config()
    actions = document["profiles"]["read-write"]["actions"]
    actions.remove("name/cos:DeleteObject")
    status, rows = run_check(capsys, endpoint(document), local_cos, config_file)
    assert status == 1
    deleted = rows[check.DELETE_MINE]
    assert deleted["status"] == "FAIL"
    assert ": 403 AccessDenied" in deleted["detail"]
    assert "left in the bucket" in deleted["detail"]


def test_no_token_check_catches_an_endpoint_that_answers_anyone(capsys, local_cos, config_file):
    """An endpoint that never asks for a token (e.g. a sample server deployed
    instead): the 401 rows fail."""
    document = deployed_config()
    service = make_service(make_env("http://127.0.0.1:9"), document)

    def anyone(event, ctx):
        event = dict(event)
        event["headers"] = {**event.get("headers", {}), "Authorization": f"Bearer {token('alice')}"}
        return index.handle(service, event, ctx)

    server = DevServer(anyone, port=0).start()
    try:
        status, rows = run_check(capsys, f"{server.url}/sts", local_cos, config_file, "--skip-cos")
    finally:
        server.stop()
    assert status == 1
    assert row(rows, "no token")["status"] == "FAIL"
    assert row(rows, "forged token")["status"] == "FAIL"


def test_the_table_and_the_exit_status(capsys, endpoint, local_cos, config_file):
    url = endpoint(deployed_config())
    argv = ["check-deployment", url, "--token", token("alice"),
            "--cos-endpoint", local_cos.endpoint, "--config", config_file]  # fmt: skip
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    out = out[out.index(f"check-deployment {url}\n") :]  # after the handler's log lines
    assert "  RESULT  CHECK" in out
    assert "  SKIP    listed origin gets a CORS grant" in out  # no --origin given
    assert "deployment check passed: all" in out
    assert cli.main([*argv[:2], "--token", "not.a.token", *argv[4:]]) == 1
    out = capsys.readouterr().out
    assert "  FAIL    valid token -> 200" in out
    assert "DEPLOYMENT CHECK FAILED" in out


def test_an_unreachable_endpoint_fails_cleanly(capsys, config_file):
    status, rows = run_check(
        capsys, "http://127.0.0.1:9/sts", type("Cos", (), {"endpoint": "http://127.0.0.1:9"}),
        config_file, "--timeout", "2",
    )  # fmt: skip
    assert status == 1
    assert row(rows, "endpoint reachable")["status"] == "FAIL"


def row_name(rows, start):
    (name,) = [n for n in rows if n.startswith(start)]
    return name


# -- pure parts ---------------------------------------------------------------------------


def test_shape_problems():
    good = {
        "credentials": {"tmpSecretId": "a", "tmpSecretKey": "b", "sessionToken": "c"},
        "startTime": 1700000000, "expiredTime": 1700001800, "expiration": "2023-11-14T22:43:20Z",
        "requestId": "r", "bucket": "b-1250000000", "region": "ap-guangzhou",
        "prefix": "users/alice/", "profile": "upload",
    }  # fmt: skip
    assert check.shape_problems(good, 1700000100) == []
    assert check.shape_problems({**good, "expiration": "2023"}, 1700000100)
    assert check.shape_problems({**good, "startTime": 1700000300}, 1700000100) == []  # skew
    assert "startTime is in the future" in check.shape_problems(good, 1699990000)
    assert "expiredTime has passed" in check.shape_problems(good, 1800000000)
    assert "prefix does not end with /" in check.shape_problems({**good, "prefix": "u"}, 1700000100)
    bad = {**good, "credentials": {"tmpSecretId": "a"}}
    assert check.shape_problems(bad, 1700000100)[0].startswith("credentials")


def test_forged_tokens_keep_the_claims():
    real = token("alice")
    fake = check.forged(real)
    assert fake != real
    assert fake.rsplit(".", 1)[0] == real.rsplit(".", 1)[0]
    assert check.token_claims(fake)["sub"] == "alice"
    assert check.token_claims("garbage") == {}


def test_expectation_from_the_config(config_file):
    chosen = check.read_expectation(config_file, None)
    assert chosen.profile == "read-write"
    assert {check.PUT, check.GET, check.DELETE} <= chosen.actions
    assert chosen.template == "users/{uid}/"
    assert check.read_expectation(config_file, "nope").actions is None
    with pytest.raises(check.CheckError):
        check.read_expectation(config_file + ".missing", None)


def test_the_optional_extra_pins_what_the_tests_use():
    def pins(name):
        with open(os.path.join(ROOT, name), encoding="utf-8") as handle:
            lines = [line.split("#")[0].strip() for line in handle]
        return {line for line in lines if "==" in line}

    extra = pins("requirements-check.txt")
    assert any(line.startswith("cos-python-sdk-v5==") for line in extra)
    assert extra <= pins("requirements-dev.txt")


def test_keys_that_can_publish_or_archive_are_caught(
    capsys, monkeypatch, endpoint, local_cos, config_file
):
    """A deployment whose upload keys carry no ACL/storage-class pin (an older build, or a
    COS that ignored the keys): COS accepts both uploads and the check says so."""
    real = grant.build_policy

    def unpinned(*args: Any, **kwargs: Any) -> dict[str, Any]:
        policy = real(*args, **kwargs)
        for statement in policy["statement"]:
            statement.get("condition", {}).pop("string_equal_if_exist", None)
            if statement.get("condition") == {}:
                del statement["condition"]
        return policy

    monkeypatch.setattr(grant, "build_policy", unpinned)
    monkeypatch.setattr(grant, "guard", lambda policy, target: None)
    url = endpoint(deployed_config())
    status, rows = run_check(capsys, url, local_cos, config_file)
    assert status == 1
    failed = {name for name, s in statuses(rows).items() if s == "FAIL"}
    assert failed == {check.PUBLIC_MINE, check.ARCHIVE_MINE}
    assert "COS ignored the pin; deleted again" in rows[check.PUBLIC_MINE]["detail"]
