"""`make deploy`: the CLI's variable resolution, the preflight's refusals and the
exact commands it runs (the scf CLI itself is not installable here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from sts_tools import stack as local
from sts_tools.commands import deploy, serverless_cli
from sts_tools.commands.package import find_interpreter
from sts_tools.emulators import sts as emu
from tests.support import ROOT
from tests.support.tools import require_scf_python

SECRET = "preflight-secret-0123456789-abcdefghijklmnopqrstuvw"  # 51 bytes
ROLE_ARN = "qcs::cam::uin/100000000001:roleName/cos-sts-vending"
ROLE_ENV = {
    "SCF_REGION": "ap-shanghai",
    "SCF_ROLE": "cos-sts-scf-role",
    "COS_BUCKET": "photos-1250000000",
    "COS_REGION": "ap-shanghai",
    "STS_JWT_SECRET": SECRET,
    "STS_ROLE_ARN": ROLE_ARN,
}
KEY_ENV = {
    "SCF_REGION": "ap-shanghai",
    "COS_BUCKET": "photos-1250000000",
    "COS_REGION": "ap-shanghai",
    "STS_JWT_SECRET": SECRET,
    "STS_SECRET_ID": "AKIDpreflight00000000000000000",
    "STS_SECRET_KEY": "preflight-key",
}
JWKS_ENV = {
    **{k: v for k, v in KEY_ENV.items() if k != "STS_JWT_SECRET"},
    "STS_JWKS_URL": "https://login.example.com/.well-known/jwks.json",
    "STS_JWT_ISSUER": "https://login.example.com/",
    "STS_JWT_AUDIENCE": "photos",
}


def check(env, stage=None, root=ROOT):
    return deploy.preflight(env, stage, root, check_cli=False, dotenv=False)


def refused(env, stage=None, root=ROOT):
    return [p.variable for p in check(env, stage, root).problems]


def no_dotenv(monkeypatch):
    """The process's environment only: no .env file from around the checkout."""
    monkeypatch.setattr(serverless_cli, "dotenv_environment", lambda root, env, stage=None: env)


def without(env, *names):
    return {k: v for k, v in env.items() if k not in names}


# -- the preflight ----------------------------------------------------------------------


@pytest.mark.parametrize("env", [ROLE_ENV, KEY_ENV, JWKS_ENV], ids=["role", "keys", "key-set"])
def test_a_complete_environment_passes(env):
    result = check(env, "prod")
    assert result.ok, result.problems
    assert result.stage == "prod"
    summary = dict(result.summary)
    assert summary["function"] == "cos-sts-prod in ap-shanghai"
    assert summary["triggers"] == "http, cos, cos, apigw"
    assert SECRET not in repr(result.summary)


def test_hs256_without_issuer_and_audience_is_warned_about():
    """Any JWT signed with the shared secret is then a login (another service's tokens
    too): the preflight passes, but says so."""
    warning = [n for n in check(KEY_ENV, "prod").notes if "without iss and aud" in n]
    assert warning
    assert "STS_JWT_ISSUER" in warning[0]
    pinned = {**KEY_ENV, "STS_JWT_ISSUER": "https://app.example.com", "STS_JWT_AUDIENCE": "cos"}
    assert not [n for n in check(pinned, "prod").notes if "warning" in n]


