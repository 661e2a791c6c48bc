"""The public handler end to end: trigger events in, integration responses out, with
the STS emulator on a real socket behind it."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import index
from sts_core.config_section import ConfigError
from sts_core.service import Service
from sts_tools.emulators import sts as emu
from tests.support import (
    BUCKET,
    JWT_SECRET,
    ROOT_RESOURCE,
    body_of,
    context,
    event,
    make_env,
    make_service,
    shipped_config,
    token,
)
from tests.support.examples import examples

UPLOAD_ACTIONS = set(shipped_config()["profiles"]["upload"]["actions"])


def call(service, evt, ctx=None):
    return index.handle(service, evt, context() if ctx is None else ctx)


def granted(emulator):
    """(actions, resources) of the policy STS received in the last call."""
    policy = emulator.calls[-1].policy
    actions = {a for s in policy["statement"] for a in s["action"]}
    resources = {r for s in policy["statement"] for r in s["resource"]}
    return actions, resources


def assert_issued(response, prefix="users/alice/", profile="upload"):
    assert response["statusCode"] == 200, response["body"]
    assert response["isBase64Encoded"] is False
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"
    body = body_of(response)
    creds = body["credentials"]
    assert creds["tmpSecretId"].startswith("AKIDEMULATOR")
    assert creds["tmpSecretKey"].startswith("EMULATOR-")
    assert creds["sessionToken"].startswith("EMULATOR-TOKEN-")
    now = time.time()
    assert body["startTime"] <= now < body["expiredTime"]
    assert len(str(body["expiredTime"])) == 10  # cos-js-sdk insists on 10 digits
    assert body["expiration"].endswith("Z")
    assert (body["bucket"], body["region"]) == (BUCKET, "ap-guangzhou")
    assert (body["prefix"], body["profile"]) == (prefix, profile)
    assert body["requestId"]
    return body


# -- the documented sample events -------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "base64_flag"),
    [
        ("apigw_official.json", None),
        ("apigw_backend.json", "true"),
        ("apigw_backend.json", True),
        ("apigw_golib.json", None),
        ("function_url.json", None),
    ],
)
def test_sample_events_get_credentials_for_the_callers_root(service, emulator, sample, base64_flag):
    evt = event(token("alice"), "", sample=sample, base64_body=base64_flag)
    body = assert_issued(call(service, evt))
    actions, resources = granted(emulator)
    assert actions == UPLOAD_ACTIONS
    assert resources == {ROOT_RESOURCE + "users/alice/*"}
    assert emulator.calls[-1].params["DurationSeconds"] == 1800
    # startTime = min(our send time, ExpiredTime - duration): a clock tick between
    # send and mint makes the span a second longer, never shorter.
    assert 1800 <= body["expiredTime"] - body["startTime"] <= 1805


def test_lower_case_and_mixed_case_headers(service):
    for name in ("authorization", "AUTHORIZATION", "Authorization"):
        evt = event(None, headers={name: f"Bearer {token()}"})
        assert call(service, evt)["statusCode"] == 200


def test_profile_and_duration_from_the_body(service, emulator):
    body = assert_issued(
        call(service, event(token(), {"profile": "download", "durationSeconds": 900})),
        profile="download",
    )
    assert granted(emulator) == (
        {"name/cos:GetObject", "name/cos:HeadObject", "name/cos:GetBucket"},
        {ROOT_RESOURCE + "users/alice/*"},
    )
    assert 900 <= body["expiredTime"] - body["startTime"] <= 905
    assert emulator.calls[-1].params["DurationSeconds"] == 900


def test_cos_sdk_scope_narrows_to_exact_keys(service, emulator):
    scope = [
        {"action": "name/cos:PutObject", "bucket": BUCKET, "region": "ap-guangzhou",
         "prefix": "users/alice/avatar.png"},
        {"action": "name/cos:UploadPart", "prefix": "users/alice/video/*"},
    ]  # fmt: skip
    assert_issued(call(service, event(token(), {"scope": scope})))
    assert granted(emulator) == (
        {"name/cos:PutObject", "name/cos:UploadPart"},
        {ROOT_RESOURCE + "users/alice/avatar.png", ROOT_RESOURCE + "users/alice/video/*"},
    )


def test_bare_array_body_is_scope_shorthand(service, emulator):
    scope = [{"action": "name/cos:PutObject", "prefix": "users/alice/a.txt"}]
    assert_issued(call(service, event(token(), scope)))
    assert granted(emulator) == ({"name/cos:PutObject"}, {ROOT_RESOURCE + "users/alice/a.txt"})


def test_stage_prefixed_and_trailing_slash_paths(service):
    for path in ("/sts", "/sts/", "/release/sts", "/test/sts"):
        assert call(service, event(token(), path=path))["statusCode"] == 200


def test_main_handler_uses_the_cold_start_service(service, monkeypatch):
    monkeypatch.setattr(index, "SERVICE", service)
    assert_issued(index.main_handler(event(token("bob")), context()), prefix="users/bob/")


def test_cold_start_builds_from_env_or_keeps_the_error(emulator, capsys):
    assert isinstance(index.start(make_env(emulator.endpoint), index.CONFIG_PATH), Service)
    failed = index.start(make_env(emulator.endpoint, COS_BUCKET="not a bucket"), index.CONFIG_PATH)
    assert isinstance(failed, ConfigError)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["msg"] == "startup"
    assert "bucket" in line["error"]
    response = call(failed, event(token()))
    assert response["statusCode"] == 500
    assert body_of(response)["error"] == {
        "code": "misconfigured",
        "message": "the credential service is misconfigured",
    }


# -- statuses for the caller's mistakes ------------------------------------------------


def error_of(response, status):
    assert response["statusCode"] == status, response["body"]
    body = body_of(response)
    assert set(body) == {"error", "requestId"}
    assert body["requestId"]
    assert "Traceback" not in response["body"]
    return body["error"]["code"]


def test_missing_and_bad_tokens_are_401_with_challenge(service):
    response = call(service, event(None))
    assert error_of(response, 401) == "missing_token"
    assert response["headers"]["WWW-Authenticate"] == 'Bearer realm="cos-sts"'
    response = call(service, event(token(exp=int(time.time()) - 3600)))
    assert error_of(response, 401) == "token_expired"
    assert 'error="invalid_token"' in response["headers"]["WWW-Authenticate"]
    wrong = token(secret="x" * 40)
    assert error_of(call(service, event(wrong)), 401) == "invalid_token"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD"])
def test_other_methods_are_405_with_allow(service, method):
    response = call(service, event(token(), method=method))
    assert error_of(response, 405) == "method_not_allowed"
    assert response["headers"]["Allow"] == "POST, OPTIONS"


def test_unknown_path_is_404(service):
    assert error_of(call(service, event(token(), path="/admin")), 404) == "not_found"
    assert error_of(call(service, event(token(), path="/release/other")), 404) == "not_found"


def test_body_over_the_limit_is_413(service):
    response = call(service, event(token(), {"profile": "x" * 20000}))
    assert error_of(response, 413) == "body_too_large"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "invalid_body"),
        ('"a string"', "invalid_body"),
        ("42", "invalid_body"),
        ("\xff\xfe", "invalid_body"),
        ({"profile": "admin"}, "unknown_profile"),
        ({"profile": 3}, "invalid_field"),
        ({"durationSeconds": "1800"}, "invalid_field"),
        ({"durationSeconds": True}, "invalid_field"),
        ({"durationSeconds": 1800.5}, "invalid_field"),
        ({"durationSeconds": 60}, "invalid_duration"),
        ({"durationSeconds": 7201}, "invalid_duration"),
        ({"durationSecond": 900}, "invalid_field"),
        ({"scope": "users/alice/*"}, "invalid_field"),
        ({"scope": []}, "invalid_field"),
        ({"scope": [["name/cos:PutObject", "users/alice/x"]]}, "invalid_field"),
        ({"scope": [{"action": "name/cos:PutObject"}]}, "invalid_field"),
        ({"scope": [{"action": 1, "prefix": "users/alice/x"}]}, "invalid_field"),
        ({"scope": [{"action": "name/cos:PutObject", "prefix": "users/alice/x", "x": 1}]},
         "invalid_field"),
        ({"scope": [{"action": "name/cos:PutObject", "prefix": "users/alice/x"}] * 21},
         "too_many_scopes"),
    ],
)  # fmt: skip
def test_bad_bodies_are_400(service, emulator, body, code):
    assert error_of(call(service, event(token(), body)), 400) == code
    assert emulator.calls == []


@pytest.mark.parametrize("sub", ["../bob", "alice/x", "*", "", "a b", "${uin}", "x" * 129])
def test_unusable_user_ids_are_403(service, emulator, sub):
    assert error_of(call(service, event(token(sub))), 403) == "user_id_rejected"
    assert emulator.calls == []


@pytest.mark.parametrize(
    "prefix", ["users/alice2/x", "users/bob/x", "users/alice", "users/*", "users/alice/../bob/x"]
)
def test_scope_outside_the_root_is_403_not_clipped(service, emulator, prefix):
    scope = [{"action": "name/cos:PutObject", "prefix": prefix}]
    assert error_of(call(service, event(token(), {"scope": scope})), 403) == "scope_denied"
    assert emulator.calls == []


def test_policy_size_is_capped_before_sts(service, emulator):
    scope = [
        {"action": "name/cos:PutObject", "prefix": f"users/alice/{i:02d}-" + "k" * 300}
        for i in range(20)
    ]
    assert error_of(call(service, event(token(), {"scope": scope})), 400) == "policy_too_large"
    assert emulator.calls == []


MALFORMED_EVENTS = [
    None,
    [],
    "string",
    {},
    {"httpMethod": None},
    {"httpMethod": "POST", "body": {"not": "a string"}},
    {"httpMethod": "POST", "headers": "Authorization: Bearer x"},
    {"httpMethod": "POST", "isBase64Encoded": "maybe"},
    {"httpMethod": "POST", "isBase64Encoded": True, "body": "%%%", "path": "/sts",
     "headers": {"authorization": "Bearer x"}},
    {"httpMethod": "POST", "path": "/sts"},  # no headers at all: 401
    {"httpMethod": "POST", "path": "/sts", "headers": {"authorization": ["Bearer a", "Bearer b"]}},
]  # fmt: skip


@pytest.mark.parametrize("evt", MALFORMED_EVENTS)
@pytest.mark.parametrize("ctx", [None, {}, "not a dict", {"time_limit_in_ms": "soon"}])
def test_malformed_events_get_4xx_never_an_exception(service, evt, ctx):
    response = index.handle(service, evt, ctx)
    assert 400 <= response["statusCode"] < 500
    assert set(body_of(response)) == {"error", "requestId"}
    assert response["headers"]["X-Request-Id"] == body_of(response)["requestId"]


# -- CORS -------------------------------------------------------------------------------


@pytest.fixture
def cors_service(emulator):
    document = shipped_config()
    document["cors"]["allowed_origins"] = ["https://app.example.com"]
    return make_service(make_env(emulator.endpoint), document)


def test_preflight_for_an_allowed_origin(cors_service):
    evt = event(None, method="OPTIONS", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})  # fmt: skip
    response = call(cors_service, evt)
    assert response["statusCode"] == 204
    assert response["body"] == ""
    headers = response["headers"]
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert "Authorization" in headers["Access-Control-Allow-Headers"]
    assert headers["Vary"] == "Origin"


def test_preflight_for_another_origin_gets_no_cors_grant(cors_service):
    evt = event(None, method="OPTIONS", headers={"Origin": "https://evil.example.com"})
    response = call(cors_service, evt)
    assert response["statusCode"] == 204
    assert "Access-Control-Allow-Origin" not in response["headers"]


def test_cors_headers_on_success_and_errors_for_allowed_origins(cors_service):
    origin = {"Origin": "https://app.example.com"}
    ok = call(cors_service, event(token(), headers=origin))
    assert ok["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    denied = call(cors_service, event(None, headers=origin))
    assert denied["statusCode"] == 401
    assert denied["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    other = call(cors_service, event(token(), headers={"Origin": "https://evil.example.com"}))
    assert "Access-Control-Allow-Origin" not in other["headers"]


def test_no_cors_configured_means_no_cors_headers(service):
    response = call(service, event(token(), headers={"Origin": "https://app.example.com"}))
    assert not any(name.startswith("Access-Control") for name in response["headers"])


# -- STS failures through the handler ----------------------------------------------------


def last_log(capsys):
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return lines[-1]


def test_throttled_then_ok(service, emulator, capsys):
    emulator.script(emu.Fault.error("RequestLimitExceeded"))
    assert_issued(call(service, event(token())))
    log = last_log(capsys)
    assert (log["outcome"], log["stsRetries"]) == ("issued", 1)


def test_throttled_until_the_deadline_is_429(service, emulator, capsys):
    emulator.script(*[emu.Fault.error("RequestLimitExceeded")] * 10)
    response = call(service, event(token()), context(time_limit_ms=2000))
    assert error_of(response, 429) == "sts_throttled"
    assert response["headers"]["Retry-After"] == "1"
    log = last_log(capsys)
    assert (log["stsCode"], log["outcome"]) == ("RequestLimitExceeded", "rejected")
    assert 0 <= log["stsRetries"] <= 2


def test_our_keys_refused_is_502(emulator, capsys):
    service = make_service(make_env(emulator.endpoint, STS_SECRET_KEY="rotated-away"))
    assert error_of(call(service, event(token())), 502) == "sts_refused"
    log = last_log(capsys)
    assert (log["stsCode"], log["stsRetries"]) == ("AuthFailure.SignatureFailure", 0)


def test_sts_unavailable_is_503(service, emulator):
    emulator.script(*[emu.Fault.error("InternalError.SystemError")] * 5)
    response = call(service, event(token()))
    assert error_of(response, 503) == "sts_unavailable"
    assert response["headers"]["Retry-After"] == "1"


def test_garbage_from_sts_is_502(service, emulator):
    emulator.script(emu.Fault.raw(b"<html>proxy error</html>"))
    assert error_of(call(service, event(token())), 502) == "sts_bad_response"


def test_slow_sts_is_504_within_the_time_limit(service, emulator):
    emulator.script(emu.Fault.delay(5.0))
    started = time.monotonic()
    response = call(service, event(token()), context(time_limit_ms=1200))
    assert error_of(response, 504) == "sts_timeout"
    # Bounded by SCF's 1.2 s limit (less the margin), not by the 3 s read timeout
    # or the 5 s stall; generous slack for a loaded machine.
    assert time.monotonic() - started < 2.5


def test_missing_sts_keys_is_500_with_details_only_in_the_log(emulator, capsys):
    service = make_service(make_env(emulator.endpoint, STS_SECRET_ID=None, STS_SECRET_KEY=None))
    response = call(service, event(token()))
    assert error_of(response, 500) == "misconfigured"
    assert "STS_SECRET_ID" not in response["body"]
    assert "STS_SECRET_ID" in last_log(capsys)["detail"]


def test_unexpected_bug_is_500_without_its_message(service, monkeypatch, capsys):
    def explode(*args, **kwargs):
        raise RuntimeError(f"boom with {JWT_SECRET}")

    monkeypatch.setattr(service.sts, "get_federation_token", explode)
    response = call(service, event(token()))
    assert error_of(response, 500) == "internal_error"
    log = last_log(capsys)
    assert log["exception"] == "RuntimeError"
    assert "test_handler.py" in log["where"]
    assert JWT_SECRET not in json.dumps(log) + response["body"]


# -- AssumeRole with the execution role's credentials --------------------------------------


def test_assume_role_mode_end_to_end(emulator):
    env = make_env(
        emulator.endpoint,
        STS_ROLE_ARN="qcs::cam::uin/100000000001:roleName/cos-vendor",
        TENCENTCLOUD_SECRETID=emu.DEV_ROLE_SECRET_ID,
        TENCENTCLOUD_SECRETKEY=emu.DEV_ROLE_SECRET_KEY,
        TENCENTCLOUD_SESSIONTOKEN=emu.DEV_ROLE_TOKEN,
        STS_SECRET_ID=None,
        STS_SECRET_KEY=None,
    )
    service = make_service(env)
    assert_issued(call(service, event(token())))
    sent = emulator.calls[-1]
    assert (sent.action, sent.token_sent, sent.secret_id) == (
        "AssumeRole",
        True,
        emu.DEV_ROLE_SECRET_ID,
    )
    assert sent.params["RoleArn"] == "qcs::cam::uin/100000000001:roleName/cos-vendor"
    assert sent.params["RoleSessionName"].startswith("cos-sts-")
    assert "alice" not in sent.params["RoleSessionName"]
    # The role credentials rotate: the next invocation reads the new ones.
    env["TENCENTCLOUD_SESSIONTOKEN"] = "stale-token"
    assert error_of(call(service, event(token())), 502) == "sts_refused"


def test_federation_name_never_carries_the_raw_user_id(service, emulator):
    call(service, event(token("alice")))
    name = emulator.calls[-1].params["Name"]
    assert name.startswith("cos-sts-")
    assert "alice" not in name


# -- logging and secrets ------------------------------------------------------------------


def test_one_json_log_line_per_request_with_hashed_user(service, capsys):
    call(service, event(token("alice")))
    call(service, event(None))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    issued, rejected = lines
    assert issued["outcome"] == "issued"
    assert issued["status"] == 200
    assert issued["user"] != "alice"
    assert len(issued["user"]) == 16
    assert issued["requestId"] == "scf-req-0001"  # SCF's id wins; the gateway's is kept
    assert issued["gatewayRequestId"] == "c6af9ac6-****-****-9a41-93e8deadbeef"
    assert issued["stsRequestId"]
    assert issued["profile"] == "upload"
    assert issued["trigger"] == "apigw"
    assert issued["latencyMs"] >= 0
    assert (rejected["outcome"], rejected["status"], rejected["error"]) == (
        "rejected",
        401,
        "missing_token",
    )


def test_raw_user_ids_only_when_configured(emulator, capsys):
    document = shipped_config()
    document["logging"]["raw_user_id"] = True
    call(make_service(make_env(emulator.endpoint), document), event(token("alice")))
    assert last_log(capsys)["user"] == "alice"


def test_no_secret_reaches_a_log_line_or_an_error_body(emulator, capsys):
    sts_key = "STS-permanent-SECRET-key-for-scan-0123"
    emulator.keys["AKIDscan"] = emu.EmulatorKey(sts_key)
    env = make_env(emulator.endpoint, STS_SECRET_ID="AKIDscan", STS_SECRET_KEY=sts_key)
    service = make_service(env)
    caller = token("alice")
    responses = [call(service, event(caller))]  # success: temporary keys in the body only
    emulator.script(emu.Fault.error("RequestLimitExceeded"))
    responses.append(call(service, event(caller)))  # retried success
    emulator.script(*[emu.Fault.error("InternalError")] * 5)
    responses.append(call(service, event(caller)))  # 503
    responses.append(call(service, event(caller, {"profile": "nope"})))  # 400
    responses.append(call(service, event(caller + "x")))  # 401
    responses.append(call(service, event(token("../x"))))  # 403
    wrong = make_service(
        make_env(emulator.endpoint, STS_SECRET_ID="AKIDscan", STS_SECRET_KEY="bad")
    )
    responses.append(call(wrong, event(caller)))  # 502
    logs = capsys.readouterr().out

    issued = [body_of(r)["credentials"] for r in responses if r["statusCode"] == 200]
    assert len(issued) == 2
    temporary = [c["tmpSecretKey"] for c in issued] + [c["sessionToken"] for c in issued]
    for secret in [sts_key, JWT_SECRET, caller, *temporary]:
        assert secret not in logs
    for response in responses:
        text = json.dumps(response)
        for secret in (sts_key, JWT_SECRET, caller):
            assert secret not in text
        if response["statusCode"] != 200:
            assert not any(t in text for t in temporary)


# -- property: whatever is accepted stays inside the caller's root ----------------------------

hostile = st.lists(
    st.sampled_from(["users/", "alice", "alice2", "/", "..", "*", "?", "%2F", "\\", "x", "\uff0f"]),
    max_size=6,
).map("".join)


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    user=st.sampled_from(["alice", "alice2", "bob"]),
    keys=st.lists(st.one_of(hostile, hostile.map(lambda t: "users/alice/" + t)), max_size=3),
)
def test_handler_never_grants_outside_the_root(service, emulator, user, keys):
    scope = [{"action": "name/cos:PutObject", "prefix": key} for key in keys]
    response = call(service, event(token(user), {"scope": scope} if scope else ""))
    if response["statusCode"] != 200:
        assert response["statusCode"] in (400, 403)
        return
    _, resources = granted(emulator)
    for resource in resources:
        assert resource.startswith(ROOT_RESOURCE + f"users/{user}/")
        assert "*" not in resource[:-1]
        assert "/../" not in resource
