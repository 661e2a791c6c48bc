"""The local COS's route registry: every row serves an API, an API outside it is a 405
before any key is looked at, and a copy source is never read as a plain part or PUT."""

from __future__ import annotations

import pytest

from sts_tools.emulators.cos.routes import ROUTES, Route, check_routes
from tests.support.cos import last_record, mint, sign


def test_a_row_without_a_handler_or_served_twice_is_refused():
    with pytest.raises(TypeError, match="without a handler"):
        check_routes((*ROUTES, Route("POST", "object", "append", None, None)))
    with pytest.raises(TypeError, match="routed twice"):
        check_routes((*ROUTES, ROUTES[0]))


def test_append_object_is_405_before_the_permission_check(service, local_cos):
    keys = mint(service, body={"profile": "read-write"})
    request = sign(keys, "POST", "users/alice/a.log", {"append": "", "position": "0"}, b"line")
    assert local_cos.handle(*request).status == 405
    record = last_record(local_cos)
    assert (record["code"], record["decision"]) == ("MethodNotAllowed", "-")


@pytest.mark.parametrize(
    ("params", "api"),
    [({}, "PutObjectCopy"), ({"partNumber": "1", "uploadId": "u1"}, "UploadPartCopy")],
)
def test_a_copy_source_routes_to_the_copy_api(service, local_cos, params, api):
    keys = mint(service, body={"profile": "read-write"})
    headers = {"x-cos-copy-source": "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/x"}
    local_cos.handle(*sign(keys, "PUT", "users/alice/a", params, headers=headers))
    assert last_record(local_cos)["api"] == api
