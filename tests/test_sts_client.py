"""Every branch of the STS client, against `responses` (no sockets, fake clocks)."""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import unquote

import pytest
import requests
import responses
from hypothesis import given
from hypothesis import strategies as st

from sts_core.sts_client import (
    RetryPolicy,
    StsClient,
    StsError,
    classify,
    federation_name,
    parse_endpoint,
    role_session_name,
)
from sts_core.tc3_signing import Credentials

URL = "https://sts.tencentcloudapi.com/"
NOW = 1700000000
SECRET_KEY = "permanent-SECRET-key-value-0123456789"
ROLE_KEY = "role-SECRET-key-value-abcdef"
ROLE_TOKEN = "role-SESSION-token-value-xyz"
TMP_KEY = "issued-TMP-secret-key-value"
TMP_TOKEN = "issued-SESSION-token-value"
PERMANENT = Credentials("AKIDpermanent", SECRET_KEY)
ROLE = Credentials("AKIDrole", ROLE_KEY, ROLE_TOKEN)
POLICY = '{"version":"2.0","statement":[{"effect":"allow","action":["name/cos:GetObject"],'
POLICY += '"resource":["qcs::cos:ap-guangzhou:uid/1250000000:b-1250000000/users/alice/*"]}]}'
SECRETS = (SECRET_KEY, ROLE_KEY, ROLE_TOKEN, TMP_KEY, TMP_TOKEN)


class FakeClock:
    """Monotonic and wall clocks that only move when the client sleeps."""

    def __init__(self):
        self.mono = 100.0
        self.sleeps = []

    def monotonic(self):
        return self.mono

    def wall(self):
        return NOW + (self.mono - 100.0)

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.mono += seconds


@pytest.fixture
def clock():
    return FakeClock()


def make_client(clock, **retry):
    return StsClient(
        retry=RetryPolicy(**retry),
        wall_clock=clock.wall,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        jitter=lambda: 1.0,  # worst case: the full backoff
    )


def success(expired=NOW + 1800, expiration="2023-11-14T22:43:20Z", **overrides):
    body = {
        "Credentials": {"Token": TMP_TOKEN, "TmpSecretId": "AKIDtmp", "TmpSecretKey": TMP_KEY},
        "ExpiredTime": expired,
        "Expiration": expiration,
        "RequestId": "rid-ok",
    }
    body.update(overrides)
    return {"Response": body}


def sts_error(code, message="m"):
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "rid-err"}}


def federate(client, deadline=None):
    return client.get_federation_token(
        PERMANENT, name="cos-sts-abc", policy=POLICY, duration_seconds=1800, deadline=deadline
    )


def assert_no_secrets(*texts):
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@responses.activate
def test_success_returns_the_spec_fields(clock):
    responses.add(responses.POST, URL, json=success())
    issued = federate(make_client(clock))
    assert issued.tmp_secret_id == "AKIDtmp"
    assert issued.tmp_secret_key == TMP_KEY
    assert issued.session_token == TMP_TOKEN
    assert issued.expired_time == NOW + 1800
    assert issued.expiration == "2023-11-14T22:43:20Z"
    assert issued.request_id == "rid-ok"
    assert issued.attempts == 1
    assert issued.start_time <= NOW < issued.expired_time
    assert_no_secrets(repr(issued).replace("AKIDtmp", ""))


@responses.activate
def test_request_carries_url_encoded_policy_and_sdk_headers(clock):
    responses.add(responses.POST, URL, json=success())
    federate(make_client(clock))
    request = responses.calls[0].request
    body = json.loads(request.body)
    assert body["Name"] == "cos-sts-abc"
    assert body["DurationSeconds"] == 1800
    assert "%22" in body["Policy"]
    assert "/" not in body["Policy"]
    assert unquote(body["Policy"]) == POLICY
    assert request.headers["X-TC-Action"] == "GetFederationToken"
    assert request.headers["X-TC-Version"] == "2018-08-13"
    assert request.headers["X-TC-Region"] == "ap-guangzhou"
    assert request.headers["X-TC-Timestamp"] == str(NOW)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Host"] == "sts.tencentcloudapi.com"
    assert "X-TC-Token" not in request.headers
    assert request.headers["Authorization"].startswith(
        "TC3-HMAC-SHA256 Credential=AKIDpermanent/2023-11-14/sts/tc3_request, "
        "SignedHeaders=content-type;host, Signature="
    )


