"""What one warm SCF instance keeps between invocations: validated config, token
verifier, STS client (with its keep-alive session) and CORS rules.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple, Optional

from .config import JWKS, Config, load_config
from .credential_cache import CredentialCache
from .http import Cors
from .sts_client import RetryPolicy, StsClient
from .tokens import TokenVerifier


class Service(NamedTuple):
    config: Config
    verifier: TokenVerifier
    sts: StsClient
    cors: Cors
    env: Mapping[str, str]  # read per invocation: role credentials rotate
    cache: Optional[CredentialCache] = None


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
        key = env.get("STS_JWT_SECRET", "")
    cache = None
    if config.cache_enabled:
        cache = CredentialCache(config.cache_max_entries, config.cache_min_remaining)
    return Service(
        config=config,
        verifier=TokenVerifier(auth, key),
        sts=sts,
        cors=Cors(config.cors_origins, config.cors_max_age),
        env=env,
        cache=cache,
    )
