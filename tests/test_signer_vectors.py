"""The published TC3 test vectors (docs/tencent/sts.md §9), reproduced exactly."""

from __future__ import annotations

from sts_core.sts_client import StsClient
from sts_core.tc3_signing import Credentials, TC3Signer, sha256_hex
from sts_core.utc_time import utc_date

SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
CVM = TC3Signer("cvm")
V1_PAYLOAD = (
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)
V1_HEADERS = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}


def test_v1_every_intermediate_value():
    assert sha256_hex(V1_PAYLOAD) == (
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    canonical = CVM.canonical_request("POST", "", V1_HEADERS, ["content-type", "host"], V1_PAYLOAD)
    assert canonical == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\n"
        "host:cvm.tencentcloudapi.com\n\ncontent-type;host\n"
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    assert sha256_hex(canonical.encode()) == (
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    string_to_sign = CVM.string_to_sign(1551113065, canonical)
    assert string_to_sign == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    key = CVM.signing_key(SECRET_KEY, "2019-02-25")
    assert key.hex() == "ac658d5dde49e9bfdd14e04e062f66b05d9f637d44b8a8d845327d4a77f666b1"
    signature = CVM.signature(key, string_to_sign)
    assert signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    assert CVM.authorization(SECRET_ID, 1551113065, ["content-type", "host"], signature) == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_v1_through_the_one_call_api_with_mixed_case_header_names():
    auth = CVM.sign(
        Credentials(SECRET_ID, SECRET_KEY),
        method="POST",
        headers={"Content-Type": V1_HEADERS["content-type"], "Host": V1_HEADERS["host"]},
        payload=V1_PAYLOAD,
        timestamp=1551113065,
    )
    assert auth.endswith(
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_v2_signed_action_header_lowercases_its_value():
    headers = dict(V1_HEADERS, **{"x-tc-action": "DescribeInstances"})
    names = ["content-type", "host", "x-tc-action"]
    canonical = CVM.canonical_request("POST", "", headers, names, V1_PAYLOAD)
    assert "x-tc-action:describeinstances\n" in canonical
    assert sha256_hex(canonical.encode()) == (
        "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
    )
    # The doc masks the key but publishes SecretSigning; the last HMAC is reproducible.
    published_signing_key = bytes.fromhex(
        "b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af"
    )
    assert CVM.signature(published_signing_key, CVM.string_to_sign(1551113065, canonical)) == (
        "10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"
    )
    key = CVM.signing_key(SECRET_KEY, "2019-02-25")
    assert CVM.signature(key, CVM.string_to_sign(1551113065, canonical)) == (
        "644be983de9a8a3f00db8eadaba61467c3b429e2215758ba897b738ca469fd26"
    )


def test_v3_get_with_empty_payload():
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "host": "cvm.tencentcloudapi.com",
    }
    canonical = CVM.canonical_request(
        "GET", "Limit=10&Offset=0", headers, ["content-type", "host"], b""
    )
    assert canonical.endswith("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert sha256_hex(canonical.encode()) == (
        "91c9c192c14460df6c1ffc69e34e6c5e90708de2a6d282cccf957dbf1aa7f3a7"
    )
    key = CVM.signing_key(SECRET_KEY, "2019-02-25")
    assert CVM.signature(key, CVM.string_to_sign(1551113065, canonical)) == (
        "9867b291561db17491c01f0d7f06be3ccd45e91ecd3ce5434330e00ece036f64"
    )


V4_POLICY = (
    '{"version":"2.0","statement":[{"effect":"allow","action":["name/cos:PutObject"],'
    '"resource":["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/doc/*"]}]}'
)
V4_BODY = (
    b'{"Name": "cos-sts", "Policy": "%7B%22version%22%3A%222.0%22%2C%22statement%22%3A%5B%7B'
    b"%22effect%22%3A%22allow%22%2C%22action%22%3A%5B%22name%2Fcos%3APutObject%22%5D%2C%22resource"
    b"%22%3A%5B%22qcs%3A%3Acos%3Aap-guangzhou%3Auid%2F1250000000%3Aexamplebucket-1250000000%2Fdoc"
    b'%2F%2A%22%5D%7D%5D%7D", "DurationSeconds": 1800}'
)
V4_AUTHORIZATION = (
    "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2023-11-14/sts/tc3_request, "
    "SignedHeaders=content-type;host, "
    "Signature=57540d7d70b15a36804649a326e42403339b425b11b49f3905156cf829012451"
)


def _v4_request(token=None):
    from urllib.parse import quote

    client = StsClient(language=None)
    params = {"Name": "cos-sts", "Policy": quote(V4_POLICY, safe=""), "DurationSeconds": 1800}
    return client.build_request(
        Credentials(SECRET_ID, SECRET_KEY, token), "GetFederationToken", params, 1700000000
    )


def test_v4_sts_request_is_byte_identical_to_the_official_sdk():
    headers, body = _v4_request()
    assert body == V4_BODY
    assert sha256_hex(body) == "0fcf2b1b410b18a9b1ba41dd57ce84e198f5dce964d170494a8d143d7f97a55c"
    assert headers == {
        "Content-Type": "application/json",
        "Host": "sts.tencentcloudapi.com",
        "X-TC-Action": "GetFederationToken",
        "X-TC-Timestamp": "1700000000",
        "X-TC-Version": "2018-08-13",
        "X-TC-Region": "ap-guangzhou",
        "Authorization": V4_AUTHORIZATION,
    }


def test_v4_intermediate_keys():
    sts = TC3Signer("sts")
    canonical = sts.canonical_request(
        "POST",
        "",
        {"content-type": "application/json", "host": "sts.tencentcloudapi.com"},
        ["content-type", "host"],
        V4_BODY,
    )
    assert sha256_hex(canonical.encode()) == (
        "1a03df47b6e1509930bb184742bc88278e644f16cb93499303d85c7f35d47458"
    )
    assert sts.signing_key(SECRET_KEY, "2023-11-14").hex() == (
        "5d7c10e090f52169fe5edd4437617682456fc98edbc0a39f85379ee4e3273d9a"
    )


def test_v4_with_session_token_adds_header_and_keeps_signature():
    headers, body = _v4_request(token="tokenEXAMPLE")
    assert body == V4_BODY
    assert headers["X-TC-Token"] == "tokenEXAMPLE"
    assert headers["Authorization"] == V4_AUTHORIZATION


def test_scope_date_is_the_utc_date_not_local():
    # 1551113065 is 2019-02-26 00:44:25 in UTC+8 but 2019-02-25 in UTC.
    assert utc_date(1551113065) == "2019-02-25"
    assert utc_date(1700000000) == "2023-11-14"
    assert utc_date(1551139199) == "2019-02-25"  # 23:59:59 UTC
    assert utc_date(1551139200) == "2019-02-26"  # midnight UTC


def test_credentials_repr_hides_the_secret_and_token():
    text = repr(Credentials(SECRET_ID, SECRET_KEY, "tokenEXAMPLE"))
    assert SECRET_ID in text
    assert SECRET_KEY not in text
    assert "tokenEXAMPLE" not in text
