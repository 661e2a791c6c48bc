"""`python -m sts_tools`: token, explain (the dry run), invoke, and --help everywhere."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from urllib.parse import unquote

import jwt
import pytest

import index
from sts_core.config_validation import parse_config
from sts_core.ticket_signing_key import SESSION
from sts_tools import stack as local
from sts_tools.commands import cli, serve
from sts_tools.support.dev_token import DEV_JWT_SECRET, mint_token
from tests.support import CONTRACT_ENV, ROOT, event, make_env, make_service, shipped_config
from tests.support.tickets import ticket_key


@pytest.fixture
def clean_env(monkeypatch):
    """A developer's shell: none of the function's variables set."""
    for name in CONTRACT_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def run(capsys, command, *extra):
    """Run `python -m sts_tools <command>`, written as a user would type it."""
    status = cli.main(shlex.split(command) + list(extra))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# -- token ---------------------------------------------------------------------------


def test_token_uses_the_development_secret(clean_env, capsys):
    command = 'token alice --ttl 120 --claim role=admin --claim \'groups=["a","b"]\''
    status, out, _ = run(capsys, command + " --iss https://idp --aud app")
    assert status == 0
    claims = jwt.decode(out.strip(), local.DEV_JWT_SECRET, algorithms=["HS256"], audience="app")
    assert claims["sub"] == "alice"
    assert claims["role"] == "admin"
    assert claims["groups"] == ["a", "b"]
    assert claims["iss"] == "https://idp"
    assert 110 <= claims["exp"] - time.time() <= 121


def test_token_picks_up_issuer_and_audience_from_the_environment(clean_env, capsys):
    clean_env.setenv("STS_JWT_ISSUER", "https://login.example.com")
    clean_env.setenv("STS_JWT_AUDIENCE", "photos")
    _, out, _ = run(capsys, "token bob")
    claims = jwt.decode(out.strip(), local.DEV_JWT_SECRET, algorithms=["HS256"], audience="photos")
    assert claims["iss"] == "https://login.example.com"


def test_token_refuses_a_production_secret_unless_asked(clean_env, capsys):
    production = "production-secret-0123456789-abcdefghijklmnop"
    clean_env.setenv("STS_JWT_SECRET", production)
    status, out, err = run(capsys, "token alice")
    assert (status, out) == (2, "")
    assert "--allow-real-secret" in err
    assert production not in err
    status, out, _ = run(capsys, "token alice --allow-real-secret")
    assert status == 0
    assert jwt.decode(out.strip(), production, algorithms=["HS256"])["sub"] == "alice"


def test_token_rejects_a_malformed_claim(clean_env, capsys):
    status, _, err = run(capsys, "token alice --claim novalue")
    assert status == 2
    assert "NAME=VALUE" in err


# -- explain -------------------------------------------------------------------------


def test_explain_prints_exactly_the_policy_the_handler_sends(clean_env, capsys, emulator):
    body = json.dumps(
        {
            "profile": "read-write",
            "scope": [
                {"action": "name/cos:PutObject", "prefix": "users/alice/a.jpg"},
                {"action": "name/cos:GetObject", "prefix": "users/alice/docs/*"},
            ],
        }
    )
    status, out, _ = run(capsys, "explain --user alice --body", body)
    assert status == 0
    lines = out.splitlines()
    printed = lines[
        lines.index("policy, exactly as sent (URL-encoded into the Policy parameter):") + 1
    ]

    env = make_env(emulator.endpoint, STS_JWT_SECRET=local.DEV_JWT_SECRET)
    service = make_service(env)
    token = mint_token("alice")
    response = index.handle(service, event(token, body), {})
    assert response["statusCode"] == 200
    assert unquote(emulator.calls[-1].params["Policy"]) == printed
    assert "root:     users/alice/" in out
    assert "GetFederationToken Name=cos-sts-" in out


def test_explain_shows_the_ticket_and_the_signing_keys_policy(clean_env, capsys, emulator):
    body = json.dumps({"profile": "avatar", "ticket": {"method": "post", "extension": "png"}})
    status, out, _ = run(capsys, "explain --user alice --body", body)
    assert status == 0
    assert re.search(r"key:      " + ticket_key(extensions="png").pattern, out)
    assert '"content-length-range",' in out
    assert '"key": "users/alice/' in out
    # The printed signing-key policy is the one the function asks STS for.
    printed = json.loads(out[out.index("{", out.index("the signing key's policy")) :])
    env = make_env(emulator.endpoint, STS_JWT_SECRET=local.DEV_JWT_SECRET)
    response = index.handle(make_service(env), event(mint_token("alice"), body), {})
    assert response["statusCode"] == 200
    assert json.loads(unquote(emulator.calls[-1].params["Policy"])) == printed
    assert emulator.calls[-1].params["Name"] == SESSION  # the signing key's own session
    status, out, _ = run(
        capsys,
        "explain --user alice --body",
        json.dumps({"profile": "avatar", "ticket": {"method": "get", "key": "users/bob/a.png"}}),
    )
    assert status == 1
    assert "REFUSED   403 ticket_denied" in out


def test_explain_checks_answer_why_an_upload_was_denied(clean_env, capsys):
    status, out, _ = run(
        capsys,
        "explain --user alice"
        " --check name/cos:PutObject users/alice/a.jpg"
        " --check name/cos:GetObject users/alice/a.jpg"
        " --check name/cos:PutObject users/alice2/a.jpg"
        " --check name/cos:UploadPart users/alice/big.bin"
        " --check name/cos:ListMultipartUploads users/alice/big.bin",
    )
    assert status == 1  # one check is denied
    lines = out[out.index("checks (") :].splitlines()[1:]
    checks = [line for line in lines if line.split()[0] in ("ALLOW", "DENY")]
    assumed = [line.strip() for line in lines if "(request assumed:" in line]
    assert checks[0].split()[:3] == ["ALLOW", "name/cos:PutObject", "users/alice/a.jpg"]
    assert "numeric_less_than_equal cos:content-length 104857600" in checks[0]
    assert assumed[0] == "(request assumed: cos:content-length=0, qcs:ip=127.0.0.1)"
    assert checks[1].split()[0] == "DENY"
    assert "no allow statement has the action 'name/cos:GetObject'" in checks[1]
    assert checks[2].split()[0] == "DENY"
    assert "no resource covers" in checks[2]
    assert "users/alice/*" in checks[2]
    assert checks[3].split()[0] == "ALLOW"
    assert checks[4].split()[0] == "ALLOW"  # the SDK's resume probe, under R(prefix)


def test_explain_condition_values_and_the_listing_reading(clean_env, capsys):
    base = "explain --user alice --check name/cos:PutObject users/alice/a.jpg"
    status, out, _ = run(capsys, base + " --value cos:content-length=104857601")
    assert status == 1
    assert "cos:content-length" in out[out.index("DENY") :]
    status, out, _ = run(capsys, base + " --value oops")
    assert status == 2
    probe = "explain --user alice --check name/cos:ListMultipartUploads users/alice/x.bin"
    assert run(capsys, probe)[0] == 0
    status, out, _ = run(capsys, probe + " --list-resource bucket")
    assert status == 1  # under the strict reading the resource is the bucket itself


def test_explain_all_allowed_exits_zero(clean_env, capsys):
    command = 'explain --user bob --body \'{"profile":"download"}\''
    status, _, _ = run(capsys, command + " --check name/cos:GetObject users/bob/x")
    assert status == 0


def test_explain_verifies_a_token_like_the_function(clean_env, capsys):
    good = mint_token("carol")
    status, out, _ = run(capsys, "explain --token", good)
    assert status == 0
    assert "carol  (token verified)" in out
    status, out, _ = run(capsys, "explain --token", good + "x")
    assert status == 1
    assert "REFUSED   401 invalid_token" in out
    status, out, _ = run(capsys, "explain --token", mint_token("../bob"))
    assert "REFUSED   403 user_id_rejected" in out


def test_explain_reports_configuration_errors(clean_env, capsys):
    clean_env.setenv("COS_BUCKET", "not-a-bucket")
    status, _, err = run(capsys, "explain --user alice")
    assert status == 2
    assert "bucket" in err


def test_explain_body_from_a_file(clean_env, capsys, tmp_path):
    body = tmp_path / "body.json"
    body.write_text('{"profile": "nope"}')
    status, out, _ = run(capsys, "explain --user alice --body-file", str(body))
    assert status == 1
    assert "400 unknown_profile" in out


# -- invoke and help (real processes) ---------------------------------------------------


def python_m(*argv, env_update=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_ENV}
    env.update(env_update or {})
    return subprocess.run(
        [sys.executable, "-m", "sts_tools", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("event_file", "status"),
    [
        ("apigw-post.json", 200),
        ("apigw-scope.json", 200),
        ("function-url-post.json", 200),
        ("apigw-preflight.json", 204),
    ],
)
def test_invoke_runs_the_ready_events(event_file, status):
    result = python_m("invoke", f"events/{event_file}")
    assert result.returncode == 0, result.stderr
    assert "built-in emulator" in result.stderr
    assert f'"statusCode": {status}' in result.stdout
    if status == 200:
        assert "AKIDEMULATOR" in result.stdout


def test_invoke_fails_for_a_rejected_request(tmp_path):
    bad = tmp_path / "event.json"
    bad.write_text(json.dumps({"httpMethod": "POST", "path": "/sts", "headers": {}}))
    result = python_m("invoke", str(bad))
    assert result.returncode == 1
    assert '"statusCode": 401' in result.stdout


@pytest.mark.parametrize("command", [[], ["token"], ["explain"], ["invoke"], ["serve"]])
def test_every_command_has_help(command):
    result = python_m(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: python -m sts_tools" in result.stdout


def test_explain_with_an_ip_bound_profile(clean_env, capsys, tmp_path):
    import yaml

    from tests.support import shipped_config

    document = shipped_config()
    document["profiles"]["upload"]["bind_ip"] = True
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump(document))
    clean_env.setenv("STS_CONFIG", str(config))
    status, out, _ = run(capsys, "explain --user alice --source-ip 203.0.113.9")
    assert status == 0
    assert '"ip_equal":{"qcs:ip":["203.0.113.9/32"]}' in out
    status, out, _ = run(capsys, "explain --user alice")
    assert status == 1
    assert "REFUSED   400 no_source_ip" in out


def test_try_it_lines_follow_the_token_mode():
    hmac = parse_config(shipped_config(), make_env(STS_JWT_SECRET=DEV_JWT_SECRET))
    dev = local.LocalStack({"STS_JWT_SECRET": DEV_JWT_SECRET}, os.path.join(ROOT, "config.yml"))
    lines = serve.try_it(hmac, "http://127.0.0.1:9000/sts", dev)
    assert "-m sts_tools token alice" in lines[0]
    assert any("Authorization: Bearer eyJ" in line for line in lines)

    key_set = hmac.auth._replace(mode="jwks", jwks_url="https://idp.example.com/jwks.json")
    lines = serve.try_it(hmac._replace(auth=key_set), "http://127.0.0.1:9000/sts", dev)
    assert "identity provider" in lines[0]
    assert "https://idp.example.com/jwks.json" in lines[0]
    assert not any("sts_core token" in line for line in lines)  # a dev token would be refused
