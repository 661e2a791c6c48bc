"""The request path, top to bottom, in `handle`: parse the trigger event, route,
read the body (or sign a mini program's user in: login.py), verify the caller's token
(then the operator's revocations), render the caller's own prefix, build
and guard the policy, reuse keys issued for it (this instance's, else with Redis
any instance's) or, within the rate limits, ask STS, answer.

Each step raises an `ApiError` carrying the status the caller should see; the
handler never lets an exception escape. `index.main_handler` is this with the
instance's service; the local tooling and the tests call it with theirs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional, Union

from sts_core.access_log import RequestLog, log_event
from sts_core.config_model import LOGIN_PROVIDERS, Config, Profile
from sts_core.config_section import ConfigError
from sts_core.cos_actions import CREATE_ACTIONS
from sts_core.credential_request import CredentialRequest, parse_credential_request
from sts_core.errors import (
    ApiError,
    Forbidden,
    MethodNotAllowed,
    Misconfigured,
    NotFound,
    QuotaUnavailable,
)
from sts_core.grant import bound_address, caller_target, plan_grant
from sts_core.http import error_response, json_response
from sts_core.issued_credentials import IssuedCredentials
from sts_core.object_keys import random_name
from sts_core.policy import PolicyViolation, Target
from sts_core.rate_limit import RateLimited
from sts_core.scf_http_event import HttpRequest, parse_event, safe_request_id
from sts_core.service import Service, build_service
from sts_core.sts_client import StsError
from sts_core.tickets import Ticket, TicketRequest, allowed_settings, plan_ticket
from sts_core.user_digest import user_digest

if TYPE_CHECKING:
    from sts_core.quota import Quota, Usage

STAGES = ("/release", "/prepub", "/test")


def start(env: Mapping[str, str], config_path: str) -> Union[Service, ConfigError]:
    """Cold start: build the service, or keep the config error to fail closed with."""
    try:
        return build_service(env, config_path)
    except ConfigError as error:
        log_event("startup", outcome="misconfigured", error=str(error))
        return error


def handle(service: Union[Service, ConfigError], event: Any, context: Any) -> dict[str, Any]:
    """One invocation: a COS trigger's event, else an HTTP request."""
    context = context if isinstance(context, Mapping) else {}
    # 0. A COS trigger's event: the raw notification, never in an HTTP envelope (an
    #    HTTP caller's data is inside one). Its code loads only when one arrives.
    if isinstance(event, Mapping) and "Records" in event and "httpMethod" not in event:
        from sts_core.uploads import handle_cos_event

        return handle_cos_event(service, event, context)
    return handle_http(service, event, context)


def handle_http(
    service: Union[Service, ConfigError], event: Any, context: Mapping[str, Any]
) -> dict[str, Any]:
    """The request path, top to bottom."""
    started = time.monotonic()
    # SCF's id, else the trigger's (both bounded to a safe alphabet: a Function URL
    # header could be the client's); a new one only when invoked by hand.
    request_id = safe_request_id(context.get("request_id")) or ""
    raw_ids = isinstance(service, Service) and service.config.log_raw_user_id
    log = RequestLog(request_id, raw_user_id=raw_ids)
    headers: dict[str, str] = {}
    try:
        if not isinstance(service, Service):
            raise Misconfigured(str(service))

        # 1. The HTTP request, whichever trigger (API Gateway, Function URL) sent it.
        request = parse_event(event)
        request_id = request_id or request.gateway_request_id or new_request_id()
        log.set(requestId=request_id, trigger=request.kind, method=request.method)
        if request.gateway_request_id not in (None, request_id):
            log.set(gatewayRequestId=request.gateway_request_id)
        headers = {"X-Request-Id": request_id, **service.cors.headers(request.header("origin"))}

        # 2-9. The answer, and the outcome the log line records.
        outcome, response = respond(service, request, context, started, log, headers)
        log.write(outcome, response["statusCode"], elapsed_ms(started))
        return response
    except Exception as exc:
        error = as_api_error(exc, log)
        request_id = request_id or new_request_id()
        headers.setdefault("X-Request-Id", request_id)
        log.set(requestId=request_id, error=error.code)
        outcome = "rejected" if error.status < 500 else "failed"
        log.write(outcome, error.status, elapsed_ms(started))
        return error_response(error, request_id, headers)


