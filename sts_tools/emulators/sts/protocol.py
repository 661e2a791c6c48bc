"""How the local STS reads a request and answers it, as Tencent STS does
(docs/tencent/sts.md): the TC3-HMAC-SHA256 signature over the received bytes,
the 5-minute timestamp window, the X-TC-* headers, the session token of
temporary keys, required parameters, duration limits and the policy
(URL-encoded JSON, version 2.0, no `principal`). Errors are STS's own: HTTP 200
with ``Response.Error``.

Where STS behaviour is undocumented (which code a given refusal uses, the
inline-policy size limit) the closest documented code and a strict limit are
chosen, so a wrong guess shows up as a refusal here first.

Other signature schemes plug in by Content-Type (`Scheme`); the benchmark adds
the v1 signature an older SDK sends (bench/sts_v1.py).
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import unquote

from sts_core.tc3_signing import TC3Signer
from sts_core.utc_time import utc_date
from sts_tools.emulators.sts.backend import Call, EmulatorKey, StsBackend

SIGNATURE_WINDOW = 300
ROLE_ARN_RE = re.compile(r"^qcs::cam::uin/\d+:(role|roleName)/[\w+=,.@/-]{1,128}$")
SESSION_NAME_RE = re.compile(r"^[\w+=,.@-]{2,128}$", re.ASCII)
_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)"
    r"/tc3_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)
_SIGNER = TC3Signer("sts")


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Signed:
    """An authenticated request, whichever signature scheme it used."""

    secret_id: str
    key: EmulatorKey
    action: str
    version: str
    region: str
    params: dict[str, Any]
    token_sent: bool


# (backend, lower-case headers, body) -> Signed, or Refusal
Scheme = Callable[[StsBackend, Mapping[str, str], bytes], Signed]


def error_document(code: str, message: str) -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message},
                         "RequestId": str(uuid.uuid4())}}  # fmt: skip


def answer(
    backend: StsBackend,
    headers: Mapping[str, str],
    body: bytes,
    schemes: Optional[Mapping[str, Scheme]] = None,
) -> dict[str, Any]:
    """The JSON document STS would send for one POST."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    verify = (schemes or {}).get(content_type, verify_tc3)
    try:
        signed = verify(backend, headers, body)
        result = serve(backend, signed)
    except Refusal as refusal:
        return error_document(refusal.code, refusal.message)
    result["RequestId"] = str(uuid.uuid4())
    return {"Response": result}


def serve(backend: StsBackend, signed: Signed) -> dict[str, Any]:
    if signed.version != "2018-08-13":
        raise Refusal("NoSuchVersion", "The requested version does not exist.")
    if signed.action not in ("GetFederationToken", "AssumeRole"):
        raise Refusal("InvalidAction", f"The action {signed.action!r} is not supported.")
    if not signed.region:
        raise Refusal("MissingParameter", "The request is missing the Region parameter.")
    params = signed.params
    if signed.action == "GetFederationToken":
        if signed.key.temporary:
            # STS: "only supports permanent keys".
            raise Refusal("UnauthorizedOperation", "Temporary keys cannot federate.")
        duration = _duration(params, 1800, backend.max_federation_duration)
        name = params.get("Name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z-]{2,64}", name):
            raise Refusal("InvalidParameter.ParamError", "Name must be letters.")
        policy_text = _policy_text(backend, params, required=True)
    else:
        duration = _duration(params, 7200, 43200)
        arn = params.get("RoleArn")
        if not isinstance(arn, str) or not ROLE_ARN_RE.match(arn):
            raise Refusal("ResourceNotFound.RoleNotFound", "The role does not exist.")
        session_name = params.get("RoleSessionName")
        if not isinstance(session_name, str) or not SESSION_NAME_RE.match(session_name):
            raise Refusal("InvalidParameter.ParamError", "RoleSessionName is invalid.")
        external_id = params.get("ExternalId")
        if external_id is not None and (
            not isinstance(external_id, str) or not 2 <= len(external_id) <= 128
        ):
            raise Refusal("InvalidParameter.ParamError", "ExternalId is invalid.")
        policy_text = _policy_text(backend, params, required=False)
    policy = None if policy_text is None else json.loads(policy_text)
    backend.record(
        Call(signed.action, signed.secret_id, signed.region, params, policy, signed.token_sent)
    )
    key = backend.mint(duration, policy_text, signed.action)
    return {
        "Credentials": {
            "TmpSecretId": key.secret_id,
            "TmpSecretKey": key.secret_key,
            "Token": key.token,
        },
        "ExpiredTime": key.expired_time,
        "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(key.expired_time)),
    }


# -- authentication ------------------------------------------------------------------


