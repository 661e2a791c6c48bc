"""serverless.yml through Tencent's real deploy code, offline.

tests/deploy/harness.js loads tencent-component-toolkit (pinned with a committed
lockfile; `make test` runs `npm ci` there), answers its cloud calls in-process at
its single network choke point (Capi.prototype.request) and prints every call
as JSON. The inputs are serverless.yml resolved as the scf CLI resolves it
(sts_tools/commands/serverless_cli.py `cli_view`, the same code `make deploy`'s preflight
uses). Facts: docs/tencent/scf.md §7.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Optional

import pytest

from sts_tools.commands import deploy, serverless_cli
from tests.support import ROOT, shipped_config
from tests.support.tools import require, require_executable

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow

HARNESS_DIR = os.path.join(ROOT, "tests", "deploy")
TOOLKIT_VERSION = "2.27.6"
JWT_SECRET = "deploy-test-secret-0123456789-abcdefghijklmnopqrstuv"
ROLE_ARN = "qcs::cam::uin/100000000001:roleName/cos-sts-vending"
BASE_ENV = {
    "SCF_REGION": "ap-shanghai",
    "COS_BUCKET": "photos-1250000000",
    "COS_REGION": "ap-shanghai",
    "STS_JWT_SECRET": JWT_SECRET,
}
ROLE_ENV = {**BASE_ENV, "SCF_ROLE": "cos-sts-scf-role", "STS_ROLE_ARN": ROLE_ARN}
KEY_ENV = {
    **BASE_ENV,
    "STS_SECRET_ID": "AKIDdeploytest0000000000000000",
    "STS_SECRET_KEY": "deploy-test-key",
}
KEY_ENV_NO_SECRET = {k: v for k, v in KEY_ENV.items() if k != "STS_JWT_SECRET"}
REFUSED = {"Code": "UnauthorizedOperation", "Message": "API Gateway is not open to this account"}


@pytest.fixture(scope="module")
def node():
    how = "apt-get install nodejs npm, then: npm ci --prefix tests/deploy (make test does it)"
    executable = require_executable("node", how)
    require(
        os.path.isdir(os.path.join(HARNESS_DIR, "node_modules", "tencent-component-toolkit")),
        "tests/deploy/node_modules (tencent-component-toolkit)",
        "npm ci --prefix tests/deploy   (make test runs it when the lockfile changes)",
    )
    return executable


def run_harness(
    node: str,
    env: dict[str, str],
    *,
    stage: Optional[str] = None,
    refuse: Optional[dict[str, Any]] = None,
    deploys: int = 2,
    edit=None,
    root: str = ROOT,
) -> dict[str, Any]:
    view = serverless_cli.cli_view(root, env, stage, dotenv=False)
    inputs = edit(view.inputs) if edit else view.inputs
    request = {"instance": view.instance, "inputs": inputs, "deploys": deploys}
    request["refuse"] = refuse or {}
    # The CLI's environment must not leak into the harness: only PATH.
    completed = subprocess.run(
        [node, "harness.js"],
        cwd=HARNESS_DIR,
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": HARNESS_DIR},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    result["view"] = view
    assert result["network"] == [], "the deploy code tried to reach the network"
    assert result["unknownActions"] == [], "the fake cloud was asked something it does not know"
    return result


def calls(result: dict[str, Any], deploy_index: int, action: str) -> list[dict[str, Any]]:
    return [c for c in result["deploys"][deploy_index]["calls"] if c["action"] == action]


def one(result: dict[str, Any], deploy_index: int, action: str) -> dict[str, str]:
    (call,) = calls(result, deploy_index, action)
    return call["params"]


def environment(params: dict[str, str]) -> dict[str, str]:
    """Environment.Variables.N.Key/Value back to a mapping."""
    keys = {
        k.split(".")[2]: v
        for k, v in params.items()
        if k.startswith("Environment.") and k.endswith(".Key")
    }
    return {name: params[f"Environment.Variables.{n}.Value"] for n, name in keys.items()}


@pytest.fixture(scope="module")
def role_deploy(node):
    return run_harness(node, ROLE_ENV, stage="prod")


def test_the_pinned_toolkit_is_what_ran(role_deploy):
    assert role_deploy["versions"]["toolkit"] == TOOLKIT_VERSION
    with open(os.path.join(HARNESS_DIR, "package.json"), encoding="utf-8") as handle:
        assert json.load(handle)["dependencies"] == {"tencent-component-toolkit": TOOLKIT_VERSION}


def test_the_lockfile_names_no_tarball_host():
    with open(os.path.join(HARNESS_DIR, "package-lock.json"), encoding="utf-8") as handle:
        lock = json.load(handle)
    assert lock["lockfileVersion"] == 3
    packages = lock["packages"]
    assert packages["node_modules/tencent-component-toolkit"]["version"] == TOOLKIT_VERSION
    for name, entry in packages.items():
        assert "resolved" not in entry, name  # npm ci fetches by name + integrity
        if name:
            assert entry["integrity"].startswith("sha512-"), name


def test_function_configuration(role_deploy):
    first = role_deploy["deploys"][0]
    assert first["error"] is None
    assert first["regionDefaulted"] is False
    params = one(role_deploy, 0, "CreateFunction")
    assert params["FunctionName"] == "cos-sts-prod"
    assert params["Namespace"] == "default"
    assert params["Type"] == "Event"
    assert params["Runtime"] == "Python3.9"
    assert params["Handler"] == "index.main_handler"
    assert params["MemorySize"] == "64"
    assert params["Timeout"] == "5"
    assert params["InitTimeout"] == "10"
    assert params["Role"] == "cos-sts-scf-role"
    assert params["PublicNetConfig.PublicNetStatus"] == "ENABLE"
    assert params["Code.CosBucketName"] == "sls-cloudfunction-ap-shanghai-code"
    # The function's environment: exactly the variables that are set, nothing else.
    assert environment(params) == {
        "COS_BUCKET": "photos-1250000000",
        "COS_REGION": "ap-shanghai",
        "STS_JWT_SECRET": JWT_SECRET,
        "STS_ROLE_ARN": ROLE_ARN,
        "STS_ENDPOINT": "https://sts.internal.tencentcloudapi.com",
    }


def test_every_call_goes_to_the_chosen_region(role_deploy):
    for deployed in role_deploy["deploys"]:
        assert deployed["region"] == "ap-shanghai"
        assert {c["region"] for c in deployed["calls"]} == {"ap-shanghai"}


@pytest.mark.parametrize(
    "env",
    [ROLE_ENV, KEY_ENV, {**KEY_ENV_NO_SECRET, "STS_JWKS_URL": "https://idp.example.com/jwks",
                         "STS_JWT_ISSUER": "https://idp.example.com/",
                         "STS_JWT_AUDIENCE": "photos"}],
    ids=["assume-role", "federation-token", "key-set"],
)  # fmt: skip
def test_no_value_is_ever_the_text_undefined(node, env):
    result = run_harness(node, env)
    expected = set(serverless_cli.cli_view(ROOT, env, dotenv=False).function_env)
    for index, deployed in enumerate(result["deploys"]):
        assert deployed["error"] is None
        for call in deployed["calls"]:
            for name, value in call["params"].items():
                assert "undefined" not in value, (call["action"], name)
                assert "${" not in value, (call["action"], name)
        action = "CreateFunction" if index == 0 else "UpdateFunctionConfiguration"
        variables = environment(one(result, index, action))
        assert set(variables) == expected
        assert all(variables.values()), variables  # unset variables are absent, never empty
    if "STS_ROLE_ARN" not in env:
        # No execution role asked for, none sent (GetFederationToken signs with its own key).
        assert "Role" not in one(result, 0, "CreateFunction")


def triggers(result, index, action, kind):
    return [c["params"] for c in calls(result, index, action) if c["params"]["Type"] == kind]


def test_function_url_trigger(role_deploy):
    (trigger,) = triggers(role_deploy, 0, "CreateTrigger", "http")
    assert trigger["FunctionName"] == "cos-sts-prod"
    assert trigger["Qualifier"] == "$DEFAULT"
    assert trigger["Enable"] == "OPEN"
    desc = json.loads(trigger["TriggerDesc"])
    assert desc == {
        "AuthType": "NONE",
        "NetConfig": {"EnableIntranet": False, "EnableExtranet": True},
    }


def test_cos_triggers_per_declared_root(role_deploy):
    """Created and removed objects under users/ (config.yml's root), on the bucket
    (docs/uploads.md)."""
    created = triggers(role_deploy, 0, "CreateTrigger", "cos")
    descs = sorted((json.loads(t["TriggerDesc"])["event"], json.loads(t["TriggerDesc"])["filter"])
                   for t in created)  # fmt: skip
    assert descs == [("cos:ObjectCreated:*", {"Prefix": "users/", "Suffix": ""}),
                     ("cos:ObjectRemove:*", {"Prefix": "users/", "Suffix": ""})]  # fmt: skip
    for trigger in created:
        assert trigger["TriggerName"] == "photos-1250000000.cos.ap-shanghai.myqcloud.com"
        assert trigger["Enable"] == "OPEN"


def test_api_gateway_trigger(role_deploy):
    service = one(role_deploy, 0, "CreateService")
    assert service["ServiceName"] == "cos_sts"
    assert service["Protocol"] == "https"
    assert service["NetTypes.0"] == "OUTER"
    apis = calls(role_deploy, 0, "CreateApi")
    assert sorted(a["params"]["RequestConfig.Method"] for a in apis) == ["OPTIONS", "POST"]
    path = shipped_config()["path"]
    names = set()
    for api in apis:
        params = api["params"]
        names.add(params["ApiName"])
        assert params["RequestConfig.Path"] == path
        assert params["ServiceType"] == "SCF"
        assert params["ServiceScfFunctionName"] == "cos-sts-prod"
        assert params["ServiceScfFunctionQualifier"] == "$DEFAULT"
        assert (
            params["ServiceScfIsIntegratedResponse"] == "true"
        )  # the component's default is false
        assert params["AuthType"] == "NONE"  # the function checks tokens itself
        assert int(params["ServiceTimeout"]) > int(one(role_deploy, 0, "CreateFunction")["Timeout"])
    assert len(names) == 2  # not both the default "index"
    assert one(role_deploy, 0, "ReleaseService")["EnvironmentName"] == "release"


def test_redeploy_updates_in_place(role_deploy):
    second = role_deploy["deploys"][1]
    assert second["error"] is None
    actions = [c["action"] for c in second["calls"]]
    for absent in (
        "CreateFunction",
        "CreateService",
        "CreateApi",
        "CreateTrigger",
        "DeleteTrigger",
    ):
        assert absent not in actions, absent
    code = one(role_deploy, 1, "UpdateFunctionCode")
    assert code["Handler"] == "index.main_handler"
    assert code["Code.CosBucketName"] == "sls-cloudfunction-ap-shanghai-code"
    configuration = one(role_deploy, 1, "UpdateFunctionConfiguration")
    created = one(role_deploy, 0, "CreateFunction")
    for key in ("MemorySize", "Timeout", "InitTimeout", "Role"):
        assert configuration[key] == created[key], key
    assert environment(configuration) == environment(created)
    # Same service, same two APIs, modified; the URL trigger updated, not duplicated.
    outputs = role_deploy["deploys"][0]["outputs"]["triggers"]
    (service_id,) = [t["serviceId"] for t in outputs if "serviceId" in t]
    modified = calls(role_deploy, 1, "ModifyApi")
    assert len(modified) == 2
    assert {m["params"]["ServiceId"] for m in modified} == {service_id}
    (url,) = triggers(role_deploy, 1, "UpdateTrigger", "http")
    assert url["FunctionName"] == "cos-sts-prod"


@pytest.mark.parametrize("refused_action", ["CreateService", "CreateApi"])
def test_the_function_url_is_created_even_when_api_gateway_refuses(node, refused_action):
    refuse = {f"apigateway:{refused_action}": REFUSED}
    result = run_harness(node, ROLE_ENV, refuse=refuse)
    first = result["deploys"][0]
    # The deploy still reports the refusal (nothing hides it) ...
    assert first["error"]["code"] == "UnauthorizedOperation"
    assert "API Gateway" in first["error"]["message"]
    # ... but the function and its URL exist.
    assert one(result, 0, "CreateFunction")["FunctionName"] == "cos-sts-dev"
    (url, *_) = calls(result, 0, "CreateTrigger")  # the URL first, then the COS triggers
    assert url["params"]["Type"] == "http"
    actions = [c["action"] for c in first["calls"]]
    assert actions.index("CreateTrigger") < actions.index(refused_action)
    # A second attempt keeps the URL (updated, not deleted) and fails the same way.
    assert result["deploys"][1]["error"]["code"] == "UnauthorizedOperation"
    assert len(triggers(result, 1, "UpdateTrigger", "http")) == 1
    assert not calls(result, 1, "DeleteTrigger")


def test_with_api_gateway_listed_first_a_refusal_loses_the_url(node):
    """Why serverless.yml lists the Function URL first: the toolkit deploys
    triggers in order and stops at the first failure."""

    def apigw_first(inputs):
        events = sorted(inputs["events"], key=lambda e: "apigw" not in e)
        return {**inputs, "events": events}

    result = run_harness(
        node, ROLE_ENV, refuse={"apigateway:CreateService": REFUSED}, deploys=1, edit=apigw_first
    )
    assert result["deploys"][0]["error"]["code"] == "UnauthorizedOperation"
    assert calls(result, 0, "CreateTrigger") == []


def test_default_stage_and_its_override(node):
    default = run_harness(node, ROLE_ENV, deploys=1)
    assert default["view"].instance["stage"] == "dev"
    assert one(default, 0, "CreateFunction")["FunctionName"] == "cos-sts-dev"
    # A STAGE variable alone does not change it: the override is the CLI's --stage
    # (what `make deploy STAGE=...` passes).
    assert (
        serverless_cli.cli_view(ROOT, {**ROLE_ENV, "STAGE": "prod"}, dotenv=False).instance["stage"]
        == "dev"
    )
    assert (
        deploy.preflight({**ROLE_ENV, "STAGE": "prod"}, check_cli=False, dotenv=False).stage
        == "prod"
    )
    assert deploy.deploy_command("prod")[:4] == ["scf", "deploy", "--stage", "prod"]
    staged = run_harness(node, ROLE_ENV, stage="staging", deploys=1)
    assert one(staged, 0, "CreateFunction")["FunctionName"] == "cos-sts-staging"


def test_the_old_stage_line_left_the_platform_without_a_stage(tmp_path):
    """`stage: ${env:STAGE}` with STAGE unset: the CLI drops it (the platform then
    answers only 'stageName ... 是必填项'). The shipped file has a default."""
    with open(os.path.join(ROOT, "serverless.yml"), encoding="utf-8") as handle:
        text = handle.read()
    assert "\nstage: dev" in text
    old = text.replace("\nstage: dev", "\nstage: ${env:STAGE}")
    (tmp_path / "serverless.yml").write_text(old)
    view = serverless_cli.cli_view(
        ROOT, ROLE_ENV, path=str(tmp_path / "serverless.yml"), dotenv=False
    )
    assert view.missing_platform_fields == ["stage"]


def test_no_silent_default_region(node):
    env = {k: v for k, v in ROLE_ENV.items() if k != "SCF_REGION"}
    # What the real code does when the CLI drops `region`: Guangzhou, silently.
    result = run_harness(node, env, deploys=1)
    assert "region" not in result["view"].inputs
    assert result["deploys"][0]["regionDefaulted"] is True
    assert {c["region"] for c in result["deploys"][0]["calls"]} == {"ap-guangzhou"}
    # So `make deploy` refuses before anything runs, naming the variable.
    checked = deploy.preflight(env, check_cli=False, dotenv=False)
    assert [p.variable for p in checked.problems] == ["SCF_REGION"]
    assert "ap-guangzhou" in checked.problems[0].message


def test_the_preflight_passes_what_the_deploy_code_accepts(node):
    checked = deploy.preflight(ROLE_ENV, "prod", check_cli=False, dotenv=False)
    assert checked.ok, checked.problems
    result = run_harness(node, ROLE_ENV, stage="prod", deploys=1)
    assert result["deploys"][0]["error"] is None


def test_the_installed_tree_matches_the_lockfile(node):
    """`npm ci` from the committed lockfile is what installed node_modules."""
    require_executable("npm", "apt-get install npm (or install Node.js with npm)")
    completed = subprocess.run(
        ["npm", "ls", "--omit=dev", "--json", "tencent-component-toolkit"],
        cwd=HARNESS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    tree = json.loads(completed.stdout)
    assert tree["dependencies"]["tencent-component-toolkit"]["version"] == TOOLKIT_VERSION
