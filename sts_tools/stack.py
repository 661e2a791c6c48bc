"""Running on a developer's machine: the environment SCF would provide, with
announced development defaults for whatever is missing.

- No Tencent keys in the environment: the built-in STS emulator is started and
  the function is pointed at it (the credentials it returns are fake), and a
  local COS beside it accepts exactly what those keys' policies allow.
- No bucket/region: an example bucket in ap-guangzhou.
- No ``STS_JWT_SECRET``: a fixed development secret, so tokens minted by
  ``python -m sts_tools token`` are accepted. It is public: never deploy it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from sts_tools.emulators.sts_emulator import StsEmulator, dev_key_env

if TYPE_CHECKING:  # the local COS itself is imported only when it is started
    from sts_tools.emulators.cos.server import CosEmulator

# Public on purpose: it only ever signs local development tokens (64 bytes: any HS*).
DEV_JWT_SECRET = "cos-sts-LOCAL-DEVELOPMENT-secret-never-deploy-0123456789abcdefghijk"
EXAMPLE_BUCKET = "examplebucket-1250000000"
EXAMPLE_REGION = "ap-guangzhou"


@dataclass
class LocalEnvironment:
    env: dict[str, str]
    emulator: Optional[StsEmulator] = None
    cos: Optional[CosEmulator] = None
    notes: list[str] = field(default_factory=list)

    @property
    def dev_secret(self) -> bool:
        return self.env.get("STS_JWT_SECRET") == DEV_JWT_SECRET

    def stop(self) -> None:
        if self.cos is not None:
            self.cos.stop()
            self.cos = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None


def has_tencent_keys(env: Mapping[str, str]) -> bool:
    permanent = bool(env.get("STS_SECRET_ID") and env.get("STS_SECRET_KEY"))
    role = bool(
        env.get("STS_ROLE_ARN")
        and env.get("TENCENTCLOUD_SECRETID")
        and env.get("TENCENTCLOUD_SECRETKEY")
    )
    return permanent or role


def read_config_document(env: Mapping[str, str]) -> Any:
    """The config file, parsed leniently (validation happens when the function starts)."""
    import yaml

    try:
        with open(env.get("STS_CONFIG") or default_config_path(), encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return None


def config_section(document: Any, name: str) -> dict[str, Any]:
    """A mapping section of a leniently read config document (empty if absent)."""
    value = document.get(name) if isinstance(document, dict) else None
    return value if isinstance(value, dict) else {}


def uses_key_set(env: Mapping[str, str], document: Any) -> bool:
    """Tokens come from an identity provider's key set, not a shared secret."""
    auth = config_section(document, "auth")
    return bool(env.get("STS_JWKS_URL") or auth.get("jwks_url") or auth.get("discovery"))


def default_config_path() -> str:
    return os.path.join(project_root(), "config.yml")


def project_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def prepare(
    base: Optional[Mapping[str, str]] = None,
    *,
    start_emulator: bool = True,
    cos_port: Optional[int] = None,
    cos_log: Optional[Callable[[str], None]] = None,
    playground_port: Optional[int] = None,
) -> LocalEnvironment:
    """The environment to run the function with locally (see module docstring).
    With `playground_port` (and the local COS), the function also allows the
    playground's origins for this run (playground.allow_origins)."""
    env = dict(os.environ if base is None else base)
    local = LocalEnvironment(env)
    document = read_config_document(env)
    in_file = document if isinstance(document, dict) else {}
    if not (env.get("COS_BUCKET") or in_file.get("bucket")):
        env["COS_BUCKET"] = EXAMPLE_BUCKET
        local.notes.append(f"bucket: {EXAMPLE_BUCKET} (example; set COS_BUCKET)")
    if not (env.get("COS_REGION") or in_file.get("region")):
        env["COS_REGION"] = EXAMPLE_REGION
        local.notes.append(f"region: {EXAMPLE_REGION} (example; set COS_REGION)")
    if not env.get("STS_JWT_SECRET") and not uses_key_set(env, document):
        env["STS_JWT_SECRET"] = DEV_JWT_SECRET
        local.notes.append("JWT secret: the public development secret (set STS_JWT_SECRET)")
    if has_tencent_keys(env):
        endpoint = env.get("STS_ENDPOINT") or "https://sts.tencentcloudapi.com"
        local.notes.append(f"STS: real Tencent STS at {endpoint} (keys from the environment)")
        if playground_port is not None:
            local.notes.append("playground: off (it runs only on the emulated STS and local COS)")
    elif start_emulator:
        local.emulator = StsEmulator().start()
        env.update(dev_key_env(local.emulator.endpoint))
        env.pop("STS_ROLE_ARN", None)
        local.notes.append(
            f"STS: built-in emulator at {local.emulator.endpoint} - no Tencent keys in the "
            "environment, so the credentials returned are FAKE"
        )
        if cos_port is not None:
            local.cos = start_local_cos(local.emulator, env, cos_port, cos_log)
            local.notes.append(
                f"COS: local COS at {local.cos.endpoint}, bucket {env['COS_BUCKET']} "
                f"({env['COS_REGION']}) - checks signatures and enforces each key's policy"
            )
            if playground_port is not None:
                from sts_tools.playground.server import allow_origins, origins_for

                local.notes += allow_origins(env, origins_for(playground_port))
    return local


def start_local_cos(
    sts: StsEmulator, env: Mapping[str, str], port: int, log: Optional[Callable[[str], None]] = None
) -> CosEmulator:
    """The local COS for the configured bucket, trusting what `sts` issued."""
    from sts_tools.emulators.cos.server import CosEmulator

    bucket, region = configured_bucket(env)
    try:
        return CosEmulator(
            sts.keyring, bucket=bucket, region=region, port=port, log=log, log_format="text"
        ).start()
    except BaseException:
        sts.stop()
        raise


def configured_bucket(env: Mapping[str, str]) -> tuple[str, str]:
    """(bucket, region) as the function will see them: environment over file."""
    in_file = read_config_document(env)
    in_file = in_file if isinstance(in_file, dict) else {}
    bucket = env.get("COS_BUCKET") or str(in_file.get("bucket") or EXAMPLE_BUCKET)
    region = env.get("COS_REGION") or str(in_file.get("region") or EXAMPLE_REGION)
    return bucket, region


def python_command() -> str:
    """How to call this interpreter in printed instructions (short when it is .venv's)."""
    here = os.getcwd()
    executable = sys.executable
    if executable.startswith(here + os.sep):
        return os.path.relpath(executable, here)
    return executable
