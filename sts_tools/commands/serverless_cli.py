"""serverless.yml as Tencent's ``scf`` CLI (serverless-cloud-framework, on
``@serverless/components``) prepares it before anything reaches the cloud:

- Only ``${env:X}`` is resolved by the CLI. A value that is exactly ``${env:X}``
  with X unset is **dropped** (the key disappears, so the component's default
  applies: region ``ap-guangzhou``, no execution role); inside a longer string
  it becomes the text ``undefined``. ``${name}``, ``${stage}``, ``${app}`` and
  ``${org}`` are left for the platform, which substitutes them.
- ``.env`` files are read (the nearest one from the project folder up, and
  ``.env.<stage>`` first when a stage is given); the real environment wins.
- The stage comes from ``serverless.yml`` (``dev``) unless ``--stage`` overrides it.

The one resolver in the project (docs/tencent/scf.md §7): the CLI itself cannot
be installed here, so this mirrors its resolveVariables, and
tests/test_deploy_code.py feeds what it produces to Tencent's real deploy code.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

DEFAULT_STAGE = "dev"  # serverless.yml's `stage`, and the CLI's own default
PLATFORM_FIELDS = ("org", "app", "stage", "name")


class _Undefined:
    """JavaScript's `undefined`: what an unset ${env:X} resolves to."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()

# @serverless/components (the scf CLI) src/cli/utils.js resolveVariables.
_VARIABLE_RE = re.compile(r"\$\{(\w*:?[\w.-]+)\}")
_ENV_RE = re.compile(r"\$\{env:(\w*[\w.-_]+)\}")  # [.-_] is a range, as in the JS
_V1_VARIABLES = ("self", "opt", "sls", "cf", "s3", "ssm", "file")


class VariableError(ValueError):
    pass


def _resolve_string(value: str, env: Mapping[str, str]) -> tuple[Any, bool]:
    matches = [m.group(0) for m in _VARIABLE_RE.finditer(value)]
    new: Any = value
    resolved = False
    for match in matches:
        for v1 in _V1_VARIABLES:
            if re.search(r"\$\{" + v1 + r":([\w.-_]+)}", match):
                raise VariableError(
                    f"Serverless Framework Components do not support this Variable: {match!r}"
                )
        if _ENV_RE.search(match):
            name = match[2:-1].split(":")[1]
            resolved = True
            found = env.get(name)
            if match == value:
                new = UNDEFINED if found is None else found
            else:
                # Each match is replaced in the *original* string (a quirk kept
                # here); the next pass picks up the others.
                new = value.replace(match, "undefined" if found is None else found, 1)
    return new, resolved


def _resolve_pass(node: Any, env: Mapping[str, str]) -> tuple[Any, bool]:
    if isinstance(node, str):
        return _resolve_string(node, env)
    if isinstance(node, dict):
        out, any_resolved = {}, False
        for key, value in node.items():
            out[key], resolved = _resolve_pass(value, env)
            any_resolved = any_resolved or resolved
        return out, any_resolved
    if isinstance(node, list):
        items, any_resolved = [], False
        for value in node:
            item, resolved = _resolve_pass(value, env)
            items.append(item)
            any_resolved = any_resolved or resolved
        return items, any_resolved
    return node, False


def _json_round_trip(node: Any) -> Any:
    """JSON.parse(JSON.stringify(x)): undefined members vanish, undefined items become null."""
    if isinstance(node, dict):
        return {k: _json_round_trip(v) for k, v in node.items() if v is not UNDEFINED}
    if isinstance(node, list):
        return [None if v is UNDEFINED else _json_round_trip(v) for v in node]
    return node


def resolve_variables(document: Any, env: Mapping[str, str], max_passes: int = 20) -> Any:
    """Resolve ``${env:X}`` as the scf CLI does, then the JSON round trip the
    platform client does before sending (see the module docstring)."""
    for _ in range(max_passes):
        document, resolved = _resolve_pass(document, env)
        if not resolved:
            return _json_round_trip(document)
    raise VariableError("${env:...} variables resolve to each other in a loop")


def parse_dotenv(text: str) -> dict[str, str]:
    """The subset of dotenv's format a .env for this project uses."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n")
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[name] = value
    return values


def dotenv_environment(
    directory: str, env: Mapping[str, str], stage_flag: Optional[str] = None
) -> dict[str, str]:
    """The environment the CLI resolves with: real variables win over .env files."""
    merged = dict(env)
    names = ([f".env.{stage_flag}"] if stage_flag else []) + [".env"]
    for name in names:
        folder = os.path.abspath(directory)
        while True:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                with open(candidate, encoding="utf-8") as handle:
                    for key, value in parse_dotenv(handle.read()).items():
                        merged.setdefault(key, value)
                break
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return merged


@dataclass
class CliView:
    """What the scf CLI would send the platform for this serverless.yml."""

    instance: dict[str, Any]  # org, app, stage, name (platform-level fields)
    inputs: dict[str, Any]  # resolved inputs, ${name}/${stage}/... still unsubstituted
    env: dict[str, str]  # the environment used, .env files included

    @property
    def missing_platform_fields(self) -> list[str]:
        return [f for f in PLATFORM_FIELDS if not isinstance(self.instance.get(f), str)]

    def substitute(self, value: Any) -> Any:
        """The platform's ${name}/${stage}/${app}/${org} substitution."""
        if isinstance(value, str):
            return re.sub(
                r"\$\{(name|stage|app|org)\}", lambda m: str(self.instance.get(m.group(1))), value
            )
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if isinstance(value, dict):
            return {k: self.substitute(v) for k, v in value.items()}
        return value

    @property
    def function_name(self) -> str:
        return str(self.substitute(self.inputs.get("name", "")))

    @property
    def function_env(self) -> dict[str, str]:
        environment = self.inputs.get("environment") or {}
        variables = environment.get("variables") if isinstance(environment, dict) else None
        return {
            str(k): "" if v is None else str(v)
            for k, v in (variables if isinstance(variables, dict) else {}).items()
        }


def cli_view(
    root: str,
    env: Mapping[str, str],
    stage: Optional[str] = None,
    org: str = "<your account's org>",
    path: Optional[str] = None,
    dotenv: bool = True,
) -> CliView:
    """serverless.yml as the CLI prepares it (loadInstanceConfig + resolveVariables).
    ``dotenv=False`` ignores .env files (tests pass the whole environment)."""
    import yaml

    with open(path or os.path.join(root, "serverless.yml"), encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    if not document.get("stage"):
        document["stage"] = DEFAULT_STAGE
    if stage:
        document["stage"] = stage  # --stage
    document["org"] = document.get("org") or org  # the platform's default org
    document["app"] = document.get("app") or document.get("name")
    full_env = dotenv_environment(root, env, stage) if dotenv else dict(env)
    resolved = resolve_variables(document, full_env)
    instance = {f: resolved.get(f) for f in PLATFORM_FIELDS}
    return CliView(instance, resolved.get("inputs") or {}, full_env)
