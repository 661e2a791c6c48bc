"""`python -m sts_tools console-event`: what it prints is a test event the
deployed handler accepts (fed here to index.main_handler, as the console does)."""

from __future__ import annotations

import json
import shutil
import time

import jwt
import pytest

import index
from sts_core.scf_http_event import API_GATEWAY, FUNCTION_URL, parse_event
from sts_tools import stack as local
from sts_tools.commands import cli, serverless_cli
from sts_tools.support import config_view
from tests.support import CONTRACT_ENV, body_of, context, make_env, make_service

DEPLOYED_SECRET = "deployed-secret-0123456789-abcdefghijklmnopqrstuvwx"


@pytest.fixture
def shell(monkeypatch):
    """The deployer's shell: the deployed secret exported, nothing else."""
    for name in (*CONTRACT_ENV, "STS_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STS_JWT_SECRET", DEPLOYED_SECRET)
    # Not a .env from around the checkout (test_the_deployed_secret_is_read_from_dotenv).
    monkeypatch.setattr(serverless_cli, "dotenv_environment", lambda root, env, stage=None: env)
    return monkeypatch


@pytest.fixture
def deployed(monkeypatch, emulator):
    """index as SCF would run it with the deployed secret (STS: the emulator)."""
    env = make_env(emulator.endpoint, STS_JWT_SECRET=DEPLOYED_SECRET)
    monkeypatch.setattr(index, "SERVICE", make_service(env))
    return emulator


def console(capsys, *argv):
    status = cli.main(["console-event", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_printed_event_gets_keys_from_the_handler(shell, deployed, capsys):
    status, out, err = console(capsys, "--user", "bob", "--profile", "download")
    assert status == 0, err
    event = json.loads(out)  # stdout is exactly the JSON to paste
    assert parse_event(event).kind == API_GATEWAY
    assert event["requestContext"]["requestId"].startswith("console-")
    response = index.main_handler(event, context())
    assert response["statusCode"] == 200, response["body"]
    body = body_of(response)
    assert body["prefix"] == "users/bob/"
    assert body["profile"] == "download"
    assert body["credentials"]["tmpSecretId"].startswith("AKIDEMULATOR")
    assert "valid until" in err
    assert "SCF console" in err


def test_the_token_is_short_lived_and_signed_with_the_deployed_secret(shell, capsys):
    _, out, _ = console(capsys, "--ttl", "300")
    token = json.loads(out)["headers"]["authorization"].split()[1]
    claims = jwt.decode(token, DEPLOYED_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert 290 <= claims["exp"] - time.time() <= 301
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, local.DEV_JWT_SECRET, algorithms=["HS256"])


def test_a_function_url_event(shell, deployed, capsys):
    _, out, _ = console(capsys, "--function-url", "--origin", "https://app.example.com")
    event = json.loads(out)
    assert "requestContext" not in event
    request = parse_event(event)
    assert request.kind == FUNCTION_URL
    assert request.source_ip == "203.0.113.10"
    assert int(event["headers"]["content-length"]) == len(event["body"])
    response = index.main_handler(event, context())
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["prefix"] == "users/alice/"


def test_a_wrong_secret_gets_the_401_the_console_would_show(shell, deployed, capsys):
    shell.setenv("STS_JWT_SECRET", "not-the-deployed-secret-0123456789abcdefgh")
    _, out, _ = console(capsys)
    response = index.main_handler(json.loads(out), context())
    assert response["statusCode"] == 401


def test_refuses_without_a_secret_or_with_the_development_one(shell, capsys):
    shell.delenv("STS_JWT_SECRET")
    status, out, err = console(capsys)
    assert (status, out) == (2, "")
    assert "STS_JWT_SECRET is not set" in err
    shell.setenv("STS_JWT_SECRET", local.DEV_JWT_SECRET)
    status, out, err = console(capsys)
    assert (status, out) == (2, "")
    assert "development secret" in err
    assert local.DEV_JWT_SECRET not in err


def test_local_allows_the_development_secret(shell, capsys):
    shell.delenv("STS_JWT_SECRET")
    status, out, _ = console(capsys, "--local")
    assert status == 0
    token = json.loads(out)["headers"]["authorization"].split()[1]
    assert jwt.decode(token, local.DEV_JWT_SECRET, algorithms=["HS256"])["sub"] == "alice"


def test_key_set_deployments_take_a_token_from_the_provider(shell, capsys):
    shell.setenv("STS_JWKS_URL", "https://login.example.com/jwks")
    status, _, err = console(capsys)
    assert status == 2
    assert "--token" in err
    status, out, _ = console(capsys, "--token", "eyJ.provider.token")
    assert status == 0
    assert json.loads(out)["headers"]["authorization"] == "Bearer eyJ.provider.token"


def test_the_configured_path_is_used(shell, capsys, tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("path: /keys\n")
    shell.setenv("STS_CONFIG", str(config))
    _, out, _ = console(capsys)
    event = json.loads(out)
    assert event["path"] == event["requestContext"]["path"] == "/keys"


def test_the_deployed_secret_is_read_from_dotenv(monkeypatch, capsys, tmp_path):
    """As make deploy and make cam-policy do: the shell's variables, else .env."""
    for name in (*CONTRACT_ENV, "STS_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    shutil.copy(config_view.config_path({}), tmp_path / "config.yml")
    (tmp_path / ".env").write_text(f"STS_JWT_SECRET={DEPLOYED_SECRET}\n")
    monkeypatch.setattr(config_view, "PROJECT_ROOT", str(tmp_path))
    status, out, err = console(capsys, "--user", "carol")
    assert status == 0, err
    bearer = json.loads(out)["headers"]["authorization"].split()[1]
    assert (
        jwt.decode(
            bearer,
            DEPLOYED_SECRET,
            algorithms=["HS256"],
            options={"verify_aud": False, "verify_iss": False},
        )["sub"]
        == "carol"
    )
