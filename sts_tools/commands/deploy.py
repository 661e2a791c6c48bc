"""``make deploy``: check what a deployment needs, build the package, run ``scf deploy``.

The preflight reads ``serverless.yml`` as the ``scf`` CLI will (serverless_cli.py)
and refuses, naming the variable, what would otherwise deploy a broken or unsafe
function.

Everything here is a pure function of (serverless.yml, config.yml, environment)
except `run_deploy`, which runs ``make package`` and ``scf deploy``, and, with
``auth.discovery``, the one read of the issuer's OpenID configuration (its issuer
must equal STS_JWT_ISSUER exactly, or every request would be a 503).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from sts_tools.commands.serverless_cli import (
    DEFAULT_STAGE,
    CliView,
    VariableError,
    cli_view,
)
from sts_tools.stack import EXAMPLE_BUCKET, PROJECT_ROOT
from sts_tools.support import config_view
from sts_tools.support.dev_token import DEV_JWT_SECRET

SCF_CLI = "scf"
SCF_INSTALL = "npm install -g serverless-cloud-framework"
# The component's validator (tencent-types scf@0.0.4) lists runtimes only up to
# Python3.7 and API methods without OPTIONS: both of ours fail it.
DEPLOY_FLAGS = ("--noValidation",)
COMPONENT_DEFAULT_REGION = "ap-guangzhou"
STAGE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
FUNCTION_NAME_RE = re.compile(r"^[A-Za-z][\w-]{0,58}[A-Za-z0-9]$")
SECRET_ID_RE = re.compile(r"^AKID[A-Za-z0-9]{8,}$")
EXECUTION_ROLE_RE = re.compile(r"^[\w+=,.@-]{1,128}$")
DISCOVERY_TIMEOUT = 5.0  # seconds for the preflight's read of the OpenID configuration


# ------------------------------------------------------------------ preflight


@dataclass(frozen=True)
class Problem:
    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}"


@dataclass
class Preflight:
    stage: str
    view: Optional[CliView]
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: list[tuple[str, str]] = field(default_factory=list)
    key_set: bool = False
    redis: bool = False  # STS_REDIS_URL: the package needs the Redis extra

    @property
    def ok(self) -> bool:
        return not self.problems

    def refuse(self, variable: str, message: str) -> None:
        if not any(p.variable == variable for p in self.problems):
            self.problems.append(Problem(variable, message))


def _check_stage(result: Preflight, view: CliView) -> None:
    if view.missing_platform_fields:
        missing = ", ".join(view.missing_platform_fields)
        result.refuse(
            "STAGE" if "stage" in view.missing_platform_fields else "serverless.yml",
            f"{missing} would be missing after the CLI resolves serverless.yml (the platform "
            "answers only \"'orgName' 'stageName' 'appName' 和 'instanceName' 是必填项\")",
        )
        return
    if not STAGE_RE.match(result.stage):
        result.refuse(
            "STAGE", f"{result.stage!r}: use lower-case letters, digits and '-' (at most 20)"
        )
    name = view.function_name
    if not FUNCTION_NAME_RE.match(name):
        result.refuse("STAGE", f"the function name would be {name!r}, which SCF refuses")


def _check_region(result: Preflight, view: CliView, cos_region: Optional[str]) -> None:
    from sts_core.config_validation import REGION_RE

    region = view.inputs.get("region")
    if region is None:
        result.refuse(
            "SCF_REGION",
            "not set: the CLI drops `region` and the scf component would silently deploy to "
            f"{COMPONENT_DEFAULT_REGION}; set it to the region to deploy to"
            + (f" (COS_REGION is {cos_region})" if cos_region else ""),
        )
    elif not isinstance(region, str) or not REGION_RE.match(region):
        result.refuse("SCF_REGION", f"{region!r} is not a region such as ap-guangzhou")
    elif cos_region and region != cos_region:
        result.notes.append(
            f"the function runs in {region} and the bucket is in {cos_region}: that works, "
            "but every upload's keys are fetched across regions"
        )


def _check_cos(result: Preflight, fn_env: Mapping[str, str], config: Mapping[str, Any]) -> None:
    from sts_core.config_validation import BUCKET_RE, REGION_RE

    bucket = config_view.effective(config, fn_env, "bucket")
    if not bucket:
        result.refuse("COS_BUCKET", "not set (and config.yml has no bucket): name-APPID")
    elif not isinstance(bucket, str) or not BUCKET_RE.match(bucket):
        result.refuse(
            "COS_BUCKET", f"{bucket!r} is not a bucket name such as examplebucket-1250000000"
        )
    elif bucket == EXAMPLE_BUCKET:
        result.refuse("COS_BUCKET", f"{bucket} is the local example bucket, not yours")
    region = config_view.effective(config, fn_env, "region")
    if not region:
        result.refuse("COS_REGION", "not set (and config.yml has no region): e.g. ap-guangzhou")
    elif not isinstance(region, str) or not REGION_RE.match(region):
        result.refuse("COS_REGION", f"{region!r} is not a COS region such as ap-guangzhou")


def _check_keys(result: Preflight, view: CliView, fn_env: Mapping[str, str]) -> str:
    from sts_core.config_validation import role_arn_problem
    from sts_tools.emulators.sts import DEV_ROLE_SECRET_ID, DEV_SECRET_ID

    role = view.inputs.get("role")
    if role is not None and (not isinstance(role, str) or not EXECUTION_ROLE_RE.match(role)):
        result.refuse("SCF_ROLE", f"{role!r} is not a CAM role name")
    role_arn = fn_env.get("STS_ROLE_ARN")
    if role_arn:
        problem = role_arn_problem(role_arn)
        if problem:
            result.refuse("STS_ROLE_ARN", problem)
        if role is None:
            result.refuse(
                "SCF_ROLE",
                "not set: with STS_ROLE_ARN the function signs AssumeRole with its execution "
                "role's keys, so it needs one (trusted entity service-scf.qcloud.com)",
            )
        return f"AssumeRole into {role_arn} (signed by execution role {role or '-'})"
    secret_id, secret_key = fn_env.get("STS_SECRET_ID"), fn_env.get("STS_SECRET_KEY")
    if not secret_id and not secret_key:
        result.refuse(
            "STS_ROLE_ARN",
            "neither STS_ROLE_ARN (with SCF_ROLE) nor STS_SECRET_ID/STS_SECRET_KEY is set: "
            "the function would have no key to call STS with",
        )
        return "-"
    if not secret_id:
        result.refuse("STS_SECRET_ID", "STS_SECRET_KEY is set but STS_SECRET_ID is not")
    elif secret_id in (DEV_SECRET_ID, DEV_ROLE_SECRET_ID):
        result.refuse("STS_SECRET_ID", "is the local STS emulator's development key")
    elif not SECRET_ID_RE.match(secret_id):
        result.refuse("STS_SECRET_ID", "does not look like a Tencent Cloud SecretId (AKID...)")
    if not secret_key:
        result.refuse("STS_SECRET_KEY", "STS_SECRET_ID is set but STS_SECRET_KEY is not")
    return f"GetFederationToken with key {secret_id[:8] + '...' if secret_id else '-'}"


def read_discovery(url: str) -> Any:
    """The OpenID configuration at `url` (JSON), read as the function will read it."""
    import requests

    response = requests.get(url, timeout=DISCOVERY_TIMEOUT, allow_redirects=False)
    response.raise_for_status()
    return response.json()


def _check_discovery(result: Preflight, issuer: str, read: Callable[[str], Any]) -> None:
    """The function accepts the discovery document only if its issuer is exactly the
    configured one (Auth0, for one, writes a trailing slash): catch it here."""
    from sts_core.jwks import discovery_url, issuer_mismatch

    url = discovery_url(issuer)
    try:
        document = read(url)
    except Exception as exc:  # any failure: a note, and the deploy may go on
        result.notes.append(
            f"could not read {url} ({type(exc).__name__}): check that its issuer is exactly "
            f"STS_JWT_ISSUER ({issuer!r}), or every request will answer 503"
        )
        return
    problem = issuer_mismatch(issuer, document)
    if problem:
        result.refuse("STS_JWT_ISSUER", problem)


def _check_key_source(result: Preflight, url: Any, issuer: Any, read: Callable[[str], Any]) -> None:
    """The key set's URL, or the issuer it is discovered from."""
    from urllib.parse import urlsplit

    from sts_core.url_rules import is_loopback

    if url:
        parts = urlsplit(str(url))
        if parts.scheme != "https" or not parts.hostname:
            result.refuse("STS_JWKS_URL", f"{url!r} is not an https URL")
        elif is_loopback(parts.hostname):
            result.refuse("STS_JWKS_URL", f"{url!r} is a local address")
    elif issuer and urlsplit(str(issuer)).scheme != "https":
        result.refuse("STS_JWT_ISSUER", f"{issuer!r}: discovery needs an https issuer")
    elif issuer:
        _check_discovery(result, str(issuer), read)


