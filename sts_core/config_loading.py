"""The config file: YAML, or the compiled JSON copy `make package` ships beside it.

A cold start that finds ``config.yml.json`` made from exactly these bytes skips
importing and running PyYAML; validation (config.parse_config) sees the same
document either way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from .config_model import Config
from .config_section import ConfigError
from .config_validation import parse_config


def _parse_yaml(raw: bytes, path: str) -> Any:
    import yaml  # only when no up-to-date compiled copy exists (see compile_config)

    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError("STS_CONFIG", f"{path} is not valid YAML{where}") from None


def compiled_path(path: str) -> str:
    return path + ".json"


def _compiled_document(path: str, raw: bytes) -> Any:
    """The compiled copy's document if it was made from exactly these bytes."""
    try:
        with open(compiled_path(path), encoding="utf-8") as handle:
            compiled = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(compiled, dict):
        return None
    if compiled.get("source_sha256") != hashlib.sha256(raw).hexdigest():
        return None  # config.yml was edited after packaging: parse it instead
    return compiled.get("document")


def compile_config(path: str) -> bool:
    """Write ``<path>.json`` so cold starts can skip importing and running PyYAML.

    Skipped (returns False) when the document would not survive JSON unchanged,
    e.g. a non-string key: validation must see exactly what YAML would give it.
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    document = _parse_yaml(raw, path)
    try:
        faithful = json.loads(json.dumps(document)) == document
    except (TypeError, ValueError):
        faithful = False
    if not faithful:
        return False
    compiled = {"source_sha256": hashlib.sha256(raw).hexdigest(), "document": document}
    with open(compiled_path(path), "w", encoding="utf-8") as handle:
        json.dump(compiled, handle, separators=(",", ":"), sort_keys=True)
    return True


def load_config(path: str, env: Mapping[str, str]) -> Config:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError("STS_CONFIG", f"cannot read {path} ({exc.strerror})") from None
    document = _compiled_document(path, raw)
    if document is None:
        document = _parse_yaml(raw, path)
    return parse_config(document, env)