@pytest.mark.parametrize(
    ("change", "variable", "words"),
    [
        (lambda e: without(e, "SCF_REGION"), "SCF_REGION", "ap-guangzhou"),
        (lambda e: {**e, "SCF_REGION": "Shanghai"}, "SCF_REGION", "region"),
        (lambda e: without(e, "COS_BUCKET"), "COS_BUCKET", "not set"),
        (lambda e: {**e, "COS_BUCKET": "photos"}, "COS_BUCKET", "bucket name"),
        (lambda e: {**e, "COS_BUCKET": local.EXAMPLE_BUCKET}, "COS_BUCKET", "example"),
        (lambda e: without(e, "COS_REGION"), "COS_REGION", "not set"),
        (lambda e: {**e, "COS_REGION": "gz"}, "COS_REGION", "COS region"),
        (lambda e: without(e, "STS_JWT_SECRET"), "STS_JWT_SECRET", "not set"),
        (lambda e: {**e, "STS_JWT_SECRET": local.DEV_JWT_SECRET}, "STS_JWT_SECRET", "development"),
        (lambda e: {**e, "STS_JWT_SECRET": "x" * 31}, "STS_JWT_SECRET", "at least 32"),
        (lambda e: without(e, "SCF_ROLE"), "SCF_ROLE", "execution role"),
        (lambda e: {**e, "SCF_ROLE": "bad role"}, "SCF_ROLE", "role name"),
        (lambda e: {**e, "STS_ROLE_ARN": "cos-sts-vending"}, "STS_ROLE_ARN", "qcs::cam"),
        (lambda e: without(e, "STS_ROLE_ARN", "SCF_ROLE"), "STS_ROLE_ARN", "no key"),
        (lambda e: {**e, "STS_JWT_ISSUER": ""}, "STS_JWT_ISSUER", "empty"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_refusals_name_the_variable(change, variable, words):
    result = check(change(ROLE_ENV))
    assert variable in [p.variable for p in result.problems], result.problems
    (problem,) = [p for p in result.problems if p.variable == variable]
    assert words in problem.message


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        (lambda e: without(e, "STS_SECRET_KEY"), "STS_SECRET_KEY"),
        (lambda e: without(e, "STS_SECRET_ID"), "STS_SECRET_ID"),
        (lambda e: {**e, "STS_SECRET_ID": emu.DEV_SECRET_ID}, "STS_SECRET_ID"),
        (lambda e: {**e, "STS_SECRET_ID": "not-a-key"}, "STS_SECRET_ID"),
    ],
)
def test_permanent_key_refusals(change, variable):
    assert variable in refused(change(KEY_ENV))


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        (lambda e: {**e, "STS_JWKS_URL": "http://login.example.com/jwks"}, "STS_JWKS_URL"),
        (lambda e: {**e, "STS_JWKS_URL": "https://localhost/jwks"}, "STS_JWKS_URL"),
        (lambda e: without(e, "STS_JWT_ISSUER"), "STS_JWT_ISSUER"),
        (lambda e: without(e, "STS_JWT_AUDIENCE"), "STS_JWT_AUDIENCE"),
    ],
)
def test_key_set_refusals(change, variable):
    assert variable in refused(change(JWKS_ENV))


