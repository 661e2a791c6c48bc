"""Who asks STS for a caller's keys, and how: chosen once, at cold start.

- GetFederationToken, signed with the function's permanent key (STS takes no
  temporary key for it: docs/tencent/sts.md §2); the session is named after a
  digest of the user ID.
- AssumeRole into ``STS_ROLE_ARN`` when it is set, signed with the execution
  role's rotating credentials (or a permanent key outside SCF), with the optional
  ExternalId.

The signing key is read per call (keys.signing_credentials): role credentials
rotate while an instance stays warm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, Optional, Union

from .config_model import StsSettings
from .function_key import signing_credentials
from .issued_credentials import IssuedCredentials
from .sts_client import (
    ASSUME_ROLE,
    GET_FEDERATION_TOKEN,
    StsClient,
    federation_name,
    role_session_name,
)


class FederationIssuer(NamedTuple):
    sts: StsClient

    def issue(
        self,
        env: Mapping[str, str],
        user_id: str,
        policy: str,
        duration: int,
        deadline: float,
        session: Optional[str] = None,
    ) -> IssuedCredentials:
        return self.sts.get_federation_token(
            signing_credentials(GET_FEDERATION_TOKEN, env),
            name=session or federation_name(user_id),
            policy=policy,
            duration_seconds=duration,
            deadline=deadline,
        )


class RoleIssuer(NamedTuple):
    sts: StsClient
    role_arn: str
    external_id: Optional[str] = None

    def issue(
        self,
        env: Mapping[str, str],
        user_id: str,
        policy: str,
        duration: int,
        deadline: float,
        session: Optional[str] = None,
    ) -> IssuedCredentials:
        return self.sts.assume_role(
            signing_credentials(ASSUME_ROLE, env),
            role_arn=self.role_arn,
            session_name=session or role_session_name(user_id),
            policy=policy,
            duration_seconds=duration,
            deadline=deadline,
            external_id=self.external_id,
        )


Issuer = Union[FederationIssuer, RoleIssuer]


def issuer_for(settings: StsSettings, sts: StsClient) -> Issuer:
    if settings.action == ASSUME_ROLE:
        return RoleIssuer(sts, settings.role_arn or "", settings.external_id)
    return FederationIssuer(sts)