def check_clock(backend: StsBackend, timestamp: int) -> None:
    if abs(backend.clock() - timestamp) > SIGNATURE_WINDOW:
        raise Refusal(
            "AuthFailure.SignatureExpire",
            "Request timestamp is more than 5 minutes from server time.",
        )


def key_for(backend: StsBackend, secret_id: str) -> EmulatorKey:
    key = backend.keys.get(secret_id)
    if key is None:
        raise Refusal("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    return key


def check_token(key: EmulatorKey, token: Optional[str]) -> None:
    if key.temporary and token != key.token:
        raise Refusal("AuthFailure.TokenFailure", "The session token is invalid.")
    if not key.temporary and token:
        raise Refusal("AuthFailure.TokenFailure", "A permanent key takes no token.")


def verify_tc3(backend: StsBackend, headers: Mapping[str, str], body: bytes) -> Signed:
    match = _AUTH_RE.match(headers.get("authorization", ""))
    if not match:
        raise Refusal("AuthFailure.InvalidAuthorization", "Authorization is malformed.")
    try:
        timestamp = int(headers.get("x-tc-timestamp", ""))
    except ValueError:
        raise Refusal("AuthFailure.InvalidAuthorization", "X-TC-Timestamp is invalid.") from None
    check_clock(backend, timestamp)
    key = key_for(backend, match["id"])
    signed = match["signed"].split(";")
    if "content-type" not in signed or "host" not in signed or signed != sorted(signed):
        raise Refusal("AuthFailure.InvalidAuthorization", "SignedHeaders is invalid.")
    if any(name not in headers for name in signed):
        raise Refusal("AuthFailure.InvalidAuthorization", "A signed header is missing.")
    if match["service"] != "sts" or match["date"] != utc_date(timestamp):
        raise Refusal("AuthFailure.SignatureFailure", "Credential scope mismatch.")
    if headers["content-type"].split(";")[0].strip().lower() != "application/json":
        raise Refusal("InvalidRequest", "Content-Type must be application/json.")
    canonical = _SIGNER.canonical_request("POST", "", headers, signed, body)
    expected = _SIGNER.signature(
        _SIGNER.signing_key(key.secret_key, match["date"]),
        _SIGNER.string_to_sign(timestamp, canonical),
    )
    if not secrets.compare_digest(expected, match["sig"]):
        raise Refusal(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. "
            "Please check your signature is correct.",
        )
    token = headers.get("x-tc-token")
    check_token(key, token)
    try:
        params = json.loads(body)
    except ValueError:
        raise Refusal("InvalidParameter.ParamError", "The body is not JSON.") from None
    if not isinstance(params, dict):
        raise Refusal("InvalidParameter.ParamError", "The body is not a JSON object.")
    return Signed(
        secret_id=match["id"],
        key=key,
        action=headers.get("x-tc-action", ""),
        version=headers.get("x-tc-version", ""),
        region=headers.get("x-tc-region", ""),
        params=params,
        token_sent=bool(token),
    )


# -- parameters ----------------------------------------------------------------------


def _duration(params: Mapping[str, Any], default: int, maximum: int) -> int:
    duration = params.get("DurationSeconds", default)
    if not isinstance(duration, int) or isinstance(duration, bool) or duration < 1:
        raise Refusal("InvalidParameter.ParamError", "DurationSeconds is invalid.")
    if duration > maximum:
        raise Refusal("InvalidParameter.OverTimeError", "DurationSeconds is too long.")
    return duration


def _policy_text(
    backend: StsBackend, params: Mapping[str, Any], *, required: bool
) -> Optional[str]:
    """The decoded policy JSON text, checked as STS checks it."""
    encoded = params.get("Policy")
    if encoded is None and not required:
        return None
    if not isinstance(encoded, str) or not encoded:
        raise Refusal("MissingParameter", "The Policy parameter is required.")
    text = unquote(encoded)
    if len(text) > backend.max_policy_chars:
        raise Refusal("InvalidParameter.PolicyTooLong", "The policy is too long.")
    try:
        policy = json.loads(text)
    except ValueError:
        raise Refusal("InvalidParameter.StrategyFormatError", "Policy is not JSON.") from None
    if not isinstance(policy, dict) or policy.get("version") != "2.0":
        raise Refusal("InvalidParameter.StrategyFormatError", "Policy version must be 2.0.")
    statements = policy.get("statement")
    if not isinstance(statements, list) or not statements:
        raise Refusal("InvalidParameter.StrategyFormatError", "Policy has no statement.")
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("effect") not in ("allow", "deny"):
            raise Refusal("InvalidParameter.StrategyFormatError", "Bad statement.")
        if "principal" in statement:
            raise Refusal("InvalidParameter.StrategyFormatError", "principal is not allowed here.")
        if not statement.get("action") or not statement.get("resource"):
            raise Refusal("InvalidParameter.StrategyFormatError", "Missing action/resource.")
    return text
