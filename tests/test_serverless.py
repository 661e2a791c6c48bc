"""serverless.yml against the scf component's documented inputs (reference
docs/tencent/scf.md §6-§6.4) and against this function's own contract."""

from __future__ import annotations

import os
import re

import pytest
import yaml

import index
from tests.support import ROOT, shipped_config

# Documented inputs of the scf component (docs/tencent/scf.md §6), plus those TK reads
# (diskSize...).
COMPONENT_INPUTS = {
    "name", "namespace", "role", "src", "type", "handler", "entryFile", "runtime", "region",
    "description", "memorySize", "timeout", "initTimeout", "environment", "publicAccess", "eip",
    "vpcConfig", "cfs", "layers", "deadLetter", "cls", "asyncRunEnable", "traceEnable", "msgTTL",
    "retryNum", "installDependency", "tags", "ignoreTriggers", "image", "protocolType",
    "protocolParams", "provisionedNum", "qualifier", "traffic", "events", "diskSize",
}  # fmt: skip
EVENT_TYPES = {"timer", "apigw", "cos", "cmq", "ckafka", "cls", "mps", "clb", "http"}
APIGW_SERVICE = {"serviceId", "serviceName", "instanceId", "protocols", "netTypes",
                 "environment", "description", "endpoints"}  # fmt: skip
APIGW_ENDPOINT = {"path", "method", "apiId", "apiName", "description", "enableCORS",
                  "responseType", "serviceTimeout", "param", "function", "usagePlan", "auth",
                  "authType", "app", "isBase64Encoded", "isBase64Trigger",
                  "base64EncodedTriggerRules"}  # fmt: skip
CONTRACT_VARIABLES = {
    "STS_CONFIG", "STS_SECRET_ID", "STS_SECRET_KEY", "STS_ROLE_ARN", "STS_ENDPOINT",
    "STS_JWT_SECRET", "STS_JWKS_URL", "STS_JWT_ISSUER", "STS_JWT_AUDIENCE", "COS_BUCKET",
    "COS_REGION", "STS_REDIS_URL", "STS_CACHE_KEY", "STS_EXTERNAL_ID",
    # sign-in with WeChat/QQ, and secrets being rotated
    "STS_WX_APPID", "STS_WX_SECRET", "STS_QQ_APPID", "STS_QQ_SECRET", "STS_SESSION_SECRET",
    "STS_SESSION_SECRET_PREVIOUS", "STS_JWT_SECRET_PREVIOUS",
    "STS_WEBHOOK_URL", "STS_WEBHOOK_SECRET",
}  # fmt: skip
# STS_REDIS_URL may carry the Redis password; the webhook URL may carry the app's token.
SECRET_VARIABLES = {"STS_SECRET_ID", "STS_SECRET_KEY", "STS_JWT_SECRET", "STS_REDIS_URL",
                    "STS_CACHE_KEY", "STS_WX_SECRET", "STS_QQ_SECRET", "STS_SESSION_SECRET",
                    "STS_SESSION_SECRET_PREVIOUS", "STS_JWT_SECRET_PREVIOUS",
                    "STS_WEBHOOK_URL", "STS_WEBHOOK_SECRET"}  # fmt: skip


