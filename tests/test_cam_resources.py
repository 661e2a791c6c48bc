"""The CAM resource strings (sts_core/cam_resources.py) against the documented examples
(docs/tencent/cam-policy.md §4, §5), and a profile's location (its bucket, else the
config's)."""

from __future__ import annotations

import copy

from sts_core.cam_resources import Location, appid_of
from sts_core.config_validation import parse_config
from tests.support import make_env, shipped_config


def test_the_documented_cos_resource():
    where = Location("examplebucket-1250000000", "ap-beijing")
    assert where.appid == appid_of(where.bucket) == "1250000000"
    assert (
        where.resource("doc/*")
        == "qcs::cos:ap-beijing:uid/1250000000:examplebucket-1250000000/doc/*"
    )
    assert where.resource("") == "qcs::cos:ap-beijing:uid/1250000000:examplebucket-1250000000/"


def test_the_documented_ci_resource():
    where = Location("examplebucket-1250000000", "ap-beijing")
    assert where.ci_resource("doc/*") == (
        "qcs::ci:ap-beijing:uid/1250000000:bucket/examplebucket-1250000000/doc/*"
    )


def test_a_bucket_name_with_hyphens_keeps_them():
    assert appid_of("my-photo-bucket-1300000001") == "1300000001"


def test_a_profile_lands_in_its_own_bucket_else_the_configs():
    document = copy.deepcopy(shipped_config())
    first, second = list(document["profiles"])[:2]
    document["profiles"][first].update(bucket="avatars-1250000009", region="ap-shanghai")
    config = parse_config(document, make_env())
    assert config.location(config.profiles[first]) == ("avatars-1250000009", "ap-shanghai")
    assert config.location(config.profiles[second]) == (config.bucket, config.region)
    assert config.appid == appid_of(config.bucket)
