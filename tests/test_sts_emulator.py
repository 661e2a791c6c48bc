"""The STS emulator over real sockets: it must accept what STS accepts and refuse the rest."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest
import requests
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from sts_core.sts_client import RetryPolicy, StsClient, StsError
from sts_core.tc3_signing import Credentials
from sts_tools.emulators import sts as emu

PERMANENT = Credentials(emu.DEV_SECRET_ID, emu.DEV_SECRET_KEY)
ROLE = Credentials(emu.DEV_ROLE_SECRET_ID, emu.DEV_ROLE_SECRET_KEY, emu.DEV_ROLE_TOKEN)
ARN = "qcs::cam::uin/100000000001:roleName/cos-vendor"
RESOURCE = "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/users/alice/*"


def policy(**statement_extra):
    statement = {"effect": "allow", "action": ["name/cos:PutObject"], "resource": [RESOURCE]}
    statement.update(statement_extra)
    return json.dumps({"version": "2.0", "statement": [statement]})


@pytest.fixture(scope="module")
def server():
    with emu.StsEmulator() as running:
        yield running


@pytest.fixture
def sts(server):
    server.calls.clear()
    return StsClient(server.endpoint, retry=RetryPolicy(max_attempts=2, base_delay=0.01))


def federate(client, credentials=PERMANENT, text=None, duration=1800):
    return client.get_federation_token(
        credentials, name="cos-sts-abcdef", policy=text or policy(), duration_seconds=duration
    )


def test_federation_token_round_trip(sts, server):
    before = int(time.time())
    issued = federate(sts)
    assert issued.tmp_secret_id.startswith("AKIDEMULATOR")
    assert issued.tmp_secret_key.startswith("EMULATOR-")
    assert issued.session_token.startswith("EMULATOR-TOKEN-")
    assert issued.start_time <= int(time.time()) < issued.expired_time
    assert before + 1800 <= issued.expired_time <= int(time.time()) + 1800
    (call,) = server.calls
    assert call.action == "GetFederationToken"
    assert call.policy["statement"][0]["resource"] == [RESOURCE]
    assert call.params["Name"] == "cos-sts-abcdef"
    assert call.region == "ap-guangzhou"
    assert not call.token_sent


def test_assume_role_with_role_keys_sends_and_checks_the_token(sts, server):
    issued = sts.assume_role(
        ROLE, role_arn=ARN, session_name="cos-sts-0a1b", policy=policy(), duration_seconds=900
    )
    assert 900 <= issued.expired_time - issued.start_time <= 905
    (call,) = server.calls
    assert call.action == "AssumeRole"
    assert call.token_sent
    assert call.secret_id == emu.DEV_ROLE_SECRET_ID


def test_keep_alive_reuses_one_connection(server):
    client = StsClient(server.endpoint)
    before = server.connections
    for _ in range(5):
        federate(client)
    assert server.connections - before == 1


def refusal(call):
    with pytest.raises(StsError) as caught:
        call()
    assert caught.value.category == "refused"
    return caught.value.code


def test_unknown_key_is_refused(sts):
    assert refusal(lambda: federate(sts, Credentials("AKIDnobody", "k"))) == (
        "AuthFailure.SecretIdNotFound"
    )


def test_wrong_secret_key_is_refused(sts, server):
    wrong = Credentials(emu.DEV_SECRET_ID, "not-the-key")
    assert refusal(lambda: federate(sts, wrong)) == "AuthFailure.SignatureFailure"
    assert server.calls == []


def test_old_timestamp_is_refused(server):
    stale = StsClient(server.endpoint, wall_clock=lambda: time.time() - 301)
    assert refusal(lambda: federate(stale)) == "AuthFailure.SignatureExpire"
    future = StsClient(server.endpoint, wall_clock=lambda: time.time() + 301)
    assert refusal(lambda: federate(future)) == "AuthFailure.SignatureExpire"


def raw_post(server, headers, body):
    answer = requests.post(server.endpoint, data=body, headers=headers, timeout=5).json()
    return answer["Response"].get("Error", {}).get("Code")


def signed(server, params=None, action="GetFederationToken", credentials=PERMANENT):
    client = StsClient(server.endpoint)
    params = params or {"Name": "cos-sts-x", "Policy": quote(policy(), safe="")}
    return client.build_request(credentials, action, params, int(time.time()))


def test_tampered_body_is_refused(server):
    headers, body = signed(server)
    assert raw_post(server, headers, body) is None  # untouched: accepted
    tampered = body.replace(b"cos-sts-x", b"cos-sts-y")
    assert raw_post(server, headers, tampered) == "AuthFailure.SignatureFailure"


def test_tampered_signed_header_is_refused(server):
    headers, body = signed(server)
    headers["Content-Type"] = "application/json; charset=utf-8"
    assert raw_post(server, headers, body) == "AuthFailure.SignatureFailure"


def test_scope_date_must_be_the_utc_date(server):
    headers, body = signed(server)
    headers["Authorization"] = headers["Authorization"].replace(
        time.strftime("%Y-%m-%d", time.gmtime()), "2001-01-01"
    )
    assert raw_post(server, headers, body) == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda h: h.pop("Authorization"), "AuthFailure.InvalidAuthorization"),
        (
            lambda h: h.update(Authorization="Basic Zm9vOmJhcg=="),
            "AuthFailure.InvalidAuthorization",
        ),
        (lambda h: h.update({"X-TC-Version": "2017-01-01"}), "NoSuchVersion"),
        (lambda h: h.update({"X-TC-Action": "GetSessionToken"}), "InvalidAction"),
        (lambda h: h.pop("X-TC-Region"), "MissingParameter"),
        (lambda h: h.update({"X-TC-Token": "unexpected"}), "AuthFailure.TokenFailure"),
    ],
)
def test_header_checks(server, mutate, code):
    headers, body = signed(server)
    mutate(headers)
    assert raw_post(server, headers, body) == code


def test_role_key_needs_its_token(server):
    params = {"RoleArn": ARN, "RoleSessionName": "cos-sts-x"}
    headers, body = signed(server, params, "AssumeRole", ROLE)
    assert raw_post(server, headers, body) is None
    headers, body = signed(
        server, params, "AssumeRole", Credentials(ROLE.secret_id, ROLE.secret_key)
    )
    assert raw_post(server, headers, body) == "AuthFailure.TokenFailure"


def test_federation_needs_a_permanent_key(sts):
    assert refusal(lambda: federate(sts, ROLE)) == "UnauthorizedOperation"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (policy(principal={"qcs": ["*"]}), "InvalidParameter.StrategyFormatError"),
        ('{"statement": []}', "InvalidParameter.StrategyFormatError"),
        ("not json", "InvalidParameter.StrategyFormatError"),
        (
            json.dumps({"version": "2.0", "statement": [{"effect": "allow"}]}),
            "InvalidParameter.StrategyFormatError",
        ),
        (policy(resource=["x" * 7000]), "InvalidParameter.PolicyTooLong"),
    ],
)
def test_policy_checks(sts, text, code):
    assert refusal(lambda: federate(sts, text=text)) == code


def test_duration_limits(server):
    sts = StsClient(server.endpoint)
    assert federate(sts, duration=129600).expired_time > time.time() + 129000
    with emu.StsEmulator(root_account=True) as root:
        assert refusal(lambda: federate(StsClient(root.endpoint), duration=7201)) == (
            "InvalidParameter.OverTimeError"
        )


def test_assume_role_parameter_checks(sts):
    def assume(arn=ARN, session="cos-sts-x"):
        return sts.assume_role(
            ROLE, role_arn=arn, session_name=session, policy=policy(), duration_seconds=900
        )

    assert refusal(lambda: assume(arn="arn:aws:iam::1:role/x")) == "ResourceNotFound.RoleNotFound"
    assert refusal(lambda: assume(session="a")) == "InvalidParameter.ParamError"
    assert refusal(lambda: assume(session="bad name!")) == "InvalidParameter.ParamError"


def test_the_official_sdk_is_accepted_by_the_emulator(server):
    """The emulator's verifier against an independent signer."""
    server.calls.clear()
    sdk = CommonClient(
        "sts",
        "2018-08-13",
        Credential(emu.DEV_SECRET_ID, emu.DEV_SECRET_KEY),
        "ap-guangzhou",
        ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=server.endpoint[7:])),
    )
    answer = sdk.call_json(
        "GetFederationToken", {"Name": "cos-sts-sdk", "Policy": quote(policy(), safe="")}
    )
    assert answer["Response"]["Credentials"]["TmpSecretId"].startswith("AKIDEMULATOR")
    assert server.calls[-1].policy["statement"][0]["resource"] == [RESOURCE]

    wrong = CommonClient(
        "sts",
        "2018-08-13",
        Credential(emu.DEV_SECRET_ID, "wrong"),
        "ap-guangzhou",
        ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=server.endpoint[7:])),
    )
    with pytest.raises(TencentCloudSDKException) as caught:
        wrong.call_json("GetFederationToken", {"Name": "x", "Policy": quote(policy(), safe="")})
    assert caught.value.get_code() == "AuthFailure.SignatureFailure"