def respond(
    service: Service,
    request: HttpRequest,
    context: Mapping[str, Any],
    started: float,
    log: RequestLog,
    headers: dict[str, str],
) -> tuple[str, dict[str, Any]]:
    """Steps 2 to 9 of `handle` for a parsed request: (outcome, response); a refusal
    is raised (ApiError) and answered by `handle`."""
    config = service.config

    # 2. Routing: path (or the sign-in beside it), CORS preflight, method.
    provider = login_provider(config.path, request.path)
    if provider is None and not path_matches(config.path, request.path):
        raise NotFound("not_found", "there is no credential endpoint at this path")
    if request.method == "OPTIONS":
        return "preflight", service.cors.preflight(request.header("origin"), headers)
    if request.method != "POST":
        raise MethodNotAllowed(request.method)

    # 3. The body, bounded before anything reads it.
    body = request.body(config.max_body_bytes)
    deadline = invocation_deadline(context, started, config)

    # 3l. Sign-in for mini programs: a wx.login code in, the function's own
    #     session token out (sts_core/login.py, loaded only when configured).
    if provider is not None:
        answer = sign_in(service, provider, body, request.source_ip, deadline, log)
        return "signed_in", json_response(200, answer, headers)

    # 4. Who is asking: a verified token's user-ID claim (a key-set fetch, if
    #    one is needed, stays within the invocation's time).
    user_id, claims = service.verifier.identity(request.header("authorization"), deadline)
    log.user(user_id)
    # 4r. Users an operator stopped, and tokens issued before their cut-off.
    generation = revocation_check(service, user_id, claims, deadline, log)

    # 5. What they ask for: profile, lifetime, optional COS SDK scope.
    ask = parse_credential_request(body, config, request.query)
    log.set(profile=ask.profile.name)
    source_ip = request.client_ip(config.trust_function_url_address)

    # 5t. A ticket instead of keys: one COS request for a key chosen here, signed
    #     with the function's own temporary key (no STS call per ticket), within
    #     the caller's rate limit; with a quota, its size reserved exactly.
    if ask.ticket is not None:
        answer = hand_out_ticket(
            service, ask, ask.ticket, user_id, claims, deadline, log, source_ip
        )
        return "ticket", json_response(200, answer, headers)

    log.set(durationSeconds=ask.duration)

    # 6-7. Where they may act and the policy for it: the profile's grants on
    #      their own root (users/alice/*) and any declared shared area, narrowed
    #      by the scope, bound to their address if the profile says so, capped
    #      in size, then guarded whatever the config says.
    #      With a quota, keys are refused at or over it, and their simple
    #      uploads capped at the bytes left (approximate: docs/uploads.md).
    ask = quota_for_keys(service, user_id, ask, deadline, log)
    grant = plan_grant(config, user_id, ask, source_ip, claims)

    # 8. Temporary keys: reused while they have enough life left (this
    #    instance's, else with Redis any instance's); otherwise, if the
    #    caller's and the function's rate limits allow, from STS within the
    #    invocation's remaining time. Redis trouble only ever means asking STS.
    #    Keys are reused per user even where two users' policies are identical
    #    (a profile of shared areas only): STS named the session after one user.
    issued = obtain_keys(service, user_id, grant.policy_text, ask, deadline, log, generation)

    # 9. The answer, in the shape the COS client SDKs consume.
    log.set(tmpSecretId=issued.tmp_secret_id)  # public: "whose key is AKID..."
    answer = credentials_body(issued, grant.target, ask.profile.name)
    return "issued", json_response(200, answer, headers)


def obtain_keys(
    service: Service,
    user_id: str,
    policy_text: str,
    ask: CredentialRequest,
    deadline: float,
    log: RequestLog,
    generation: int = 0,
) -> IssuedCredentials:
    reuse_key = f"{user_digest(user_id)}\n{policy_text}"
    if generation:  # keys cached before the user's revocation cut-off are never reused
        reuse_key = f"{generation}\n{reuse_key}"
    issued = reuse(service, reuse_key, ask.duration, deadline, log)
    if issued is not None:
        log.set(stsRequestId=issued.request_id)
        return issued
    admit(service, user_id, deadline, log)
    issued = service.issuer.issue(service.env, user_id, policy_text, ask.duration, deadline)
    owners = service.key_owners
    if owners is not None:  # for COS events: whose key signed an upload
        try:
            owners.remember(issued.tmp_secret_id, user_id, issued.expired_time, deadline)
        except Exception as error:  # Redis trouble: this instance still knows
            log.redis_failed(getattr(error, "kind", "error"))
    if not ask.profile.fresh_folder:  # a fresh folder's keys are never asked again
        remember(service, reuse_key, ask.duration, issued, deadline, log)
    log.set(stsRequestId=issued.request_id, stsRetries=issued.attempts - 1)
    return issued


