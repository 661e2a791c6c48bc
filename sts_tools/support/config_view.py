"""The config file read leniently, for tooling that must look before validating.

The function itself validates strictly (sts_core.config_validation); the tooling sometimes
needs a value while the environment is still incomplete (the deploy preflight,
check-deployment's expectations, the local stack's defaults). This is the one
place that reads the file that way, and `effective` applies the product's own
environment-override table, so both see the same value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sts_core.env_overrides import overridden

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def config_path(env: Mapping[str, str]) -> str:
    """The config the function would load: ``STS_CONFIG``, else the project's."""
    return env.get("STS_CONFIG") or os.path.join(PROJECT_ROOT, "config.yml")


def read_document(path: str) -> dict[str, Any]:
    """The parsed document, or {} when the file is missing, not YAML or not a mapping."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return {}
    return document if isinstance(document, dict) else {}


def section(document: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A mapping section (empty if absent or of the wrong type)."""
    value = document.get(name)
    return value if isinstance(value, dict) else {}


def effective(document: Mapping[str, Any], env: Mapping[str, str], *path: str) -> Any:
    """The value the function would use for the key at `path`: the environment
    variable that overrides it (sts_core.env_overrides), else the file's."""
    node: Any = document
    for name in path[:-1]:
        node = section(node, name)
    return overridden(tuple(path), node.get(path[-1]), env)


def uses_key_set(document: Mapping[str, Any], env: Mapping[str, str]) -> bool:
    """Tokens come from an identity provider's key set, not a shared secret."""
    return bool(
        effective(document, env, "auth", "jwks_url") or section(document, "auth").get("discovery")
    )
