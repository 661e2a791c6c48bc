"""Who signed a request, and what their key's policy allows: authentication, then CAM.

`Gate.admit` authenticates a request (a signed request, a policy form, or the wx
SDK's header-signed form; the form parsed here, once) and gathers the condition
values COS would compare. The `Caller` it returns makes every CAM decision for that
request with `cam.decide`: the request's own action first, then whatever more an
API needs (a copy's source, each key of a batch delete), and keeps them all for the
request's log line.
"""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any, Callable, NamedTuple, Optional

from sts_tools.emulators.cos import cam
from sts_tools.emulators.cos.actions import Api
from sts_tools.emulators.cos.errors import (
    AccessDenied,
    CosError,
    ExpiredToken,
    InvalidAccessKeyId,
    InvalidArgument,
    MalformedPOSTRequest,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)
from sts_tools.emulators.cos.object_key_reading import (
    DEFAULT_KEY_READING,
    UnreadableKey,
    read_key,
)
from sts_tools.emulators.cos.post_policy import (
    PostForm,
    check_post,
    field,
    form_fields,
    form_token,
    header_form_values,
    header_signed_fields,
    is_header_signed,
    object_key,
    parse_form,
)
from sts_tools.emulators.cos.records import short
from sts_tools.emulators.cos.request import Bucket, CosRequest, condition_values, resource_for
from sts_tools.emulators.cos.signature import (
    AuthFields,
    MalformedAuthorization,
    parse_authorization,
    query_fields,
    verify,
)
from sts_tools.emulators.keyring import IssuedKey, Keyring

TOKEN_HEADER = "x-cos-security-token"
FORM_CONDITION_FIELDS = {"acl": "cos:x-cos-acl", "x-cos-storage-class": "cos:x-cos-storage-class"}
LENGTH_KEY = "cos:content-length"
# Said when a size-capped statement meets a request without Content-Length: a chunked
# stream. COS compares an absent key as false (docs/tencent/cam-policy.md §7): refused.
CHUNKED_HINT = (
    "; the request has no Content-Length (a stream sent chunked), so cos:content-length "
    "is absent and the size limit cannot hold: pass ContentLength with a stream "
    "(docs/clients.md)"
)
_SHOWN_DECISIONS = 5


class Caller:
    """An authenticated request and every CAM decision made for it."""

    def __init__(
        self, key: IssuedKey, policy: cam.Policy, values: dict[str, str], bucket: Bucket,
        list_resource: str, copy_action: str = "",
    ) -> None:  # fmt: skip
        self.key = key
        self.copy_action = copy_action
        self.policy = policy
        self.values = values
        self.bucket = bucket
        self.list_resource = list_resource
        self.decisions: list[tuple[str, cam.Decision]] = []

    def check_request(self, api: Api, key: str, prefix: Optional[str]) -> cam.Decision:
        """The request's own action on its resource (docs/tencent/cos-api.md §5)."""
        if api.action is None:
            raise ValueError(f"{api.name} is checked per key")
        resource = resource_for(self.bucket, api, key, prefix, self.list_resource)
        action = (
            self.copy_action if api.name == "PutObjectCopy" and self.copy_action else api.action
        )
        return self._decide("", action, resource)

    def check(
        self, action: str, key: str, what: str, bucket: Optional[Bucket] = None
    ) -> cam.Decision:
        """A further decision an API needs: `action` on `key` (in `bucket`, by default
        the local one), with the request's own condition values."""
        return self._decide(what, action, (bucket or self.bucket).resource(key))

    def _decide(self, what: str, action: str, resource: str) -> cam.Decision:
        decision = cam.decide(self.policy, action, resource, self.values)
        absent = LENGTH_KEY not in self.values
        if not decision.allowed and absent and LENGTH_KEY in (decision.condition or ""):
            decision = decision._replace(reason=decision.reason + CHUNKED_HINT)
        self.decisions.append((what, decision))
        return decision

    def verdict(self) -> tuple[str, str]:
        """("allow" | "deny" | "-", reason) for the log line: "deny" if any decision denied."""
        if not self.decisions:
            return "-", ""
        allowed = all(decision.allowed for _, decision in self.decisions)
        shown = [
            f"{what}: {decision.reason}" if what else decision.reason
            for what, decision in self.decisions[:_SHOWN_DECISIONS]
        ]
        if len(self.decisions) > _SHOWN_DECISIONS:
            shown.append(f"and {len(self.decisions) - _SHOWN_DECISIONS} more decisions")
        return ("allow" if allowed else "deny"), "; ".join(shown)


