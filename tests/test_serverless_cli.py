"""serverless.yml as the scf CLI resolves it (sts_tools/commands/serverless_cli.py):
${env:X} rules, .env files, the stage and the function's environment."""

from __future__ import annotations

import os
import shutil

import pytest

from sts_tools.commands import serverless_cli
from tests.support import ROOT

ROLE_ENV = {
    "SCF_REGION": "ap-shanghai",
    "SCF_ROLE": "cos-sts-scf-role",
    "COS_BUCKET": "photos-1250000000",
    "COS_REGION": "ap-shanghai",
    "STS_JWT_SECRET": "preflight-secret-0123456789-abcdefghijklmnopqrstuvw",
    "STS_ROLE_ARN": "qcs::cam::uin/100000000001:roleName/cos-sts-vending",
}


def test_exact_unset_variables_are_dropped_and_embedded_ones_become_undefined():
    document = {
        "a": "${env:SET}",
        "b": "${env:UNSET}",
        "c": "fn-${env:UNSET}",
        "d": "${env:SET}-${env:OTHER}",
        "e": ["${env:UNSET}", "x"],
        "f": "cos-sts-${stage}",
        "g": "$DEFAULT",
        "h": None,
        "i": 64,
    }
    resolved = serverless_cli.resolve_variables(document, {"SET": "one", "OTHER": "two"})
    assert resolved == {
        "a": "one",
        "c": "fn-undefined",
        "d": "one-two",
        "e": [None, "x"],
        "f": "cos-sts-${stage}",  # the platform's, not the CLI's
        "g": "$DEFAULT",
        "h": None,
        "i": 64,
    }


def test_an_empty_variable_stays_empty_and_values_are_resolved_again():
    resolved = serverless_cli.resolve_variables(
        {"a": "${env:EMPTY}", "b": "${env:NESTED}"}, {"EMPTY": "", "NESTED": "${env:EMPTY}x"}
    )
    assert resolved == {"a": "", "b": "x"}


@pytest.mark.parametrize("variable", ["${self:custom.x}", "${opt:stage}", "x-${ssm:a}"])
def test_framework_v1_variables_are_refused(variable):
    with pytest.raises(serverless_cli.VariableError):
        serverless_cli.resolve_variables({"a": variable}, {})


def test_dotenv_files_real_environment_first(tmp_path):
    (tmp_path / ".env").write_text(
        "# comment\nA=from-dotenv\nB='quoted # not a comment'\nC=\"two\\nlines\"\nD=x # note\n"
    )
    (tmp_path / ".env.prod").write_text("A=from-stage-file\nE=stage-only\n")
    project = tmp_path / "project"
    project.mkdir()
    env = serverless_cli.dotenv_environment(str(project), {"A": "real"})
    assert env["A"] == "real"
    assert env["B"] == "quoted # not a comment"
    assert env["C"] == "two\nlines"
    assert env["D"] == "x"
    assert "E" not in env
    staged = serverless_cli.dotenv_environment(str(project), {}, "prod")
    assert staged["A"] == "from-stage-file"
    assert staged["E"] == "stage-only"


def test_cli_view_reads_dotenv_beside_serverless_yml(tmp_path):
    shutil.copy(os.path.join(ROOT, "serverless.yml"), tmp_path)
    (tmp_path / ".env").write_text("SCF_REGION=ap-beijing\nSCF_ROLE=from-dotenv\n")
    view = serverless_cli.cli_view(str(tmp_path), {"SCF_ROLE": "real-role"})
    assert view.inputs["region"] == "ap-beijing"
    assert view.inputs["role"] == "real-role"


def test_cli_view_stage_app_and_function_name():
    view = serverless_cli.cli_view(ROOT, ROLE_ENV, dotenv=False)
    assert view.instance["stage"] == "dev"
    assert view.instance["app"] == "cos-sts"
    assert view.function_name == "cos-sts-dev"
    assert (
        serverless_cli.cli_view(ROOT, ROLE_ENV, "prod", dotenv=False).function_name
        == "cos-sts-prod"
    )
    # Variables the CLI drops never reach the function, not even empty.
    assert set(view.function_env) == {
        "COS_BUCKET", "COS_REGION", "STS_JWT_SECRET", "STS_ROLE_ARN", "STS_ENDPOINT",
    }  # fmt: skip
