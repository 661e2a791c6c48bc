"""Our signer against the official tencentcloud-sdk-python-common signer.

The SDK is an independent implementation: both must agree on every request,
including unicode and large bodies and timestamps either side of UTC midnight
(where a local-time date would differ).
"""

from __future__ import annotations

import json
import string
from unittest import mock
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st
from tencentcloud.common import abstract_client
from tencentcloud.common.abstract_client import AbstractClient
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from sts_core.sts_client import StsClient
from sts_core.tc3_signing import Credentials, TC3Signer
from tests.support.examples import examples

KEY_CHARS = string.ascii_letters + string.digits
secret_ids = st.text(KEY_CHARS, min_size=8, max_size=40).map(lambda s: "AKID" + s)
secret_keys = st.text(KEY_CHARS + "+/=", min_size=1, max_size=64)
# Around UTC midnight of many days, plus anywhere in 2000-2100.
midnights = st.integers(10957, 47482).map(lambda day: day * 86400)
timestamps = st.one_of(
    st.builds(lambda m, d: m + d, midnights, st.integers(-3, 3)),
    st.integers(946684800, 4102444800),
)
bodies = st.one_of(
    st.text(max_size=200),  # any unicode, including astral and control characters
    st.text(min_size=1, max_size=20).map(lambda s: s * 5000),  # large
    st.dictionaries(st.text(max_size=10), st.text(max_size=30)).map(json.dumps),
)
hosts = st.sampled_from(
    ["sts.tencentcloudapi.com", "sts.internal.tencentcloudapi.com", "127.0.0.1:8080", "localhost"]
)


def _sdk_signature(host, content_type, timestamp, payload, secret_key, service):
    request = RequestInternal(
        host,
        "POST",
        "/",
        header={"Content-Type": content_type, "Host": host, "X-TC-Timestamp": str(timestamp)},
        data=payload,
    )
    date = abstract_client.datetime.utcfromtimestamp(timestamp).strftime("%Y-%m-%d")
    receiver = AbstractClient.__new__(AbstractClient)
    return AbstractClient._get_tc3_signature(receiver, None, request, date, service, secret_key)


@settings(max_examples=examples(300))
@given(
    secret_id=secret_ids,
    secret_key=secret_keys,
    timestamp=timestamps,
    body=bodies,
    host=hosts,
    service=st.sampled_from(["sts", "cvm", "cos"]),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8"]),
)
def test_signature_matches_sdk(secret_id, secret_key, timestamp, body, host, service, content_type):
    authorization = TC3Signer(service).sign(
        Credentials(secret_id, secret_key),
        method="POST",
        headers={"Content-Type": content_type, "Host": host},
        payload=body.encode("utf-8"),
        timestamp=timestamp,
    )
    expected = _sdk_signature(host, content_type, timestamp, body, secret_key, service)
    assert authorization.endswith(f"Signature={expected}")


policies = st.lists(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
    min_size=1,
    max_size=5,
).map(
    lambda keys: json.dumps(
        {
            "version": "2.0",
            "statement": [{"effect": "allow", "action": ["name/cos:GetObject"], "resource": keys}],
        },
        ensure_ascii=False,
    )
)


@settings(max_examples=examples(150))
@given(
    secret_id=secret_ids,
    secret_key=secret_keys,
    token=st.one_of(st.none(), st.text(KEY_CHARS, min_size=1, max_size=200)),
    timestamp=timestamps,
    policy=policies,
    duration=st.integers(1, 7200),
    region=st.sampled_from(["ap-guangzhou", "ap-shanghai", "ap-beijing"]),
    host=hosts,
)
def test_whole_sts_request_matches_sdk(
    secret_id, secret_key, token, timestamp, policy, duration, region, host
):
    """Headers, body and Authorization of a GetFederationToken call, end to end."""
    params = {"Name": "cos-sts", "Policy": quote(policy, safe=""), "DurationSeconds": duration}
    ours = StsClient(f"https://{host}", region, language="zh-CN")
    headers, body = ours.build_request(
        Credentials(secret_id, secret_key, token), "GetFederationToken", params, timestamp
    )

    sdk = CommonClient(
        "sts",
        "2018-08-13",
        Credential(secret_id, secret_key, token),
        region,
        ClientProfile(httpProfile=HttpProfile(endpoint=host)),
    )
    request = RequestInternal(host, "POST", "/", header={})
    with mock.patch.object(abstract_client.time, "time", return_value=timestamp):
        sdk._build_req_inter("GetFederationToken", params, request)

    assert body == request.data.encode("utf-8")
    signed_by_sdk = {k: v for k, v in request.header.items() if k != "X-TC-RequestClient"}
    assert headers == signed_by_sdk
