"""The local STS (docs/tencent/sts.md), split like the local COS: what it holds
(`backend`), how it reads and answers a request (`protocol`), the HTTP front
(`server`)."""

from sts_tools.emulators.sts.backend import (
    DEV_ROLE_SECRET_ID,
    DEV_ROLE_SECRET_KEY,
    DEV_ROLE_TOKEN,
    DEV_SECRET_ID,
    DEV_SECRET_KEY,
    Call,
    EmulatorKey,
    Fault,
    StsBackend,
    default_keys,
    dev_key_env,
    function_env,
)
from sts_tools.emulators.sts.server import StsEmulator

__all__ = [
    "DEV_ROLE_SECRET_ID", "DEV_ROLE_SECRET_KEY", "DEV_ROLE_TOKEN", "DEV_SECRET_ID",
    "DEV_SECRET_KEY", "Call", "EmulatorKey", "Fault", "StsBackend", "StsEmulator",
    "default_keys", "dev_key_env", "function_env",
]  # fmt: skip