@responses.activate
def test_assume_role_sends_the_session_token(clock):
    responses.add(responses.POST, URL, json=success())
    make_client(clock).assume_role(
        ROLE,
        role_arn="qcs::cam::uin/100000000001:roleName/cos-vendor",
        session_name="cos-sts-0123456789abcdef",
        policy=POLICY,
        duration_seconds=900,
    )
    request = responses.calls[0].request
    assert request.headers["X-TC-Action"] == "AssumeRole"
    assert request.headers["X-TC-Token"] == ROLE_TOKEN
    body = json.loads(request.body)
    assert body["RoleArn"] == "qcs::cam::uin/100000000001:roleName/cos-vendor"
    assert body["RoleSessionName"] == "cos-sts-0123456789abcdef"
    assert unquote(body["Policy"]) == POLICY


@responses.activate
def test_start_time_never_after_either_clock(clock):
    # STS's clock 40 s ahead of ours: its ExpiredTime - duration would be in our future.
    responses.add(responses.POST, URL, json=success(expired=NOW + 40 + 1800))
    assert federate(make_client(clock)).start_time == NOW
    # STS behind us (or clamping the duration): trust the earlier value.
    responses.replace(responses.POST, URL, json=success(expired=NOW - 5 + 1800))
    assert federate(make_client(clock)).start_time == NOW - 5


@responses.activate
def test_missing_or_inconsistent_expiration_is_derived_from_expired_time(clock):
    responses.add(responses.POST, URL, json=success(expiration=None))
    assert federate(make_client(clock)).expiration == "2023-11-14T22:43:20Z"
    responses.replace(responses.POST, URL, json=success(expiration="2030-01-01T00:00:00Z"))
    assert federate(make_client(clock)).expiration == "2023-11-14T22:43:20Z"


@pytest.mark.parametrize(
    ("code", "category", "status"),
    [
        ("RequestLimitExceeded", "throttled", 429),
        ("RequestLimitExceeded.UinLimitExceeded", "throttled", 429),
        ("InvalidParameter.OverLimit", "throttled", 429),
        ("InternalError.SystemError", "unavailable", 503),
        ("ServiceUnavailable", "unavailable", 503),
    ],
)
@responses.activate
def test_retryable_errors_are_retried_then_surface_their_category(clock, code, category, status):
    responses.add(responses.POST, URL, json=sts_error(code))
    with pytest.raises(StsError) as caught:
        federate(make_client(clock, max_attempts=3))
    error = caught.value
    assert (error.category, error.status, error.code) == (category, status, code)
    assert error.attempts == 3
    assert len(responses.calls) == 3
    assert error.request_id == "rid-err"
    # Full-jitter backoff with jitter pinned at 1.0: 0.1 then 0.2 seconds.
    assert clock.sleeps == pytest.approx([0.1, 0.2])


@pytest.mark.parametrize(
    "code",
    [
        "AuthFailure.SecretIdNotFound",
        "AuthFailure.SignatureFailure",
        "AuthFailure.SignatureExpire",
        "AuthFailure.TokenFailure",
        "UnauthorizedOperation",
        "InvalidParameter.PolicyTooLong",
        "InvalidParameter.GrantOtherResource",
        "ResourceNotFound.RoleNotFound",
        "MissingParameter",
    ],
)
@responses.activate
def test_refusals_are_not_retried(clock, code):
    responses.add(responses.POST, URL, json=sts_error(code))
    with pytest.raises(StsError) as caught:
        federate(make_client(clock))
    assert caught.value.category == "refused"
    assert caught.value.status == 502
    assert caught.value.attempts == 1
    assert len(responses.calls) == 1
    assert clock.sleeps == []


@responses.activate
def test_retry_then_success(clock):
    responses.add(responses.POST, URL, json=sts_error("RequestLimitExceeded"))
    responses.add(responses.POST, URL, json=sts_error("InternalError"))
    responses.add(responses.POST, URL, json=success())
    issued = federate(make_client(clock, max_attempts=3))
    assert issued.attempts == 3
    assert len(responses.calls) == 3
    # Each attempt is signed afresh with the clock at send time.
    stamps = [int(c.request.headers["X-TC-Timestamp"]) for c in responses.calls]
    assert stamps == sorted(stamps)


