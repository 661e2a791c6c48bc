"""A download ticket cannot be re-typed: its signature covers the response
overrides (`response-content-type`, `response-content-disposition`), so a page
that appends `response-content-type=text/html` gets no HTML from COS.

Whether COS applies a response-* parameter the signature does NOT cover is
unverified; the local COS models both readings (`unsigned_overrides`), and every
attack here runs under each. cos-python-sdk-v5 shows what each reading does with
overrides it signs and with one appended to its own presigned URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from sts_tools.emulators.cos.server import CosEmulator
from tests.support import BUCKET, REGION
from tests.support.cos import client, mint
from tests.support.tickets import send, ticket, ticket_service

JPEG = b"\xff\xd8\xff\xe0 a small jpeg"


@pytest.fixture(params=["honour", "ignore"])
def cos(request, emulator):
    """A local COS under each reading of unsigned response-* parameters."""
    with CosEmulator(emulator.keyring, bucket=BUCKET, region=REGION, log=lambda _: None,
                     unsigned_overrides=request.param) as server:  # fmt: skip
        yield server


@pytest.fixture
def service(emulator, cos):
    return ticket_service(emulator, cos)


def uploaded(service, extension="jpg"):
    upload = ticket(service, method="post", extension=extension)
    assert send(upload, JPEG).status_code == 200
    return upload["key"]


def test_a_download_is_served_as_its_type_and_as_an_attachment(service):
    download = ticket(service, method="get", key=uploaded(service))
    assert download["contentType"] == "image/jpeg"
    response = send(download)
    assert response.status_code == 200
    assert response.content == JPEG
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Disposition"] == "attachment"


@pytest.mark.parametrize(
    "appended",
    [
        "response-content-type=text%2Fhtml",
        "response-content-disposition=inline",
        "response-content-type=text%2Fhtml&response-content-disposition=inline",
    ],
)
def test_appending_another_override_is_refused(service, appended):
    download = ticket(service, method="get", key=uploaded(service))
    response = send(download, url=f"{download['url']}&{appended}")
    assert response.status_code == 403, response.headers
    assert b"text/html" not in response.content
    assert response.headers.get("Content-Type") != "text/html"


def test_replacing_a_signed_override_breaks_the_signature(service):
    download = ticket(service, method="get", key=uploaded(service))
    url = download["url"].replace("response-content-type=image%2Fjpeg",
                                  "response-content-type=text%2Fhtml")  # fmt: skip
    assert url != download["url"]
    assert send(download, url=url).status_code == 403


# -- the readings, with the official SDK ---------------------------------------------------


def test_each_reading_with_cos_python_sdk_v5(emulator, cos):
    from tests.support import make_env, make_service

    keys = mint(make_service(make_env(emulator.endpoint)), body={"profile": "read-write"})
    sdk = client(cos, keys, mode="domain")  # its URLs name the local COS itself
    sdk.put_object(Bucket=BUCKET, Key="users/alice/page.jpg", Body=JPEG, ContentType="image/jpeg")
    # Overrides the SDK signs apply under both readings.
    signed = sdk.get_object(Bucket=BUCKET, Key="users/alice/page.jpg",
                            ResponseContentType="text/plain")  # fmt: skip
    assert signed["Content-Type"] == "text/plain"
    # One appended to the SDK's own presigned URL applies only under "honour".
    token = keys["credentials"]["sessionToken"]
    url = sdk.get_presigned_download_url(Bucket=BUCKET, Key="users/alice/page.jpg",
                                         Params={"x-cos-security-token": token})  # fmt: skip
    assert urlsplit(url).query
    response = requests.get(f"{url}&response-content-type=text%2Fhtml", timeout=10)
    assert response.status_code == 200, response.text
    served = response.headers["Content-Type"]
    assert served == ("text/html" if cos.unsigned_overrides == "honour" else "image/jpeg")