def _check_auth(
    result: Preflight,
    fn_env: Mapping[str, str],
    config: Mapping[str, Any],
    read: Callable[[str], Any] = read_discovery,
) -> str:

    from sts_core.jwt_algorithms import HS_ALGORITHMS

    auth = config_view.section(config, "auth")
    result.key_set = config_view.uses_key_set(config, fn_env)
    url = config_view.effective(config, fn_env, "auth", "jwks_url")
    issuer = config_view.effective(config, fn_env, "auth", "issuer")
    audience = config_view.effective(config, fn_env, "auth", "audience")
    if result.key_set:
        _check_key_source(result, url, issuer, read)
        if not issuer:
            result.refuse("STS_JWT_ISSUER", "must be set with a key set (tokens' iss)")
        if not audience:
            result.refuse("STS_JWT_AUDIENCE", "must be set with a key set (tokens' aud)")
        if fn_env.get("STS_JWT_SECRET"):
            result.notes.append(
                "STS_JWT_SECRET is set but unused: tokens are checked with the key set"
            )
        return f"key set {url or '(discovery)'}, iss {issuer}, aud {audience}"
    secret = fn_env.get("STS_JWT_SECRET") or ""
    algorithms = auth.get("algorithms") or ["HS256"]
    if not issuer or not audience:
        result.notes.append(
            "warning: tokens are checked without "
            + " and ".join(n for n, v in (("iss", issuer), ("aud", audience)) if not v)
            + ": any JWT signed with STS_JWT_SECRET (by any service sharing it) is a login; "
            "set STS_JWT_ISSUER and STS_JWT_AUDIENCE and have the app's tokens carry them"
        )
    needed = max(HS_ALGORITHMS.get(str(a), 32) for a in algorithms)
    if not secret:
        result.refuse("STS_JWT_SECRET", "not set (or STS_JWKS_URL for an identity provider's keys)")
    elif secret == DEV_JWT_SECRET:
        result.refuse(
            "STS_JWT_SECRET",
            "is the public development secret: anyone could mint tokens; generate one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`",
        )
    elif len(secret.encode("utf-8")) < needed:
        result.refuse(
            "STS_JWT_SECRET",
            f"is {len(secret.encode())} bytes; {'/'.join(map(str, algorithms))} needs at least "
            f"{needed} random bytes",
        )
    return f"{'/'.join(map(str, algorithms))} with STS_JWT_SECRET ({len(secret.encode())} bytes)"


