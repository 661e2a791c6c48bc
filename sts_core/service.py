"""What one warm SCF instance keeps between invocations: validated config, token
verifier, STS client (with its keep-alive session) and CORS rules.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from .config import Config, load_config
from .http import Cors
from .sts_client import RetryPolicy, StsClient
from .tokens import TokenVerifier


class Service(NamedTuple):
    config: Config
    verifier: TokenVerifier
    sts: StsClient
    cors: Cors
    env: Mapping[str, str]  # read per invocation: role credentials rotate


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
    return Service(
        config=config,
        verifier=TokenVerifier(config.auth, env.get("STS_JWT_SECRET", "")),
        sts=sts,
        cors=Cors(config.cors_origins, config.cors_max_age),
        env=env,
    )