def test_the_secret_length_follows_the_configured_algorithm(tmp_path):
    shutil.copy(os.path.join(ROOT, "serverless.yml"), tmp_path)
    with open(os.path.join(ROOT, "config.yml"), encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    document["auth"]["algorithms"] = ["HS512"]
    (tmp_path / "config.yml").write_text(yaml.safe_dump(document))
    result = check(ROLE_ENV, root=str(tmp_path))  # a 51-byte secret
    assert [p.variable for p in result.problems] == ["STS_JWT_SECRET"]
    assert "HS512 needs at least 64" in result.problems[0].message


def test_env_example_names_every_variable_and_passes_once_filled_in(tmp_path, monkeypatch):
    with open(os.path.join(ROOT, ".env.example"), encoding="utf-8") as handle:
        text = handle.read()
    with open(os.path.join(ROOT, "serverless.yml"), encoding="utf-8") as handle:
        deployed = "".join(line for line in handle if not line.lstrip().startswith("#"))
    for name in set(re.findall(r"\$\{env:([A-Z_]+)\}", deployed)) | {"SCF_VPC_ID"}:
        assert re.search(rf"^#? ?{name}=", text, re.M), name
    for name in ("serverless.yml", "config.yml"):
        shutil.copy(os.path.join(ROOT, name), tmp_path)
    filled = text.replace("STS_JWT_SECRET=\n", f"STS_JWT_SECRET={SECRET}\n").replace(
        "COS_BUCKET=\n", "COS_BUCKET=photos-1250000000\n"
    )
    (tmp_path / ".env").write_text(filled)
    monkeypatch.chdir(tmp_path)
    result = deploy.preflight({}, None, str(tmp_path), check_cli=False, dotenv=True)
    assert result.problems == []
    (tmp_path / ".env").write_text(text)  # as copied, before filling in
    unfilled = deploy.preflight({}, None, str(tmp_path), check_cli=False, dotenv=True)
    assert sorted(p.variable for p in unfilled.problems) == ["COS_BUCKET", "STS_JWT_SECRET"]


REDIS_ENV = {**ROLE_ENV, "STS_REDIS_URL": "redis://:pw@10.0.0.5:6379/0",
             "STS_CACHE_KEY": "preflight-cache-key-0123456789abcdefghijkl"}  # fmt: skip


def test_redis_without_the_function_in_a_vpc_is_refused():
    result = check(REDIS_ENV)  # the shipped serverless.yml: vpcConfig commented out
    assert [p.variable for p in result.problems] == ["STS_REDIS_URL"]
    assert "uncomment vpcConfig" in result.problems[0].message
    assert "pw" not in result.problems[0].message


def test_redis_with_the_vpc_config_uncommented_passes(tmp_path):
    with open(os.path.join(ROOT, "serverless.yml"), encoding="utf-8") as handle:
        text = handle.read()
    for line in ("vpcConfig:", "  vpcId: ${env:SCF_VPC_ID}", "  subnetId: ${env:SCF_SUBNET_ID}"):
        text = text.replace(f"  # {line}\n", f"  {line}\n")
    assert "  vpcConfig:" in text
    (tmp_path / "serverless.yml").write_text(text)
    shutil.copy(os.path.join(ROOT, "config.yml"), tmp_path)
    env = {**REDIS_ENV, "SCF_VPC_ID": "vpc-abc123", "SCF_SUBNET_ID": "subnet-abc123"}
    assert refused(env, root=str(tmp_path)) == []
    assert check(env, root=str(tmp_path)).redis
    assert refused(without(env, "SCF_SUBNET_ID"), root=str(tmp_path)) == ["STS_REDIS_URL"]


def test_the_function_config_is_validated_with_the_deployed_variables(tmp_path):
    shutil.copy(os.path.join(ROOT, "serverless.yml"), tmp_path)
    with open(os.path.join(ROOT, "config.yml"), encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    document["cors"]["allowed_origins"] = ["app.example.com"]  # no scheme
    (tmp_path / "config.yml").write_text(yaml.safe_dump(document))
    assert refused(ROLE_ENV, root=str(tmp_path)) == ["cors.allowed_origins[0]"]


def test_stage_default_override_and_shape():
    assert check(ROLE_ENV).stage == "dev"
    assert check({**ROLE_ENV, "STAGE": "staging"}).stage == "staging"
    assert check({**ROLE_ENV, "STAGE": "staging"}, "prod").stage == "prod"  # --stage wins
    assert "STAGE" in refused(ROLE_ENV, "Prod_1")


def test_a_missing_scf_cli_is_refused_with_how_to_install(monkeypatch):
    monkeypatch.setattr(deploy.shutil, "which", lambda name: None)
    result = deploy.preflight(ROLE_ENV, dotenv=False)
    (problem,) = result.problems
    assert problem.variable == "scf"
    assert deploy.SCF_INSTALL in problem.message


# -- the commands -----------------------------------------------------------------------


def test_the_exact_commands():
    assert deploy.package_command(False) == ["make", "package"]
    assert deploy.package_command(True) == ["make", "package", "JWKS=1"]
    assert deploy.package_command(False, redis=True) == ["make", "package", "REDIS=1"]
    assert deploy.deploy_command("prod") == ["scf", "deploy", "--stage", "prod", "--noValidation"]


def test_dry_run_prints_and_runs_nothing(monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(deploy.subprocess, "run", lambda *a, **k: ran.append(a))
    monkeypatch.setattr(
        serverless_cli, "dotenv_environment", lambda root, env, stage=None: dict(env)
    )
    assert deploy.run_deploy(JWKS_ENV, "prod", dry_run=True) == 0
    out = capsys.readouterr().out
    assert ran == []
    assert "would run (in the project folder):\n  make package JWKS=1\n" in out
    assert "  scf deploy --stage prod --noValidation\n" in out


def test_a_real_run_builds_then_deploys_and_stops_at_a_failure(monkeypatch, capsys):
    ran = []

    class Done:
        def __init__(self, code):
            self.returncode = code

    codes = iter([0, 0])
    monkeypatch.setattr(
        deploy.subprocess,
        "run",
        lambda cmd, **kw: ran.append((cmd, kw["cwd"])) or Done(next(codes)),
    )
    monkeypatch.setattr(deploy.shutil, "which", lambda name: "/usr/local/bin/scf")
    monkeypatch.setattr(
        serverless_cli, "dotenv_environment", lambda root, env, stage=None: dict(env)
    )
    assert deploy.run_deploy(ROLE_ENV, None, dry_run=False) == 0
    assert ran == [
        (["make", "package"], ROOT),
        (["scf", "deploy", "--stage", "dev", "--noValidation"], ROOT),
    ]
    ran.clear()
    codes = iter([2])
    assert deploy.run_deploy(ROLE_ENV, None, dry_run=False) == 2
    assert ran == [(["make", "package"], ROOT)]  # no deploy after a failed build


def test_a_refused_preflight_runs_nothing(monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(deploy.subprocess, "run", lambda *a, **k: ran.append(a))
    monkeypatch.setattr(
        serverless_cli, "dotenv_environment", lambda root, env, stage=None: dict(env)
    )
    assert deploy.run_deploy(without(ROLE_ENV, "SCF_REGION"), None, dry_run=False) == 2
    assert ran == []
    err = capsys.readouterr().err
    assert "SCF_REGION: not set" in err
    assert "Nothing was built or deployed" in err


@pytest.mark.skipif(
    os.path.exists(os.path.join(ROOT, ".env")), reason="a developer .env would change the result"
)
def test_make_deploy_dry_run_end_to_end():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STS_", "COS_", "SCF_"))}
    clean.pop("STAGE", None)
    result = subprocess.run(
        ["make", "--no-print-directory", "deploy", "DRY_RUN=1", "STAGE=prod",
         f"BIN={os.path.dirname(sys.executable)}"],
        cwd=ROOT, env={**clean, **ROLE_ENV}, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "--stage prod --dry-run" in result.stdout
    assert "scf deploy --stage prod --noValidation" in result.stdout
    assert SECRET not in result.stdout + result.stderr
    failed = subprocess.run(
        ["make", "--no-print-directory", "deploy", "DRY_RUN=1",
         f"BIN={os.path.dirname(sys.executable)}"],
        cwd=ROOT, env={**clean, **without(ROLE_ENV, "STS_JWT_SECRET")}, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert failed.returncode != 0
    assert "STS_JWT_SECRET: not set" in failed.stderr


@pytest.mark.parametrize("command", ["deploy", "console-event", "check-deployment"])
def test_the_deployment_commands_have_help(command):
    result = subprocess.run(
        [sys.executable, "-m", "sts_tools", command, "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"usage: python -m sts_tools {command}" in result.stdout


def test_the_development_python_floor_is_stated_before_anything_is_installed():
    """make's first step: an interpreter below the floor gets one clear message."""
    script = os.path.join(ROOT, "scripts", "check_python.py")
    ok = subprocess.run([sys.executable, script], capture_output=True, text=True, check=False)
    assert ok.returncode == 0
    old = find_interpreter("3.10") or find_interpreter("3.9")
    require_scf_python(old)
    refused = subprocess.run([old, script], capture_output=True, text=True, check=False)
    assert refused.returncode == 1
    assert "the development tools need Python 3.11 or newer" in refused.stderr
    assert "runs on SCF's Python 3.9 and 3.10" in refused.stderr