def _check_redis(result: Preflight, view: CliView, fn_env: Mapping[str, str]) -> None:
    """TencentDB for Redis is reached only from inside its VPC: a Redis URL without
    the function in a VPC means every request pays a Redis timeout, then asks STS."""
    if not fn_env.get("STS_REDIS_URL"):
        return
    vpc = view.inputs.get("vpcConfig")
    if not isinstance(vpc, Mapping) or not vpc.get("vpcId") or not vpc.get("subnetId"):
        result.refuse(
            "STS_REDIS_URL",
            "is set but serverless.yml puts the function in no VPC (vpcConfig is commented "
            "out): it could not reach a TencentDB for Redis; uncomment vpcConfig and set "
            "SCF_VPC_ID and SCF_SUBNET_ID",
        )


def _check_cos_triggers(result: Preflight, view: CliView, parsed: Any) -> None:
    """serverless.yml's cos triggers cover every declared root (docs/uploads.md)."""
    from sts_tools.commands import cos_triggers

    for problem in cos_triggers.problems(parsed, view.inputs.get("events") or []):
        result.refuse("serverless.yml", problem)


def preflight(
    env: Mapping[str, str],
    stage: Optional[str] = None,
    root: Optional[str] = None,
    *,
    check_cli: bool = True,
    dotenv: bool = True,
    read: Callable[[str], Any] = read_discovery,
) -> Preflight:
    """Everything `make deploy` checks before building anything. Reads files and,
    with discovery, `read`s the issuer's OpenID configuration; never runs a command
    (``check_cli`` only looks the ``scf`` CLI up on PATH)."""
    from sts_core.config_section import ConfigError
    from sts_core.config_validation import parse_config

    root = root or PROJECT_ROOT
    stage = stage or env.get("STAGE") or None  # else serverless.yml's own
    result = Preflight(stage or DEFAULT_STAGE, None)
    try:
        view = cli_view(root, env, stage, dotenv=dotenv)
    except (OSError, VariableError) as exc:
        result.refuse("serverless.yml", str(exc))
        return result
    result.view = view
    if stage is None and isinstance(view.instance.get("stage"), str):
        result.stage = view.instance["stage"]
    config = config_view.read_document(os.path.join(root, "config.yml"))
    fn_env = view.function_env
    result.redis = bool(fn_env.get("STS_REDIS_URL"))
    _check_stage(result, view)
    for name, value in sorted(fn_env.items()):
        if "undefined" in value or "${" in value:
            result.refuse(name, f"would reach the function as {value!r}")
        elif not value:
            result.refuse(name, "is set but empty: unset it or give it a value")
    _check_cos(result, fn_env, config)
    _check_redis(result, view, fn_env)
    cos_region = config_view.effective(config, fn_env, "region")
    _check_region(result, view, cos_region if isinstance(cos_region, str) else None)
    keys = _check_keys(result, view, fn_env)
    auth = _check_auth(result, fn_env, config, read)
    if not result.problems:
        # The function's own validation, on exactly the variables it will get.
        try:
            parse_config(config, fn_env)
        except ConfigError as exc:
            # Key sets need cryptography where the function runs: `make package JWKS=1`
            # vendors it; the deployer's own Python need not have it.
            if not (result.key_set and "cryptography" in str(exc)):
                result.refuse(exc.key, str(exc).split(": ", 1)[-1])
        else:
            _check_cos_triggers(result, view, parse_config(config, fn_env))
    if check_cli and shutil.which(SCF_CLI) is None:
        result.refuse(SCF_CLI, f"the scf CLI is not installed: {SCF_INSTALL}")
    events = [next(iter(e)) for e in view.inputs.get("events") or [] if isinstance(e, dict)]
    result.summary = [
        ("stage", result.stage),
        ("function", f"{view.function_name} in {view.inputs.get('region') or '-'}"),
        ("runtime", f"{view.inputs.get('runtime')}, {view.inputs.get('memorySize')} MB, "
                    f"{view.inputs.get('timeout')} s"),
        ("execution role", str(view.inputs.get("role") or "-")),
        ("bucket", f"{config_view.effective(config, fn_env, 'bucket')} "
                   f"({config_view.effective(config, fn_env, 'region')})"),
        ("STS", keys),
        ("tokens", auth),
        ("triggers", ", ".join(events) or "-"),
    ]  # fmt: skip
    return result


