"""The function's own Tencent Cloud key, read from the environment on every call.

GetFederationToken needs a permanent key (``STS_SECRET_ID``/``STS_SECRET_KEY``).
AssumeRole (``STS_ROLE_ARN`` set) signs with the execution role's temporary
credentials SCF injects (``TENCENTCLOUD_SECRETID``/``SECRETKEY``/``SESSIONTOKEN``);
they rotate, so they are read per invocation, never cached. Outside SCF,
AssumeRole may also be signed with the permanent key.
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import Misconfigured
from .sts_client import ASSUME_ROLE, GET_FEDERATION_TOKEN
from .tc3_signing import Credentials


def signing_credentials(action: str, env: Mapping[str, str]) -> Credentials:
    if action == ASSUME_ROLE:
        secret_id = env.get("TENCENTCLOUD_SECRETID")
        secret_key = env.get("TENCENTCLOUD_SECRETKEY")
        if secret_id and secret_key:
            return Credentials(secret_id, secret_key, env.get("TENCENTCLOUD_SESSIONTOKEN") or None)
    secret_id = env.get("STS_SECRET_ID")
    secret_key = env.get("STS_SECRET_KEY")
    if secret_id and secret_key:
        return Credentials(secret_id, secret_key)
    if action == ASSUME_ROLE:
        raise Misconfigured(
            "AssumeRole needs the execution role's TENCENTCLOUD_SECRETID/SECRETKEY "
            "(bind a role to the function) or STS_SECRET_ID/STS_SECRET_KEY"
        )
    raise Misconfigured("GetFederationToken needs STS_SECRET_ID and STS_SECRET_KEY")


def action_for(env: Mapping[str, str]) -> str:
    """The STS action the function uses: AssumeRole when STS_ROLE_ARN is set."""
    return ASSUME_ROLE if env.get("STS_ROLE_ARN") else GET_FEDERATION_TOKEN


def has_signing_credentials(env: Mapping[str, str]) -> bool:
    """Whether `env` holds a key the function could sign its STS call with (the
    local tooling starts the STS emulator otherwise)."""
    try:
        signing_credentials(action_for(env), env)
    except Misconfigured:
        return False
    return True