def test_scripted_faults_reach_the_client(server):
    client = StsClient(
        server.endpoint, retry=RetryPolicy(max_attempts=3, base_delay=0.01, read_timeout=0.3)
    )
    server.script(emu.Fault.error("RequestLimitExceeded"), emu.Fault.http(502, b"bad gateway"))
    assert federate(client).attempts == 3

    server.script(emu.Fault.raw(b"<html>not json</html>"))
    with pytest.raises(StsError) as caught:
        federate(client)
    assert (caught.value.code, caught.value.status) == ("Response.NotJson", 502)

    server.script(emu.Fault.drop(), emu.Fault.drop(), emu.Fault.drop())
    with pytest.raises(StsError) as caught:
        federate(client)
    assert (caught.value.category, caught.value.attempts) == ("unavailable", 3)


def test_slow_sts_times_out_within_the_deadline(server):
    client = StsClient(server.endpoint, retry=RetryPolicy(read_timeout=5.0))
    server.script(emu.Fault.delay(4.0))
    started = time.monotonic()
    with pytest.raises(StsError) as caught:
        federate_with_deadline(client, time.monotonic() + 0.5)
    assert (caught.value.category, caught.value.status) == ("timeout", 504)
    # The read timeout was clipped to the 0.5 s deadline: far from the configured
    # 5 s and from the 4 s the emulator stalls (a bound, with slack for slow machines).
    assert time.monotonic() - started < 3.0


def federate_with_deadline(client, deadline):
    return client.get_federation_token(
        PERMANENT, name="cos-sts-x", policy=policy(), duration_seconds=900, deadline=deadline
    )


def test_connection_refused(server):
    with emu.StsEmulator() as gone:
        endpoint = gone.endpoint
    client = StsClient(endpoint, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    with pytest.raises(StsError) as caught:
        federate(client)
    assert (caught.value.category, caught.value.status, caught.value.attempts) == (
        "unavailable",
        503,
        2,
    )
