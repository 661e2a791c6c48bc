"""Action names SDKs put in per-request scopes that are not CAM's: refused with
403 scope_denied, the message naming the CAM action to use (never mapped, never
granted). Android derives them from request class names."""

from __future__ import annotations

import json

import pytest

import index
from tests.support import body_of, context, event, make_env, make_service, token


@pytest.mark.parametrize(
    ("sent", "cam", "profile"),
    [
        # TransferService's listing before a multipart upload.
        ("name/cos:ListMultiUploads", "name/cos:ListMultipartUploads", "upload"),
        # getObject(bucket, key), the bytes form: GetObjectBytesRequest.
        ("name/cos:GetObjectBytes", "name/cos:GetObject", "download"),
    ],
)
def test_an_sdk_action_name_is_refused_with_the_cam_name(emulator, sent, cam, profile):
    service = make_service(make_env(emulator.endpoint))
    # The Android scope-limited provider's body: a bare array, the profile in the URL.
    scope = [{"action": sent, "bucket": "examplebucket-1250000000",
              "region": "ap-guangzhou", "prefix": "users/alice/photo.jpg"}]  # fmt: skip
    request = event(token(), json.dumps(scope))
    request["queryString"] = {"profile": profile}
    response = index.handle(service, request, context())
    assert response["statusCode"] == 403, response["body"]
    error = body_of(response)["error"]
    assert error["code"] == "scope_denied"
    assert f"(the CAM name is {cam})" in error["message"]
    assert emulator.calls == []
    # The CAM name, in the same request, is issued.
    scope[0]["action"] = cam
    request = event(token(), json.dumps(scope))
    request["queryString"] = {"profile": profile}
    assert index.handle(service, request, context())["statusCode"] == 200
