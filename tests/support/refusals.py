"""A config the validator refuses, and the error it refuses it with."""

from __future__ import annotations

from typing import Any

import pytest

from sts_core.config_validation import ConfigError, parse_config
from tests.support import make_env


def refused_config(document: dict[str, Any], **env: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(document, make_env(**env))
    return caught.value
