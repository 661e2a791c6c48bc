"""The dry run: the exact policy a request would send to STS, and what it allows.

Operators use it to answer "why did my upload get 403?" before deploying (and,
for a ticket request, to see the form or signed headers a ticket would carry). It
runs the handler's own steps (token check, body parsing, `plan_grant`) and never
calls STS. Each ``--check`` is decided by the local COS's own evaluator
(`cos.cam.decide`, with the resource `cos.request.resource_for` computes), so
the dry run and the local COS cannot disagree: one evaluator, one reading.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from sts_core.config_model import Config
from sts_core.credential_request import CredentialRequest, parse_credential_request
from sts_core.errors import ApiError
from sts_core.grant import caller_target, plan_grant
from sts_core.issued_credentials import IssuedCredentials
from sts_core.object_keys import random_name
from sts_core.policy import RootGrant
from sts_core.sts_client import ASSUME_ROLE, federation_name, role_session_name
from sts_core.ticket_signing_key import kind_of, signer_policy
from sts_core.tickets import plan_ticket
from sts_core.tokens import TokenVerifier
from sts_core.url_encoding import url_encode
from sts_tools.emulators.cos import cam
from sts_tools.emulators.cos.actions import ACTION_OF, PER_KEY_ACTION, SOURCE_ACTION, Api
from sts_tools.emulators.cos.request import LIST_RESOURCE_PREFIX, Bucket, resource_for

# What the official SDKs send by default and the product's conditions look at
# (docs/tencent/cos-api.md §8): a Content-Length on requests with a body (0 on an empty one).
BODY_APIS = frozenset(
    {"PutObject", "PostObject", "AppendObject", "UploadPart", "CompleteMultipartUpload",
     "InitiateMultipartUpload"}
)  # fmt: skip


def explain(
    config: Config,
    verifier: TokenVerifier,
    *,
    token: Optional[str] = None,
    user: Optional[str] = None,
    body: bytes = b"",
    checks: Sequence[tuple[str, str]] = (),
    source_ip: Optional[str] = None,
    values: Optional[Mapping[str, str]] = None,
    list_resource: str = LIST_RESOURCE_PREFIX,
    claims: Optional[Mapping[str, Any]] = None,
) -> tuple[str, int]:
    """The report and an exit status: 0 when every check is allowed, 1 otherwise.
    `claims` stand in for the token's with --user (roots may name a claim)."""
    lines: list[str] = []
    try:
        if token is not None:
            user_id, claims = verifier.identity(f"Bearer {token}")
            lines.append(f"user:     {user_id}  (token verified)")
        else:
            user_id = user or ""
            lines.append(f"user:     {user_id}  (token check skipped: --user)")
        ask = parse_credential_request(body, config)
        if ask.ticket is not None:
            return explain_ticket(config, user_id, ask, claims, lines)
        grant = plan_grant(config, user_id, ask, source_ip, claims)
    except ApiError as error:
        lines.append(f"REFUSED   {error.status} {error.code}: {error.message}")
        return "\n".join(lines), 1

    sts = config.sts
    if sts.action == ASSUME_ROLE:
        call = f"AssumeRole RoleArn={sts.role_arn} RoleSessionName={role_session_name(user_id)}"
    else:
        call = f"GetFederationToken Name={federation_name(user_id)}"
    lines += [
        f"profile:  {ask.profile.name}",
        f"duration: {ask.duration} s",
        f"bucket:   {grant.target.bucket} ({grant.target.region})",
        f"root:     {grant.target.root}"
        + ("  (a new folder for every credential)" if ask.profile.fresh_folder else ""),
        *grant_lines(grant.target.root_grants(ask.profile.actions)),
        *wildcard_notes(ask.profile.content_types),
        f"STS call: {call} DurationSeconds={ask.duration} (region {sts.region}, {sts.endpoint})",
        "",
        "policy, exactly as sent (URL-encoded into the Policy parameter):",
        grant.policy_text,
        "",
        "policy, readable:",
        json.dumps(grant.policy, indent=2, ensure_ascii=False),
    ]
    status = 0
    if checks:
        policy = cam.parse_policy(grant.policy_text)
        bucket = Bucket(grant.target.bucket, grant.target.region)
        lines += ["", f"checks (the local COS's evaluator; listings read as {list_resource}):"]
        width = max(len(action) for action, _ in checks)
        for action, key in (one for asked in checks for one in expand(*asked)):
            assumed = request_values(action, key, source_ip, values or {})
            decision = check(policy, bucket, action, key, assumed, list_resource)
            status |= 0 if decision.allowed else 1
            mark = "ALLOW" if decision.allowed else "DENY "
            shown = ", ".join(f"{k}={v}" for k, v in sorted(assumed.items()))
            lines.append(f"  {mark}  {action:<{width}}  {key}  - {decision.reason}")
            lines.append(f"  {'':5}  {'':<{width}}  (request assumed: {shown})")
    return "\n".join(lines), status