class Admitted(NamedTuple):
    caller: Caller
    key: str  # the object key as stored: the path's, or a form's `key` field
    evaluated_key: str  # the key CAM evaluates (differs only under some key readings)
    form: Optional[PostForm]  # PostObject's form, parsed once


class Gate:
    """Authentication for one bucket: the keyring the local STS fills, and its rules."""

    def __init__(
        self,
        keyring: Keyring,
        bucket: Bucket,
        clock: Callable[[], float],
        *,
        list_resource: str,
        token_error: type[CosError],
        header_signed_forms: bool,
        copy_action: str = "",
        key_reading: str = DEFAULT_KEY_READING,
    ) -> None:
        self.keyring = keyring
        self.key_reading = key_reading
        self.bucket = bucket
        self.clock = clock
        self.list_resource = list_resource
        self.token_error = token_error
        self.header_signed_forms = header_signed_forms
        # The destination action of PUT Object - Copy, when not PutObject (unverified:
        # docs/tencent/cam-policy.md §1 also names PutObjectCopy); "" keeps the table's.
        self.copy_action = copy_action
        self._policies: dict[str, Any] = {}  # SecretId -> Policy or PolicyError
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._policies.clear()

    def admit(self, request: CosRequest, api: Api) -> Admitted:
        """The key that signed `request`, its policy and condition values, and the object
        key (PostObject's comes from its form). Raises the CosError COS would answer."""
        form: Optional[PostForm] = None
        if api.name == "PostObject":
            form = parse_form(request.headers.get("content-type", ""), request.body)
        header_signed = form is not None and is_header_signed(form)
        if form is not None and header_signed:
            if not self.header_signed_forms:
                raise MalformedPOSTRequest(
                    detail="the form carries a header-style Signature field and no policy "
                    "(cos-wx-sdk-v5's postObject); this local COS runs with "
                    "header_signed_forms=False"
                )
            # Signed like a request to "/" (the key is not in the path, so the
            # signature does not bind it: CAM is what confines the key).
            fields = header_signed_fields(form, request.headers)
            key = self._issued_key(fields.ak)
            token = form_token(form, request.headers)
            self._check_signature(request, fields, key, token=token)
            stored_key = object_key(form)
        elif form is not None:
            fields = form_fields(form)
            key = self._issued_key(fields.ak)
            stored_key = check_post(form, key.secret_key, self.bucket.name, self.clock())
            self._check_key_life(key)
            self._check_token(key, field(form, TOKEN_HEADER))
        else:
            fields = self._signature_fields(request)
            key = self._issued_key(fields.ak)
            self._check_signature(request, fields, key)
            stored_key = request.key
        values = condition_values(request)
        if form is not None and header_signed:
            # What COS would apply: the file's size, the form's type, ACL, storage class.
            values.pop("cos:content-type", None)
            values.update(header_form_values(form, request.headers))
        elif form is not None:
            # A form upload's type is its Content-Type field; its length the whole body
            # (docs/tencent/cos-api.md §2: the exact length COS compares is unverified).
            values.pop("cos:content-type", None)
            form_type = field(form, "content-type")
            if form_type is not None:
                values["cos:content-type"] = form_type
            # The form's ACL and storage class are fields; COS lists both keys for
            # PostObject, but how it reads them from a form is unverified: the
            # stricter reading (the field, else the header) is taken here.
            for name, condition_key in FORM_CONDITION_FIELDS.items():
                value = field(form, name)
                if value is not None:
                    values[condition_key] = value
        caller = Caller(
            key, self._policy(key), values, self.bucket, self.list_resource, self.copy_action
        )
        try:
            read = read_key(stored_key, self.key_reading)
        except UnreadableKey as exc:
            raise InvalidArgument(detail=str(exc)) from None
        return Admitted(caller, read.stored, read.evaluated, form)

    # -- authentication ---------------------------------------------------------------

    def _signature_fields(self, request: CosRequest) -> AuthFields:
        header = request.headers.get("authorization")
        try:
            fields = parse_authorization(header) if header else query_fields(request.query)
        except MalformedAuthorization as exc:
            raise AccessDenied(detail=f"the signature fields are malformed: {exc}") from None
        if fields is None:
            raise AccessDenied(
                detail="the request is not signed: the bucket is private (anonymous access off)"
            )
        return fields

    def _issued_key(self, secret_id: str) -> IssuedKey:
        key = self.keyring.get(secret_id)
        if key is None:
            raise InvalidAccessKeyId(
                detail=f"SecretId {short(secret_id)} was not issued by the local STS"
            )
        return key

    def _check_key_life(self, key: IssuedKey) -> None:
        if self.clock() >= key.expired_time:
            raise ExpiredToken(detail=f"the temporary key expired at {key.expired_time}")

    def _check_token(self, key: IssuedKey, token: Optional[str]) -> None:
        if not token:
            raise self.token_error(detail="the key is temporary but no x-cos-security-token came")
        if not secrets.compare_digest(token.encode("utf-8"), key.token.encode("utf-8")):
            raise self.token_error(detail="x-cos-security-token does not belong to this SecretId")

    def _check_signature(
        self,
        request: CosRequest,
        fields: AuthFields,
        key: IssuedKey,
        token: Optional[str] = None,
    ) -> None:
        """The request's signature, the key's life, its token, then the time window.
        `token`: where the caller found it (a form field); else the header or query."""
        checked = verify(
            request.method, request.path, request.query, request.headers, fields,
            key.secret_key, self.clock(),
        )  # fmt: skip
        if checked.problem == "malformed":
            raise AccessDenied(detail=f"the signature fields are malformed: {checked.detail}")
        if checked.problem == "mismatch":
            raise SignatureDoesNotMatch(
                # The strings the local COS signed (token values redacted), so a
                # developer can diff them against what their client signed.
                detail=f"signature mismatch ({checked.detail}); the local COS signed "
                + json.dumps(
                    {"HttpString": checked.http_string, "StringToSign": checked.string_to_sign}
                )
            )  # fmt: skip
        self._check_key_life(key)
        if token is None:
            token = request.headers.get(TOKEN_HEADER) or request.param(TOKEN_HEADER)
        self._check_token(key, token)
        if checked.problem == "expired":
            raise AccessDenied("Request has expired", detail="now is past the q-sign-time window")
        if checked.problem == "not_yet_valid":
            raise RequestTimeTooSkewed(detail="q-sign-time starts in the future")
        if checked.problem is not None:
            raise AccessDenied(detail=f"signature check failed: {checked.problem}")

    # -- the key's policy ---------------------------------------------------------------

    def _policy(self, key: IssuedKey) -> cam.Policy:
        with self._lock:
            parsed = self._policies.get(key.secret_id)
        if parsed is None:
            if key.policy_text is None:
                parsed = cam.PolicyError(
                    "the key was issued without a policy (AssumeRole without Policy grants the "
                    "role's own rights, which the local COS does not know)"
                )
            else:
                try:
                    parsed = cam.parse_policy(key.policy_text)
                except cam.PolicyError as exc:
                    parsed = exc
            with self._lock:
                self._policies[key.secret_id] = parsed
        if isinstance(parsed, cam.PolicyError):
            # Fails closed: a policy COS would not understand allows nothing.
            raise AccessDenied(detail=f"the key's policy cannot be evaluated: {parsed}")
        return parsed
