"""Helpers for the shared-state tests (Redis): environments, the handler run in
separate processes (as separate SCF instances), a Redis that never answers, and a
raw dump of everything Redis holds."""

from __future__ import annotations

import copy
import json
import os
import socket
import time
from typing import Any, Optional

import yaml

from sts_core.config_validation import parse_config
from sts_core.service import Service, service_for
from tests.support import ROOT, make_env, run_python, shipped_config

CACHE_KEY = "cache-KEY-for-tests-0123456789abcdefghijklmnop"


def far() -> float:
    """A deadline (monotonic) no test reaches: for calls whose time bound is not tested."""
    return time.monotonic() + 60


def redis_env(endpoint: str, url: str, **overrides: Optional[str]) -> dict[str, str]:
    env = make_env(endpoint, STS_REDIS_URL=url, STS_CACHE_KEY=CACHE_KEY)
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def document_with(**sections: dict[str, Any]) -> dict[str, Any]:
    """The shipped config with some sections' keys replaced (nested one level)."""
    document = copy.deepcopy(shipped_config())
    for name, values in sections.items():
        section = document.setdefault(name, {}) or {}
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(section.get(key), dict):
                section[key] = {**section[key], **value}
            else:
                section[key] = value
        document[name] = section
    return document


def instance(env: dict[str, str], document: Optional[dict[str, Any]] = None) -> Service:
    """One warm instance, with key reuse and limits as configured (on by default)."""
    document = copy.deepcopy(document or shipped_config())
    return service_for(parse_config(document, env), env)


def write_config(directory: Any, document: dict[str, Any]) -> str:
    path = os.path.join(str(directory), "config.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(document, handle)
    return path


RUN_HANDLER = """
import contextlib, io, json, os, sys, time
sys.path.insert(0, sys.argv[1])
for name in filter(None, os.environ.get("BLOCK_MODULES", "").split(",")):
    sys.modules[name] = None  # as if not installed: importing it raises ImportError
requests = json.load(sys.stdin)
import index
results = []
for item in requests:
    out = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out):
        response = index.main_handler(item["event"], item["context"])
    elapsed = time.monotonic() - started
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    results.append({"response": response, "log": lines[-1] if lines else None,
                    "seconds": elapsed})
print(json.dumps({"results": results,
                  "modules": sorted(m for m in sys.modules if m.split(".")[0] in
                                    ("redis", "cryptography", "sts_core"))}))
"""


def run_process(
    env: dict[str, str],
    events: list[dict[str, Any]],
    time_limit_ms: int = 3000,
    block: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A fresh interpreter (a new SCF instance) handling `events` in turn; modules
    in `block` cannot be imported there."""
    context = {"time_limit_in_ms": time_limit_ms, "request_id": "proc"}
    payload = json.dumps([{"event": e, "context": context} for e in events])
    path = os.environ.get("PATH", "/usr/bin:/bin")
    result = run_python(
        "-c", RUN_HANDLER, ROOT, stdin=payload, timeout=120,
        env={**env, "PATH": path, "BLOCK_MODULES": ",".join(block)},
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


class SilentRedis:
    """Listens and never answers: connections complete (the kernel's backlog) but
    no byte ever comes back, like a hung Redis."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.url = f"redis://127.0.0.1:{self.socket.getsockname()[1]}/0"

    def close(self) -> None:
        self.socket.close()


def dump(client: Any) -> list[bytes]:
    """Every key in Redis and everything stored under it, raw."""
    found = []
    for key in client.scan_iter(count=1000):
        found.append(key)
        kind = client.type(key)
        if kind == b"string":
            found.append(client.get(key))
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                found += [field, value]
        else:
            raise AssertionError(f"unexpected Redis type {kind!r} for {key!r}")
    return found


def log_lines(capsys: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