def reuse(
    service: Service, reuse_key: str, duration: int, deadline: float, log: RequestLog
) -> Optional[IssuedCredentials]:
    """Keys issued for exactly this user, policy and duration with enough life left."""
    local, shared = service.cache, service.shared
    if local is None:
        log.set(cache="off")
        return None
    issued = local.get(reuse_key, duration)
    if issued is not None:
        log.set(cache="hit")
        return issued
    log.set(cache="miss")
    if shared is None:
        return None
    try:
        issued = shared.get(reuse_key, duration, deadline)
    except shared.link.Error as error:
        log.set(cache="shared-error")
        log.redis_failed(error.kind)
        return None
    if issued is not None:
        local.put(reuse_key, duration, issued)
        log.set(cache="shared-hit")
    return issued


def sign_in(
    service: Service,
    provider: str,
    body: bytes,
    address: Optional[str],
    deadline: float,
    log: RequestLog,
) -> dict[str, Any]:
    """The sign-in's answer (sts_core/login.py, imported on the first sign-in)."""
    if service.login is None:
        raise NotFound("not_found", f"sign-in with {provider} is not enabled here")
    from sts_core.login import sign_in as login_with_code

    return login_with_code(
        service.login, service.config, service.revocations, provider, body, address, deadline, log
    )


def revocation_check(
    service: Service, user_id: str, claims: Mapping[str, Any], deadline: float, log: RequestLog
) -> int:
    """403 for a revoked user, 401 for a token older than their cut-off; else the
    cut-off (0: none), which keys the user's reused keys."""
    if service.revocations is None:
        return 0
    return service.revocations.check(user_id, claims, deadline, log.redis_failed)


def admit(service: Service, user_id: str, deadline: float, log: RequestLog) -> None:
    """Only before an STS call: a token from the caller's and the global bucket,
    or 429 with Retry-After."""
    if service.limiter is None:
        return
    admission = service.limiter.admit(user_id, deadline, use_shared=log.redis_ok)
    if admission.failure:
        log.redis_failed(admission.failure)
    log.set(limit=admission.where)
    if not admission.decision.allowed:
        log.set(limited=admission.decision.limited)
        raise RateLimited(admission.decision.retry_after)


def remember(
    service: Service,
    reuse_key: str,
    duration: int,
    issued: IssuedCredentials,
    deadline: float,
    log: RequestLog,
) -> None:
    if service.cache is not None:
        service.cache.put(reuse_key, duration, issued)
    shared = service.shared
    if shared is not None and log.redis_ok:
        try:
            shared.put(reuse_key, duration, issued, deadline)
        except shared.link.Error as error:
            log.redis_failed(error.kind)


def hand_out_ticket(
    service: Service,
    ask: CredentialRequest,
    wanted: TicketRequest,
    user_id: str,
    claims: Mapping[str, Any],
    deadline: float,
    log: RequestLog,
    source_ip: Optional[str] = None,
) -> dict[str, Any]:
    """The profile must give this kind of ticket (403); the caller's roots and address
    binding as for keys; the rate limit as for a new key; the signing key; the ticket;
    with a quota, its size reserved (403 when it does not fit)."""
    log.set(ticket=wanted.method)
    allowed_settings(ask.profile, wanted)
    config = service.config
    target = caller_target(config, ask.profile, user_id, claims)
    address = bound_address(source_ip) if ask.profile.bind_ip else None
    admit(service, user_id, deadline, log)
    if service.tickets is None:  # built whenever a profile gives tickets
        raise Misconfigured("a profile gives tickets but the service has no ticket signer")
    signer = service.tickets.key(service.env, deadline, log.set, address, wanted.method)
    upload = wanted.method != "get"
    ticket = plan_ticket(
        ask.profile, target, wanted, signer, config.cos_endpoint, service.tickets.now(),
        random_name, random_name() if upload else None,
    )  # fmt: skip
    log.set(objectKey=ticket.key, ticketId=ticket.ticket_id)
    if upload and service.quota is not None and uploads_to_own_root(ask.profile):
        reserve_ticket(service.quota, user_id, ticket, deadline, log)
    return {
        "ticket": ticket.answer(),
        "bucket": target.bucket,
        "region": target.region,
        "prefix": target.root,
        "profile": ask.profile.name,
    }


def uploads_to_own_root(profile: Profile) -> bool:
    return bool(profile.grants and profile.grants[0].per_user
                and set(profile.grants[0].actions) & set(CREATE_ACTIONS))  # fmt: skip


def quota_for_keys(
    service: Service, user_id: str, ask: CredentialRequest, deadline: float, log: RequestLog
) -> CredentialRequest:
    """`ask` with its profile's simple uploads capped at the bytes left (403 at or over
    the quota); unchanged without a quota or uploads to the user's own root."""
    quota = service.quota
    if quota is None or not uploads_to_own_root(ask.profile):
        return ask
    usage = check_quota(quota, user_id, deadline, log)
    return ask._replace(profile=within_quota(ask.profile, quota, usage))


