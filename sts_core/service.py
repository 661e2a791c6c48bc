"""What one warm SCF instance keeps between invocations: validated config, token
verifier, STS client (with its keep-alive session), CORS rules, the key cache and
rate limits, and, when STS_REDIS_URL is set, the connection to Redis they share.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, Optional

from .config_loading import load_config
from .config_model import JWKS, Config
from .config_section import ConfigError
from .credential_cache import CredentialCache
from .http import Cors
from .issuer import Issuer, issuer_for
from .key_owners import KeyOwners
from .rate_limit import RateLimiter
from .rotation import rotating_secrets
from .sts_client import RetryPolicy, StsClient
from .ticket_signing_key import TicketSigner
from .tokens import TokenVerifier

if TYPE_CHECKING:
    from .login import Login
    from .quota import Quota
    from .redis_link import RedisLink
    from .revocation import Revocations
    from .shared_cache import SharedCache
    from .webhook import Webhook


class Service(NamedTuple):
    config: Config
    verifier: TokenVerifier
    sts: StsClient
    issuer: Issuer  # GetFederationToken or AssumeRole, chosen at cold start
    cors: Cors
    env: Mapping[str, str]  # read per invocation: role credentials rotate
    cache: Optional[CredentialCache] = None
    shared: Optional[SharedCache] = None  # keys reused across instances (Redis)
    limiter: Optional[RateLimiter] = None
    tickets: Optional[TicketSigner] = None  # when a profile hands out tickets
    login: Optional[Login] = None  # sign-in for mini programs, when a provider is on
    revocations: Optional[Revocations] = None  # when users are stopped, or with Redis
    key_owners: Optional[KeyOwners] = None  # who was issued which key (COS events)
    quota: Optional[Quota] = None  # with `quota` (Redis)
    webhook: Optional[Webhook] = None  # with STS_WEBHOOK_URL


def build_service(
    env: Mapping[str, str] = os.environ, default_config: str = "config.yml"
) -> Service:
    """Load and validate everything once; raises ConfigError naming the bad key."""
    return service_for(load_config(env.get("STS_CONFIG") or default_config, env), env)


def service_for(config: Config, env: Mapping[str, str]) -> Service:
    settings = config.sts
    sts = StsClient(
        settings.endpoint,
        settings.region,
        RetryPolicy(
            max_attempts=settings.max_attempts,
            base_delay=settings.base_delay,
            max_delay=settings.max_delay,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        ),
    )
    auth = config.auth
    if auth.mode == JWKS:
        from .jwks import JwksKeys  # key-set deployments only

        key: object = JwksKeys(
            jwks_url=auth.jwks_url,
            issuer=auth.issuer,
            ttl=auth.jwks_ttl,
            refetch_interval=auth.jwks_refetch_interval,
            timeout=auth.jwks_timeout,
        )
    else:
        # The current secret, then any previous ones still accepted (rotation.py).
        key = rotating_secrets(env, "STS_JWT_SECRET") or ("",)
    link = redis_link(config, env, sts.retry.min_attempt_time) if config.redis.enabled else None
    cache = shared = None
    if config.cache_enabled:
        cache = CredentialCache(config.cache_max_entries, config.cache_min_remaining)
        if link is not None and config.cache_shared:
            shared = shared_cache(link, config.cache_min_remaining)
    limiter = RateLimiter(config.rate_limit, link) if config.rate_limit.enabled else None
    issuer = issuer_for(settings, sts)
    tickets = None
    if any(profile.tickets is not None for profile in config.profiles.values()):
        tickets = TicketSigner(config, issuer, shared)
    verifier: TokenVerifier = TokenVerifier(auth, key)
    login = None
    if config.login.providers:  # the sign-in code is loaded only when it is used
        from .login import build_login
        from .session_tokens import EitherVerifier

        login = build_login(config, env, link)
        verifier = EitherVerifier(login.sessions, verifier)  # type: ignore[assignment]
    revocations = None
    revocation = config.revocation
    if link is not None or revocation.users or revocation.not_before:
        from .revocation import Revocations

        revocations = Revocations(revocation, link)
    uploads = uploads_state(config, env, link)
    return Service(
        config=config,
        verifier=verifier,
        sts=sts,
        issuer=issuer,
        cors=Cors(config.cors_origins, config.cors_max_age),
        env=env,
        cache=cache,
        shared=shared,
        limiter=limiter,
        tickets=tickets,
        login=login,
        revocations=revocations,
        **uploads,
    )


def uploads_state(
    config: Config, env: Mapping[str, str], link: Optional[RedisLink]
) -> dict[str, object]:
    """Who holds which key (in Redis too when configured, so any instance's event
    names the uploader), the quota and the webhook: their modules load only when
    configured."""
    state: dict[str, object] = {"key_owners": KeyOwners(link)}
    if config.quota is not None and link is not None:
        import time

        from .quota import Quota

        state["quota"] = Quota(link, config.quota, time.time)
    if config.webhook:
        from .webhook import Webhook

        state["webhook"] = Webhook(env["STS_WEBHOOK_URL"], env["STS_WEBHOOK_SECRET"])
    return state


MISSING_EXTRA = "Redis needs the redis extra (requirements-redis.txt): `make package REDIS=1`"


def redis_link(config: Config, env: Mapping[str, str], reserve: float) -> RedisLink:
    """The Redis connection (not yet opened); config_validation.py has validated the variables.
    Imports redis now, at cold start, so a package without it fails closed here."""
    settings = config.redis
    try:
        from .redis_link import RedisLink

        return RedisLink(
            env.get("STS_REDIS_URL", ""),
            env.get("STS_CACHE_KEY", "").encode("utf-8"),
            timeout=settings.timeout,
            cooldown=settings.cooldown,
            reserve=reserve,
            key_prefix=settings.key_prefix,
        )
    except ImportError:
        raise ConfigError("STS_REDIS_URL", MISSING_EXTRA) from None
    except (ValueError, TypeError):  # an option in the URL's query redis-py refuses
        raise ConfigError("STS_REDIS_URL", "has an option redis-py cannot use") from None


def shared_cache(link: RedisLink, min_remaining: Optional[int]) -> SharedCache:
    try:
        from .shared_cache import SharedCache

        return SharedCache(link, min_remaining)
    except ImportError:
        raise ConfigError("STS_REDIS_URL", MISSING_EXTRA) from None