def package_command(key_set: bool, redis: bool = False) -> list[str]:
    """`make package` with the extras the function will import: cryptography for a
    key set, redis-py (and cryptography) for shared state on Redis."""
    return ["make", "package", *(["JWKS=1"] if key_set else []), *(["REDIS=1"] if redis else [])]


def deploy_command(stage: str) -> list[str]:
    return [SCF_CLI, "deploy", "--stage", stage, *DEPLOY_FLAGS]


def run_deploy(env: Mapping[str, str], stage: Optional[str], dry_run: bool, out: Any = None) -> int:
    """Preflight, then ``make package`` and ``scf deploy`` (or, with dry_run, print them)."""
    out = out or sys.stdout
    root = PROJECT_ROOT
    result = preflight(env, stage, root, check_cli=not dry_run)
    if not result.ok:
        print("deploy preflight failed:", file=sys.stderr)
        for problem in result.problems:
            print(f"  {problem}", file=sys.stderr)
        print("Nothing was built or deployed. See docs/deploying.md.", file=sys.stderr)
        return 2
    width = max(len(k) for k, _ in result.summary)
    print("deploy preflight passed:", file=out)
    for key, value in result.summary:
        print(f"  {key.ljust(width)}  {value}", file=out)
    for note in result.notes:
        print(f"  note: {note}", file=out)
    commands = [package_command(result.key_set, result.redis), deploy_command(result.stage)]
    if dry_run:
        if shutil.which(SCF_CLI) is None:
            print(f"  note: the scf CLI is not installed here ({SCF_INSTALL})", file=out)
        print("would run (in the project folder):", file=out)
        for command in commands:
            print(f"  {shlex.join(command)}", file=out)
        return 0
    for command in commands:
        print(f"$ {shlex.join(command)}", file=out, flush=True)
        completed = subprocess.run(command, cwd=root, check=False)
        if completed.returncode != 0:
            return completed.returncode
    return 0


SUMMARY = "preflight, make package, scf deploy (make deploy)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stage", help="the stage to deploy (default: $STAGE, else serverless.yml's dev)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and print the commands; run nothing"
    )


def run(args: argparse.Namespace) -> int:
    """Check what the deployment needs (fails naming the variable), build the package
    (make package, JWKS=1 when tokens come from a key set), then run
    `scf deploy --stage STAGE --noValidation`. --dry-run stops after printing the
    commands."""
    return run_deploy(os.environ, args.stage, args.dry_run)