@responses.activate
def test_backoff_is_jittered_and_capped():
    clock = FakeClock()
    draws = iter([0.5, 0.25, 0.9, 0.1])
    client = StsClient(
        retry=RetryPolicy(max_attempts=5, base_delay=0.2, max_delay=0.5),
        wall_clock=clock.wall,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        jitter=lambda: next(draws),
    )
    responses.add(responses.POST, URL, json=sts_error("RequestLimitExceeded"))
    with pytest.raises(StsError):
        federate(client)
    # caps: 0.2, 0.4, 0.5 (not 0.8), 0.5 (not 1.6), each scaled by its draw
    assert clock.sleeps == pytest.approx([0.1, 0.1, 0.45, 0.05])


@responses.activate
def test_no_retry_that_cannot_finish_before_the_deadline(clock):
    responses.add(responses.POST, URL, json=sts_error("RequestLimitExceeded"))
    client = make_client(clock, max_attempts=5, base_delay=1.0, max_delay=1.0, min_attempt_time=0.3)
    # 1.2 s left after the first answer: a 1.0 s backoff plus a 0.3 s attempt does not fit.
    with pytest.raises(StsError) as caught:
        federate(client, deadline=clock.monotonic() + 1.2)
    assert caught.value.category == "throttled"
    assert caught.value.attempts == 1
    assert len(responses.calls) == 1
    assert clock.sleeps == []


@responses.activate
def test_no_attempt_at_all_without_time_left(clock):
    responses.add(responses.POST, URL, json=success())
    with pytest.raises(StsError) as caught:
        federate(make_client(clock), deadline=clock.monotonic() + 0.1)
    assert (caught.value.category, caught.value.status, caught.value.attempts) == (
        "timeout",
        504,
        0,
    )
    assert len(responses.calls) == 0


@responses.activate
def test_socket_timeouts_are_clipped_to_the_time_left(clock):
    responses.add(responses.POST, URL, json=success())
    federate(make_client(clock, connect_timeout=1.0, read_timeout=3.0), deadline=clock.mono + 2.0)
    assert responses.calls[0].request.req_kwargs["timeout"] == (1.0, 2.0)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<html>gateway</html>", "Response.NotJson"),
        (b"[1, 2]", "Response.Malformed"),
        (b'{"Response": "nope"}', "Response.Malformed"),
        (b'{"Response": {"Error": "x", "RequestId": "r"}}', "Response.Malformed"),
        (json.dumps(success(Credentials=None)).encode(), "Response.NoCredentials"),
        (
            json.dumps(success(Credentials={"TmpSecretId": "a", "TmpSecretKey": "b"})).encode(),
            "Response.NoCredentials",
        ),
        (
            json.dumps(
                success(Credentials={"TmpSecretId": "a", "TmpSecretKey": "", "Token": "t"})
            ).encode(),
            "Response.NoCredentials",
        ),
        (json.dumps(success(ExpiredTime=None)).encode(), "Response.NoExpiry"),
        (json.dumps(success(ExpiredTime=True)).encode(), "Response.NoExpiry"),
        (json.dumps(success(ExpiredTime=NOW - 1)).encode(), "Response.Expired"),
    ],
)
@responses.activate
def test_unusable_answers_are_bad_responses_not_crashes(clock, body, code):
    responses.add(responses.POST, URL, body=body, content_type="application/json")
    with pytest.raises(StsError) as caught:
        federate(make_client(clock))
    assert (caught.value.category, caught.value.status, caught.value.code) == (
        "bad_response",
        502,
        code,
    )
    assert len(responses.calls) == 1


@responses.activate
def test_expired_time_as_digit_string_is_accepted(clock):
    responses.add(responses.POST, URL, json=success(expired=str(NOW + 1800)))
    assert federate(make_client(clock)).expired_time == NOW + 1800


@responses.activate
def test_http_500_is_retried_as_unavailable(clock):
    responses.add(responses.POST, URL, body=b"oops", status=500)
    responses.add(responses.POST, URL, json=success())
    assert federate(make_client(clock)).attempts == 2


@responses.activate
def test_http_4xx_is_a_bad_response_without_retry(clock):
    responses.add(responses.POST, URL, body=b"denied", status=403)
    with pytest.raises(StsError) as caught:
        federate(make_client(clock))
    assert (caught.value.code, caught.value.status, len(responses.calls)) == ("HTTP.403", 502, 1)


