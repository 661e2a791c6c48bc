"""The CAM resource strings naming a bucket's keys: spelled here and nowhere else
in the function or its tooling (docs/tencent/cam-policy.md §4, §5). Pure.

The local COS spells its own (sts_tools/emulators/cos/request.py) on purpose: an
emulator that shared this code with the policy builder could not catch its mistakes.
"""

from __future__ import annotations

from typing import NamedTuple


def appid_of(bucket: str) -> str:
    """The APPID a COS bucket name ends with: ``photos-1250000000`` -> ``1250000000``
    (the validator has checked the name-APPID shape)."""
    return bucket.rsplit("-", 1)[-1]


def cos_resource(region: str, appid: str, bucket: str, key: str) -> str:
    """A COS object key or prefix (``key`` may end with ``*``; ``""`` is the bucket)."""
    return f"qcs::cos:{region}:uid/{appid}:{bucket}/{key}"


def ci_resource(region: str, appid: str, bucket: str, key: str) -> str:
    """Cloud Infinite's resource for keys of a bucket (§5)."""
    return f"qcs::ci:{region}:uid/{appid}:bucket/{bucket}/{key}"


class Location(NamedTuple):
    """One bucket in one region: where a profile's grants land."""

    bucket: str
    region: str

    @property
    def appid(self) -> str:
        return appid_of(self.bucket)

    def resource(self, key: str) -> str:
        return cos_resource(self.region, self.appid, self.bucket, key)

    def ci_resource(self, key: str) -> str:
        return ci_resource(self.region, self.appid, self.bucket, key)