def check_quota(quota: Quota, user_id: str, deadline: float, log: RequestLog) -> Usage:
    """Keys: 403 quota_exceeded at or over the quota (usage and reservations); one
    Redis round trip. Redis trouble fails closed (503): a quota is a promise."""
    try:
        check = quota.check(user_id, deadline)
    except quota.link.Error as error:
        log.redis_failed(error.kind)
        raise QuotaUnavailable() from None
    if not check.allowed:
        log.set(quota="refused")
        raise Forbidden("quota_exceeded", f"upload quota reached: {quota.limits_text(check.usage)}")
    return check.usage


def reserve_ticket(
    quota: Quota, user_id: str, ticket: Ticket, deadline: float, log: RequestLog
) -> None:
    size = ticket.max_size or 0
    try:
        check = quota.reserve(user_id, ticket.ticket_id or "", size, ticket.expired_time, deadline)
    except quota.link.Error as error:
        log.redis_failed(error.kind)
        raise QuotaUnavailable() from None
    if not check.allowed:
        log.set(quota="refused")
        raise Forbidden(
            "quota_exceeded",
            f"a {size}-byte upload would exceed the quota: {quota.limits_text(check.usage)}",
        )
    log.set(quota="reserved")


def within_quota(profile: Profile, quota: Quota, usage: Usage) -> Profile:
    """The profile with its simple-upload size limit lowered to the bytes left, rounded
    down to a power of two (at least half of what is left) so that the policy, and so
    the keys, change only when usage crosses one: STS calls stay as without a quota."""
    left = quota.bytes_left(usage)
    if left is None:
        return profile
    left = 1 << (max(1, left).bit_length() - 1)
    current = profile.max_content_length
    return profile._replace(max_content_length=left if current is None else min(current, left))


def credentials_body(issued: IssuedCredentials, target: Target, profile: str) -> dict[str, Any]:
    # The first five fields are exactly what the official COS STS SDKs return.
    return {
        "credentials": {
            "tmpSecretId": issued.tmp_secret_id,
            "tmpSecretKey": issued.tmp_secret_key,
            "sessionToken": issued.session_token,
        },
        "startTime": issued.start_time,
        "expiredTime": issued.expired_time,
        "expiration": issued.expiration,
        "requestId": issued.request_id,
        "bucket": target.bucket,
        "region": target.region,
        "prefix": target.root,
        "profile": profile,
    }


def login_provider(configured: str, path: str) -> Optional[str]:
    """`wechat` for ``<path>/login/wechat`` (any known provider, API Gateway stage
    prefixes as for the credential path); None for every other path."""
    head, separator, provider = path.rstrip("/").rpartition("/login/")
    if not separator or provider not in LOGIN_PROVIDERS:
        return None
    return provider if path_matches(configured, head or "/") else None


def path_matches(configured: str, path: str) -> bool:
    """The configured path, optionally behind an API Gateway stage segment."""
    if configured == "*":
        return True
    path = path.rstrip("/") or "/"
    configured = configured.rstrip("/") or "/"
    return path == configured or any(path == stage + configured for stage in STAGES)


def invocation_deadline(context: Mapping[str, Any], started: float, config: Config) -> float:
    """Monotonic time by which STS must have answered, leaving a safety margin."""
    limit = context.get("time_limit_in_ms")
    try:
        seconds = float(limit) / 1000 if limit is not None else config.sts.default_time_limit
    except (TypeError, ValueError):
        seconds = config.sts.default_time_limit
    return started + seconds - config.sts.deadline_margin


def as_api_error(exc: Exception, log: RequestLog) -> ApiError:
    """The caller-facing error for any failure; internal details go to the log only."""
    if isinstance(exc, StsError):
        log.set(stsCode=exc.code, stsRequestId=exc.request_id, stsRetries=max(0, exc.attempts - 1))
        failure = exc.failure
        retry = {"Retry-After": failure.retry_after} if failure.retry_after else None
        return ApiError(failure.code, failure.message, retry, status=failure.status)
    if isinstance(exc, ApiError):
        if exc.detail:
            log.set(detail=exc.detail)
        return exc
    if isinstance(exc, PolicyViolation):
        log.set(detail=f"policy guard: {exc}")
        return Misconfigured("policy guard refused the rendered policy")
    # A bug: record where, not the exception text (it could quote request data).
    import traceback  # only here: a rare path kept off the cold start

    frame = traceback.extract_tb(exc.__traceback__)[-1]
    log.set(
        exception=type(exc).__name__, where=f"{os.path.basename(frame.filename)}:{frame.lineno}"
    )
    return ApiError("internal_error", "the credential service failed; try again later")


def new_request_id() -> str:
    """Only when invoked without an SCF context (by hand, in tests)."""
    import uuid  # imports platform on 3.9: kept off the cold start

    return str(uuid.uuid4())


def elapsed_ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