@pytest.mark.parametrize(
    ("failure", "category", "status"),
    [
        (requests.ConnectionError("refused"), "unavailable", 503),
        (requests.ReadTimeout("slow"), "timeout", 504),
        (requests.ConnectTimeout("no route"), "timeout", 504),
    ],
)
@responses.activate
def test_transport_failures_are_retried_then_categorised(clock, failure, category, status):
    responses.add(responses.POST, URL, body=failure)
    with pytest.raises(StsError) as caught:
        federate(make_client(clock, max_attempts=2))
    assert (caught.value.category, caught.value.status) == (category, status)
    assert caught.value.attempts == 2
    assert len(responses.calls) == 2
    assert caught.value.__cause__ is None  # the requests exception holds the signed request


@responses.activate
def test_secrets_never_reach_errors_or_logs(clock, caplog):
    caplog.set_level(logging.DEBUG)
    failures = [
        sts_error("RequestLimitExceeded", message="slow down"),
        requests.ConnectionError(f"boom {SECRET_KEY} {ROLE_TOKEN}"),
        sts_error("AuthFailure.SignatureFailure"),
    ]
    for failure in failures:
        if isinstance(failure, Exception):
            responses.add(responses.POST, URL, body=failure)
        else:
            responses.add(responses.POST, URL, json=failure)
    texts = []
    for _ in range(2):
        with pytest.raises(StsError) as caught:
            make_client(clock, max_attempts=2).assume_role(
                ROLE,
                role_arn="qcs::cam::uin/1:roleName/r",
                session_name="cos-sts-x",
                policy=POLICY,
                duration_seconds=900,
            )
        texts += [str(caught.value), repr(caught.value), caught.value.message]
    assert_no_secrets(*texts, caplog.text)
    assert "sts retry" in caplog.text  # logging did happen; it just held nothing secret


def test_categories():
    assert classify("RequestLimitExceeded.IPLimitExceeded") == "throttled"
    assert classify("InternalError.DbError") == "unavailable"
    assert classify("InvalidParameter.ParamError") == "refused"
    assert classify("InvalidParameterValue") == "refused"


def test_duration_outside_sts_limits_is_a_programming_error(clock):
    client = make_client(clock)
    with pytest.raises(ValueError, match=r"1\.\.129600"):
        client.get_federation_token(PERMANENT, name="n", policy=POLICY, duration_seconds=129601)
    with pytest.raises(ValueError, match=r"1\.\.43200"):
        client.assume_role(
            ROLE, role_arn="a", session_name="s", policy=POLICY, duration_seconds=43201
        )


@pytest.mark.parametrize(
    ("endpoint", "url", "host"),
    [
        ("https://sts.tencentcloudapi.com", URL, "sts.tencentcloudapi.com"),
        ("https://STS.tencentcloudapi.com:443/", URL, "sts.tencentcloudapi.com"),
        (
            "https://sts.internal.tencentcloudapi.com",
            "https://sts.internal.tencentcloudapi.com/",
            "sts.internal.tencentcloudapi.com",
        ),
        ("http://127.0.0.1:8999", "http://127.0.0.1:8999/", "127.0.0.1:8999"),
    ],
)
def test_endpoints(endpoint, url, host):
    assert parse_endpoint(endpoint) == (url, host)


@pytest.mark.parametrize(
    "endpoint",
    [
        "sts.tencentcloudapi.com",
        "ftp://x",
        "https://u:p@sts.x.com",
        "https://x.com/path",
        "https://",
    ],
)
def test_bad_endpoints_are_refused(endpoint):
    with pytest.raises(ValueError, match="must") as caught:
        parse_endpoint(endpoint)
    assert "u:p" not in str(caught.value)  # never quoted: it may carry credentials


@given(st.text(min_size=1, max_size=300))
def test_sts_names_are_safe_for_any_user_id(user_id):
    name = federation_name(user_id)
    assert re.fullmatch(r"cos-sts-[a-p]{16}", name)
    session = role_session_name(user_id)
    assert re.fullmatch(r"[\w+=,.@-]{2,128}", session, re.ASCII)


def test_sts_names_are_stable_and_distinct():
    assert federation_name("alice") == federation_name("alice")
    assert federation_name("alice") != federation_name("alice2")
    assert role_session_name("alice") != role_session_name("Alice")
