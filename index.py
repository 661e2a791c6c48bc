"""SCF entry point: ``index.main_handler(event, context)``.

Cold start builds the service once from the environment and the config beside
this file (or ``STS_CONFIG``); every invocation then runs the request path in
sts_core/handler.py.
"""

from __future__ import annotations

import os
from typing import Any

from sts_core.handler import handle, start

__all__ = ["CONFIG_PATH", "SERVICE", "handle", "main_handler", "start"]

CONFIG_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.yml")
SERVICE = start(os.environ, CONFIG_PATH)


def main_handler(event: Any, context: Any) -> dict[str, Any]:
    return handle(SERVICE, event, context)
