"""Which environment variable overrides which config key: the one table.

The function reads it when it validates the config; the local tooling and the
deploy preflight read it to see the value the function will get. A set (non-empty)
variable wins over the file's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OVERRIDES: dict[tuple[str, ...], str] = {
    ("bucket",): "COS_BUCKET",
    ("region",): "COS_REGION",
    ("sts", "endpoint"): "STS_ENDPOINT",
    ("auth", "jwks_url"): "STS_JWKS_URL",
    ("auth", "issuer"): "STS_JWT_ISSUER",
    ("auth", "audience"): "STS_JWT_AUDIENCE",
    ("login", "wechat_endpoint"): "STS_WX_ENDPOINT",
    ("login", "qq_endpoint"): "STS_QQ_ENDPOINT",
}


def overridden(path: tuple[str, ...], in_file: Any, env: Mapping[str, str]) -> Any:
    """The value the function uses for the config key at `path`."""
    variable = OVERRIDES.get(path)
    return (env.get(variable) if variable else None) or in_file
