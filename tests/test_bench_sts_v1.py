"""The v1 signature the benchmark's qcloud-python-sts contender sends
(bench/sts_v1.py): the published vectors, and the real SDK against the local STS
with that scheme plugged in."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from bench.sts_v1 import V1_SCHEMES, v1_signature, v1_string_to_sign
from sts_tools.emulators import sts as emu

RESOURCE = "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/users/alice/*"


@pytest.fixture(scope="module")
def server():
    with emu.StsEmulator(schemes=V1_SCHEMES) as running:
        yield running


# -- signature v1 (qcloud-python-sts): vectors and the real SDK ---------------------------

V6_PARAMS = {
    "Action": "DescribeInstances",
    "InstanceIds.0": "ins-09dx96dg",
    "Limit": 20,
    "Nonce": 11886,
    "Offset": 0,
    "Region": "ap-guangzhou",
    "SecretId": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
    "Timestamp": 1465185768,
    "Version": "2017-03-12",
}
V1_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"


def test_v1_vector_v6():
    source = v1_string_to_sign("GET", "cvm.tencentcloudapi.com", V6_PARAMS)
    assert source == (
        "GETcvm.tencentcloudapi.com/?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg"
        "&Limit=20&Nonce=11886&Offset=0&Region=ap-guangzhou"
        "&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE&Timestamp=1465185768&Version=2017-03-12"
    )
    assert v1_signature(V1_KEY, source) == "EliP9YW3pW28FpsEdkXt/+WcGeI="
    assert v1_signature(V1_KEY, source, "HmacSHA256") == (
        "bR/zQ3QqOmcEYeRv71IzG/NxfisUDgy9cqRMQC+UB5g="
    )


def test_v1_vector_v7_qcloud_python_sts():
    policy = {
        "version": "2.0",
        "statement": [
            {
                "action": ["name/cos:PutObject"],
                "effect": "allow",
                "resource": ["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/doc/*"],
            }
        ],
    }
    params = {
        "SecretId": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        "Timestamp": 1700000000,
        "Nonce": 123456,
        "Action": "GetFederationToken",
        "Version": "2018-08-13",
        "DurationSeconds": 1800,
        "Name": "cos-sts-python",
        "Policy": quote(json.dumps(policy)),
        "Region": "ap-guangzhou",
    }
    source = v1_string_to_sign("POST", "sts.tencentcloudapi.com", params)
    assert source == (
        "POSTsts.tencentcloudapi.com/?Action=GetFederationToken&DurationSeconds=1800"
        "&Name=cos-sts-python&Nonce=123456&Policy=%7B%22version%22%3A%20%222.0%22%2C%20"
        "%22statement%22%3A%20%5B%7B%22action%22%3A%20%5B%22name/cos%3APutObject%22%5D%2C%20"
        "%22effect%22%3A%20%22allow%22%2C%20%22resource%22%3A%20%5B%22qcs%3A%3Acos%3A"
        "ap-guangzhou%3Auid/1250000000%3Aexamplebucket-1250000000/doc/%2A%22%5D%7D%5D%7D"
        "&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
        "&Timestamp=1700000000&Version=2018-08-13"
    )
    assert v1_signature(V1_KEY, source) == "VwAezy83vJROfIIL/J/hvQr6uRs="


def qsts_config(server, secret_key=emu.DEV_SECRET_KEY):
    return {
        "secret_id": emu.DEV_SECRET_ID,
        "secret_key": secret_key,
        "duration_seconds": 1800,
        "bucket": "examplebucket-1250000000",
        "region": "ap-guangzhou",
        "allow_prefix": ["users/alice/*"],
        "allow_actions": ["name/cos:PutObject"],
        "url": server.endpoint + "/",
        "domain": server.endpoint.split("://", 1)[1],
    }


def test_qcloud_python_sts_is_accepted_with_v1_signatures(server):
    from sts.sts import Sts

    server.reset()
    result = Sts(qsts_config(server)).get_credential()
    assert result["credentials"]["tmpSecretId"].startswith("AKIDEMULATOR")
    (call,) = server.calls
    assert call.action == "GetFederationToken"
    assert call.params["Name"] == "cos-sts-python"
    assert call.params["DurationSeconds"] == 1800
    assert call.policy["statement"][0]["resource"] == [RESOURCE]


def test_qcloud_python_sts_with_a_wrong_key_is_refused(server):
    from sts.sts import Sts

    with pytest.raises(Exception, match=r"AuthFailure\.SignatureFailure"):
        Sts(qsts_config(server, secret_key="wrong")).get_credential()