# The dry run signs with no real key: these stand in for the function's signing key.
DRY_SIGNER = IssuedCredentials("AKID-the-functions-signing-key", "dry-run", "<token>", 0,
                               2**31 - 1)  # fmt: skip


def explain_ticket(
    config: Config,
    user_id: str,
    ask: CredentialRequest,
    claims: Optional[Mapping[str, Any]],
    lines: list[str],
) -> tuple[str, int]:
    """A ticket request: the ticket the function would sign (with a stand-in key),
    and the policy of the function's own signing key (ticket_signing_key.py)."""
    wanted = ask.ticket
    if wanted is None:
        raise ValueError("not a ticket request")
    target = caller_target(config, ask.profile, user_id, claims or {})
    ticket = plan_ticket(ask.profile, target, wanted, DRY_SIGNER, config.cos_endpoint,
                         time.time(), random_name)  # fmt: skip
    lines += [
        f"profile:  {ask.profile.name}",
        f"ticket:   {ticket.method} {ticket.url.split('?', 1)[0]}",
        f"key:      {ticket.key}  (inside {target.root}, chosen by the function)",
        f"expires:  {ticket.expired_time - int(time.time())} s after it is signed",
        "no STS call per ticket: signed with the function's own key, which STS issues "
        f"about once per {config.ticket_signer_duration} s per instance (shared with Redis)",
    ]
    if ticket.fields is not None:
        policy = json.loads(base64.b64decode(ticket.fields["policy"]))
        lines += ["", "form policy (COS refuses a form that differs):",
                  json.dumps(policy, indent=2)]  # fmt: skip
    if ticket.headers is not None:
        lines += ["", "signed headers (sent exactly, or COS refuses the signature):"]
        lines += [f"  {name}: {value}" for name, value in ticket.headers.items()]
    kind = kind_of(ticket.method)
    lines += ["", f"the signing key's policy ({kind} tickets of every profile, nothing else):",
              json.dumps(signer_policy(config, kind=kind), indent=2)]  # fmt: skip
    return "\n".join(lines), 0


def grant_lines(grants: Sequence[RootGrant]) -> list[str]:
    """Every grant of the profile, as rendered for this caller."""
    lines = ["grants:"]
    for grant in grants:
        kind = "own root" if grant.per_user else "shared area"
        lines.append(f"  {grant.root:<24} ({kind}): {', '.join(grant.actions)}")
    return lines


def wildcard_notes(content_types: Sequence[str]) -> list[str]:
    """What a `type/*` admits: CAM's string_like matches any text with that start."""
    return [
        f"note:     content type {pattern!r} is a string_like match: it admits any value "
        f"starting with {pattern[:-1]!r}, e.g. {pattern[:-1]}svg+xml (scripts run when "
        f"served inline) and '{pattern[:-1]}png, text/html'; list exact types instead"
        for pattern in content_types
        if pattern.endswith("/*")
    ]


def expand(action: str, key: str) -> list[tuple[str, str]]:
    """The CAM checks behind one --check. The APIs whose name is no CAM action are
    expanded as the local COS decides them: `PutObjectCopy SOURCE>DESTINATION` (and
    `UploadPartCopy`) as the write on the destination plus GetObject on the source;
    `DeleteMultipleObjects KEY1,KEY2` as a DeleteObject per key."""
    name = action.rpartition(":")[2]
    if name in ACTION_OF:
        source, _, destination = key.partition(">")
        return [("name/cos:" + ACTION_OF[name], destination), (SOURCE_ACTION, source)]
    if name in PER_KEY_ACTION:
        return [(PER_KEY_ACTION[name], one) for one in key.split(",")]
    return [(action, key)]


def request_values(
    action: str, key: str, source_ip: Optional[str], given: Mapping[str, str]
) -> dict[str, str]:
    """The condition values of the request a check imagines: what an SDK sends by
    default for `action` on `key` (a listing's prefix parameter), from `source_ip`,
    overridden by `given`."""
    values = {"qcs:ip": source_ip or "127.0.0.1"}
    name = action.rpartition(":")[2]
    if name in BODY_APIS:
        values["cos:content-length"] = "0"
    if Api(name).bucket_level and key:
        # The listing's prefix parameter, compared URL-encoded (docs/tencent/cam-policy.md §7).
        values["cos:prefix"] = url_encode(key.lstrip("/"))
    values.update(given)
    return values


def check(
    policy: cam.Policy,
    bucket: Bucket,
    action: str,
    key: str,
    values: Mapping[str, str],
    list_resource: str = LIST_RESOURCE_PREFIX,
) -> cam.Decision:
    """What the local COS decides for `action` on `key` (a listing's prefix for
    bucket-level actions) with these condition values."""
    key = key[1:] if key.startswith("/") else key
    api = Api(action[len("name/cos:") :] if action.startswith("name/cos:") else action)
    resource = resource_for(bucket, api, key, key, list_resource)
    return cam.decide(policy, action, resource, values)