@pytest.fixture(scope="module")
def document():
    with open(os.path.join(ROOT, "serverless.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def inputs(document):
    return document["inputs"]


def test_top_level(document):
    assert document["component"] == "scf"
    assert {"app", "stage", "name", "inputs"} <= set(document)
    assert set(document) <= {"app", "stage", "component", "name", "org", "inputs"}


def test_inputs_are_documented_component_inputs(inputs):
    assert set(inputs) <= COMPONENT_INPUTS, set(inputs) - COMPONENT_INPUTS


def test_function_name_fits_scf_rules(inputs):
    name = inputs["name"].replace("${stage}", "prod")
    assert re.fullmatch(r"[A-Za-z][\w-]{0,58}[A-Za-z0-9]", name)


def test_runtime_handler_and_code(inputs):
    assert inputs["runtime"] in ("Python3.9", "Python3.10")
    assert inputs["type"] == "event"
    module, function = inputs["handler"].split(".")
    assert (module, function) == ("index", "main_handler")
    assert callable(index.main_handler)
    src = inputs["src"]["src"]
    # What `make package` builds (sts_tools/commands/package.py writes build/scf).
    assert os.path.normpath(src) == os.path.join("build", "scf")
    # The package ships bytecode for the cold path: it must not be excluded.
    assert not any("pycache" in pattern for pattern in inputs["src"].get("exclude", []))


def test_memory_and_timeouts_are_valid(inputs):
    memory = inputs["memorySize"]
    assert memory == 64 or (128 <= memory <= 3072 and memory % 128 == 0)
    assert 1 <= inputs["timeout"] <= 900
    assert 3 <= inputs["initTimeout"] <= 300


def test_environment_variables(inputs):
    variables = inputs["environment"]["variables"]
    assert set(variables) <= CONTRACT_VARIABLES
    assert {"COS_BUCKET", "COS_REGION", "STS_JWT_SECRET"} <= set(variables)
    for name, value in variables.items():
        assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]*", name)
        assert not name.startswith(("SCF_", "QCLOUD_", "TENCENTCLOUD_"))  # reserved
        if name in SECRET_VARIABLES:
            # Secrets are referenced from the deployer's environment, never written.
            assert value == f"${{env:{name}}}"
        assert isinstance(value, str)
    assert variables["STS_ENDPOINT"] == "https://sts.internal.tencentcloudapi.com"


def test_no_literal_secret_anywhere_in_the_file():
    with open(os.path.join(ROOT, "serverless.yml"), encoding="utf-8") as handle:
        text = handle.read()
    assert not re.search(r"AKID[A-Za-z0-9]{8,}", text)
    assert "EMULATOR" not in text


def test_events(inputs):
    kinds = [next(iter(event)) for event in inputs["events"]]
    assert set(kinds) <= EVENT_TYPES
    assert "apigw" in kinds
    assert "http" in kinds


def test_api_gateway_trigger_uses_integration_response(inputs):
    (apigw,) = [e["apigw"]["parameters"] for e in inputs["events"] if "apigw" in e]
    assert set(apigw) <= APIGW_SERVICE
    assert set(apigw["protocols"]) <= {"http", "https"}
    assert apigw["environment"] in ("release", "test", "prepub")
    endpoints = apigw["endpoints"]
    assert {e["method"] for e in endpoints} == {"POST", "OPTIONS"}
    path = shipped_config()["path"]
    for endpoint in endpoints:
        assert set(endpoint) <= APIGW_ENDPOINT
        assert endpoint["path"] == path
        assert endpoint["function"]["isIntegratedResponse"] is True
        # The gateway must wait longer than the function, or the app sees a gateway
        # error instead of our 504.
        assert inputs["timeout"] < endpoint["serviceTimeout"] <= 1800


def test_function_url_trigger(inputs):
    (http,) = [e["http"]["parameters"] for e in inputs["events"] if "http" in e]
    assert http["authType"] in ("NONE", "CAM")
    assert set(http["netConfig"]) <= {"enableIntranet", "enableExtranet"}
    assert http["netConfig"]["enableExtranet"] is True


def test_the_commented_vpc_settings_are_valid_once_uncommented():
    """docs/scale.md "Setting it up": uncommenting the block is all it takes."""
    with open(os.path.join(ROOT, "serverless.yml"), encoding="utf-8") as handle:
        text = handle.read()
    block = re.search(r"\n  # vpcConfig:\n(  #   .*\n)+", text)
    assert block, "the commented vpcConfig block is missing"
    uncommented = text.replace(block.group(0), block.group(0).replace("  # ", "  "))
    inputs = yaml.safe_load(uncommented)["inputs"]
    assert inputs["vpcConfig"] == {"vpcId": "${env:SCF_VPC_ID}", "subnetId": "${env:SCF_SUBNET_ID}"}
    assert set(inputs) <= COMPONENT_INPUTS
