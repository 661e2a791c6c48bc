"""What an API handler is given: the request, its admitted caller, and the bucket's site."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional

from sts_tools.emulators.cos.auth import Caller
from sts_tools.emulators.cos.errors import CosError
from sts_tools.emulators.cos.notifications import Notifier
from sts_tools.emulators.cos.post_policy import PostForm
from sts_tools.emulators.cos.request import Bucket, CosRequest
from sts_tools.emulators.cos.responses import Response
from sts_tools.emulators.cos.signature import (
    MalformedAuthorization,
    parse_authorization,
    query_fields,
)
from sts_tools.emulators.cos.store import CosStore

# Whether COS applies a response-* parameter its signature does not cover is
# unverified (docs/tickets.md, "Download tickets"; `check-deployment` probes it):
# "honour" applies it (the reading tickets must survive), "ignore" serves the stored
# headers.
UNSIGNED_OVERRIDES = ("honour", "ignore")


@dataclass
class Site:
    """The bucket a handler serves and the settings that change its answers (a plain
    class: a test may replace `forbid_overwrite` to play a COS that ignores it)."""

    bucket: Bucket
    store: CosStore
    overwrite_error: type[CosError]
    # Cache-Control for an object stored without one (None: none, as COS).
    unset_cache_control: Optional[str]
    clock: Callable[[], float]
    unsigned_overrides: str = "honour"
    # Object events to the function, as the COS trigger (notifications.py); off until
    # a deliverer is set. Every API that creates or removes an object calls it once.
    notify: Optional[Notifier] = None

    def forbid_overwrite(self, headers: Mapping[str, str]) -> Optional[CosError]:
        """x-cos-forbid-overwrite: true, honoured on PUT and, as the wx SDK sends it, on
        a form's HTTP headers (whether COS honours it on POST is unverified)."""
        if headers.get("x-cos-forbid-overwrite", "").strip().lower() == "true":
            return self.overwrite_error(detail="x-cos-forbid-overwrite: the key exists")
        return None

    def applies(self, request: CosRequest, parameter: str) -> bool:
        """A response-* parameter applies if signed, or unsigned under "honour"."""
        return self.unsigned_overrides == "honour" or parameter in signed_params(request)


def signed_params(request: CosRequest) -> frozenset[str]:
    """The query parameters the request's signature covers (lower case; none when
    unsigned or unreadable: the signature check decides that, not this)."""
    try:
        fields = query_fields(request.query)
        if fields is None:
            fields = parse_authorization(request.headers.get("authorization", ""))
    except MalformedAuthorization:
        return frozenset()
    return frozenset(name.lower() for name in fields.param_list)


class Call(NamedTuple):
    request: CosRequest
    key: str  # the object key ("" for bucket-level APIs); PostObject's from its form
    form: Optional[PostForm]  # PostObject's, parsed once by the gate
    caller: Caller  # authenticated; makes the API's further CAM decisions
    site: Site


Handler = Callable[[Call], Response]
