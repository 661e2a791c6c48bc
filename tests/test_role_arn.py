"""STS_ROLE_ARN names exactly one role (issue 24): no wildcard (``roleName/*``,
``roleName/cos-*``), no comma-joined ARNs, no whitespace. The function refuses
anything else at cold start (a 500 `misconfigured` naming the variable, no STS
call), the deploy preflight refuses it, and so `cam-policy` can never print
AssumeRole on a wildcard.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import index
from sts_core.config_validation import role_arn_problem
from sts_tools.commands import cli, deploy
from tests.support import ROOT, body_of, context, event, make_env, token

ONE = "qcs::cam::uin/100000000001:roleName/cos-sts-vending"
BAD = {
    "wildcard": "qcs::cam::uin/100000000001:roleName/*",
    "prefix-wildcard": "qcs::cam::uin/100000000001:roleName/cos-*",
    "question-mark": "qcs::cam::uin/100000000001:roleName/cos-?ending",
    "two-arns": f"{ONE},qcs::cam::uin/100000000001:roleName/admin",
    "two-arns-spaced": f"{ONE}, qcs::cam::uin/100000000001:roleName/admin",
    "trailing-space": ONE + " ",
    "trailing-newline": ONE + "\n",
    "leading-space": " " + ONE,
    "empty-name": "qcs::cam::uin/100000000001:roleName/",
    "role-id-not-a-number": "qcs::cam::uin/100000000001:role/cos-*",
    "unicode-digits": "qcs::cam::uin/\u0661\u0660\u0660:roleName/cos-sts-vending",
    "path": "qcs::cam::uin/100000000001:roleName/a/b",
}
GOOD = [
    ONE,
    "qcs::cam::uin/100000000001:role/4611686018427397919",
    "qcs::cam::uin/100000000001:roleName/a,b@c.d+e=f_g-h",  # CAM's name characters
    "qcs::cam::uin/100000000001:role/tencentcloudServiceRole/4611686018427397919",
    "qcs::cam::uin/100000000001:role/tencentcloudServiceRoleName/SCF_QcsRole",
]


def role_env(arn, emulator=None):
    return make_env(emulator.endpoint if emulator else "http://127.0.0.1:9", STS_ROLE_ARN=arn)


@pytest.mark.parametrize("arn", BAD.values(), ids=BAD.keys())
def test_the_function_refuses_anything_but_one_role(emulator, capsys, arn):
    service = index.start(role_env(arn, emulator), f"{ROOT}/config.yml")
    response = index.handle(service, event(token()), context())
    assert response["statusCode"] == 500
    assert body_of(response)["error"]["code"] == "misconfigured"
    assert "STS_ROLE_ARN" in capsys.readouterr().out  # the startup line names it
    assert emulator.calls == []


@pytest.mark.parametrize("arn", GOOD)
def test_one_role_is_accepted_and_assumed(emulator, arn):
    service = index.start(role_env(arn, emulator), f"{ROOT}/config.yml")
    response = index.handle(service, event(token()), context())
    assert response["statusCode"] == 200, response["body"]
    assert emulator.calls[-1].params["RoleArn"] == arn


@pytest.mark.parametrize("arn", BAD.values(), ids=BAD.keys())
def test_cam_policy_never_prints_assume_role_on_it(monkeypatch, capsys, arn):
    for name, value in {**make_env(), "STS_ROLE_ARN": arn, "SCF_ROLE": "cos-sts-exec"}.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["cam-policy", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: configuration: STS_ROLE_ARN: ")
    assert err.count("\n") == 1  # one line, no traceback


def test_cam_policy_grants_assume_role_on_exactly_the_one_role(monkeypatch, capsys):
    for name, value in {**make_env(), "STS_ROLE_ARN": ONE, "SCF_ROLE": "cos-sts-exec"}.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["cam-policy", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    (statement,) = docs["execution role policy (SCF_ROLE)"]["statement"]
    assert statement["resource"] == [ONE]


@pytest.mark.parametrize("arn", BAD.values(), ids=BAD.keys())
def test_the_deploy_preflight_refuses_it(arn):
    env = {"SCF_REGION": "ap-shanghai", "SCF_ROLE": "cos-sts-scf-role",
           "COS_BUCKET": "photos-1250000000", "COS_REGION": "ap-shanghai",
           "STS_JWT_SECRET": "preflight-secret-0123456789-abcdefghijklmnopqrstuvw",
           "STS_ROLE_ARN": arn}  # fmt: skip
    result = deploy.preflight(env, "prod", ROOT, check_cli=False, dotenv=False)
    assert "STS_ROLE_ARN" in [p.variable for p in result.problems]


@pytest.mark.parametrize(
    ("arn", "words"),
    [
        (BAD["wildcard"], "wildcard"),
        (BAD["two-arns"], "several roles"),
        (BAD["trailing-space"], "whitespace"),
        (BAD["empty-name"], "must name one role"),
    ],
)
def test_the_refusal_says_what_is_wrong(arn, words):
    assert words in role_arn_problem(arn)


PIECES = st.lists(
    st.sampled_from(["qcs::cam::uin/", "1", "0", ":roleName/", ":role/", "cos", "-", "*", "?",
                     ",", " ", "\n", "\t", "/", ".", "@", "tencentcloudServiceRole/"]),
    max_size=10,
)  # fmt: skip


@given(tail=PIECES)
def test_whatever_is_accepted_is_one_role_without_wildcards(tail):
    arn = "qcs::cam::uin/100000000001:roleName/" + "".join(tail)
    if role_arn_problem(arn) is None:
        # An oracle written apart from the pattern: what one role's ARN cannot contain.
        assert "*" not in arn
        assert "?" not in arn
        assert not any(c.isspace() for c in arn)
        assert arn.count("qcs::") == 1
        assert arn.count("/") in (1, 2)  # uin/ and roleName/ (no path)
