"""A PUT ticket must stay one upload of the caller's own bytes. Now that the local COS serves
PUT Object - Copy, an unsigned `x-cos-copy-source` added to a PUT ticket's request turns
it into a copy: COS's signature covers only the headers it lists (docs/tencent/cos-signing.md
§1). Whether real COS accepts an unsigned x-cos-copy-source is unverified; the local COS
reads the signature as documented and accepts it. So the key that signs upload tickets
never holds GetObject (download tickets have a key of their own, ticket_signing_key.py): the
copy's source check fails for every object, the caller's own included."""

from __future__ import annotations

import pytest

from tests.support import BUCKET, REGION
from tests.support.tickets import send, ticket, ticket_service

JPEG = b"\xff\xd8\xff" + b"x" * 100


@pytest.mark.parametrize("owner", ["bob", "alice"])
def test_a_put_ticket_cannot_copy_another_users_object(emulator, local_cos, owner):
    service = ticket_service(emulator, local_cos)
    source_key = f"users/{owner}/private.jpg"
    local_cos.store.put_object(BUCKET, source_key, b"a private photo")
    # A get ticket first: the download key exists too, and is not the one used.
    assert ticket(service, method="get", key="users/alice/x.jpg")["method"] == "GET"
    given = ticket(service, method="put", extension="jpg", size=len(JPEG))
    source = f"{BUCKET}.cos.{REGION}.myqcloud.com/{source_key}"
    response = send(given, JPEG, headers={"x-cos-copy-source": source})
    assert response.status_code == 403
    assert "GetObject" in response.text
    copied = [o for o in local_cos.store.objects(BUCKET) if o.body == b"a private photo"]
    assert [o.key for o in copied] == [source_key]
