"""Builders shared by the handler tests: env, config, tokens, trigger events."""

from __future__ import annotations

import base64
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Optional

import yaml

from sts_core.config_validation import parse_config
from sts_core.service import Service, service_for
from sts_tools.emulators import sts as emu
from sts_tools.support.dev_token import mint_token

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVENTS = os.path.join(ROOT, "tests", "fixtures", "events")
JWT_SECRET = "jwt-SECRET-for-tests-0123456789abcdefghij"
BUCKET = "examplebucket-1250000000"
REGION = "ap-guangzhou"
# Every variable the function reads: cleared where a test needs a known environment.
CONTRACT_ENV = (
    "STS_CONFIG",
    "STS_SECRET_ID",
    "STS_SECRET_KEY",
    "STS_ROLE_ARN",
    "STS_ENDPOINT",
    "STS_JWT_SECRET",
    "STS_JWT_ISSUER",
    "STS_JWT_AUDIENCE",
    "COS_BUCKET",
    "COS_REGION",
    "TENCENTCLOUD_SECRETID",
    "TENCENTCLOUD_SECRETKEY",
    "TENCENTCLOUD_SESSIONTOKEN",
    "STS_JWT_SECRET_PREVIOUS",
    "STS_WX_APPID",
    "STS_WX_SECRET",
    "STS_QQ_APPID",
    "STS_QQ_SECRET",
    "STS_WX_ENDPOINT",
    "STS_QQ_ENDPOINT",
    "STS_SESSION_SECRET",
    "STS_SESSION_SECRET_PREVIOUS",
)
ROOT_RESOURCE = f"qcs::cos:{REGION}:uid/1250000000:{BUCKET}/"


class Clock:
    """A settable clock for code that takes `clock=`: tests move time, never sleep."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def shipped_config() -> dict[str, Any]:
    with open(os.path.join(ROOT, "config.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def make_env(endpoint: str = "http://127.0.0.1:9", **overrides: str) -> dict[str, str]:
    env = emu.function_env(endpoint, JWT_SECRET, BUCKET, REGION)
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def make_service(
    env: dict[str, str], document: Optional[dict[str, Any]] = None, cache: bool = False
) -> Service:
    """The service as configured, without key reuse unless asked: most tests count
    STS calls, and the cache has tests of its own."""
    document = document or shipped_config()
    document.setdefault("cache", {})["enabled"] = cache
    return service_for(parse_config(document, env), env)


def token(sub: Any = "alice", secret: str = JWT_SECRET, algorithm: str = "HS256", **claims: Any):
    """A login token valid 300 s; a claim given as None is left out."""
    return mint_token(sub, secret, ttl=300, claims=claims, algorithm=algorithm)


def load_event(name: str) -> dict[str, Any]:
    with open(os.path.join(EVENTS, name), encoding="utf-8") as handle:
        return json.load(handle)


def event(
    bearer: Optional[str] = None,
    body: Any = "",
    *,
    sample: str = "apigw_official.json",
    method: str = "POST",
    path: str = "/sts",
    headers: Optional[dict[str, str]] = None,
    base64_body: Optional[Any] = None,
) -> dict[str, Any]:
    """A copy of a reference sample event turned into a credential request."""
    result = copy.deepcopy(load_event(sample))
    result["httpMethod"] = method
    result["path"] = path
    text = body if isinstance(body, str) else json.dumps(body)
    if base64_body is not None:
        result["isBase64Encoded"] = base64_body
        text = base64.b64encode(text.encode()).decode()
    else:
        result.pop("isBase64Encoded", None)
    result["body"] = text
    result["headers"] = dict(result.get("headers") or {})
    if bearer is not None:
        result["headers"]["Authorization"] = f"Bearer {bearer}"
    result["headers"].update(headers or {})
    return result


def context(time_limit_ms: int = 3000) -> dict[str, Any]:
    return {
        "memory_limit_in_mb": 128,
        "time_limit_in_ms": time_limit_ms,
        "request_id": "scf-req-0001",
        "function_name": "cos-sts",
        "namespace": "default",
    }


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response["body"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_serve(env: dict[str, str], port: int, cos_port: int, playground_port: int) -> Any:
    """`python -m sts_tools serve` (what make run starts) as a process, and its banner
    up to "Ctrl-C stops." (or whatever it printed within 30 s)."""
    command = [sys.executable, "-m", "sts_tools", "serve", "--port", str(port)]
    command += ["--cos-port", str(cos_port), "--playground-port", str(playground_port)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    banner = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        banner.append(line)
        if "Ctrl-C stops." in line:
            break
    return process, "".join(banner)


def stop_serve(process: Any) -> str:
    """Stop `serve` as Ctrl-C would; what it printed after the banner."""
    process.send_signal(signal.SIGINT)
    try:
        rest, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return rest


def run_python(*args: str, env: Optional[dict[str, str]] = None, stdin: Optional[str] = None,
               timeout: float = 600) -> subprocess.CompletedProcess:  # fmt: skip
    """This interpreter on `args` in the project folder; fails the test unless it exits 0."""
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, input=stdin, capture_output=True,
        text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result
