"""`make package REDIS=1`: redis-py and cryptography vendored for SCF's Pythons, the
packaged handler sharing keys through a real Redis on Python 3.9/3.10, and a
package built without the extra failing closed (never half-working) when
STS_REDIS_URL is set."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest

from sts_tools.commands import package as package_script
from sts_tools.emulators import sts as emu
from tests.support import JWT_SECRET, token
from tests.support.redis import CACHE_KEY
from tests.support.tools import require_scf_python

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow

RUN = """
import contextlib, io, json, sys
sys.path.insert(0, sys.argv[1])
out = io.StringIO()
with contextlib.redirect_stdout(out):
    import index
    response = index.main_handler(json.loads(sys.argv[2]), {"time_limit_in_ms": 3000})
lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
print(json.dumps({"response": response, "log": lines[-1],
                  "service": type(index.SERVICE).__name__, "error": str(index.SERVICE)[:300],
                  "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def scf_interpreters():
    found = []
    for version in ("3.9", "3.10"):
        pattern = os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")
        found += sorted(glob.glob(pattern))[-1:]
    return found or [None]  # the test then skips (or fails under CI=true)


@pytest.fixture(scope="module")
def built_with_redis(tmp_path_factory):
    folder, _ = package_script.build(str(tmp_path_factory.mktemp("build-redis")), with_redis=True)
    return folder


@pytest.fixture(scope="module")
def built_plain(tmp_path_factory):
    folder, _ = package_script.build(str(tmp_path_factory.mktemp("build-plain")))
    return folder


def run(python, folder, env, event):
    result = subprocess.run(
        [python, "-I", "-S", "-c", RUN, folder, json.dumps(event)],
        env={**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def request(user="alice"):
    return {
        "httpMethod": "POST",
        "path": "/sts",
        "headers": {"authorization": f"Bearer {token(user)}"},
        "body": "",
    }


def test_contents_and_bytecode(built_with_redis):
    top = set(os.listdir(built_with_redis))
    assert {"redis", "async_timeout", "cryptography", "cffi"} <= top
    shipped = set(os.listdir(os.path.join(built_with_redis, "sts_core")))
    assert {"redis_link.py", "shared_cache.py", "rate_limit.py"} <= shipped
    for version in package_script.PYTHONS:
        if package_script.find_interpreter(version) is None:
            continue
        tag = "cpython-" + version.replace(".", "")
        # The build's probe ran with Redis configured: its modules have bytecode.
        for module in ("redis/connection", "sts_core/redis_link", "sts_core/shared_cache"):
            directory, name = os.path.split(os.path.join(built_with_redis, module))
            assert os.path.exists(os.path.join(directory, "__pycache__", f"{name}.{tag}.pyc"))


@pytest.mark.parametrize("python", scf_interpreters())
def test_packaged_handler_shares_keys_through_redis(
    built_with_redis, python, emulator, redis_server, redis_db
):
    require_scf_python(python)
    env = emu.function_env(emulator.endpoint, JWT_SECRET)
    env.update(STS_REDIS_URL=redis_server.url, STS_CACHE_KEY=CACHE_KEY)
    first = run(python, built_with_redis, env, request())
    second = run(python, built_with_redis, env, request())
    for report in (first, second):
        assert report["response"]["statusCode"] == 200, report
        assert {"redis", "cryptography"} <= set(report["modules"])
    assert (first["log"]["cache"], first["log"]["limit"]) == ("miss", "shared")
    assert second["log"]["cache"] == "shared-hit"
    assert len(emulator.calls) == 1


def test_without_the_extra_redis_fails_closed_and_hs256_loads_none_of_it(built_plain, emulator):
    env = emu.function_env(emulator.endpoint, JWT_SECRET)
    plain = run(sys.executable, built_plain, env, request())
    assert plain["response"]["statusCode"] == 200
    assert not {"redis", "cryptography"} & set(plain["modules"])
    assert plain["log"]["limit"] == "local"
    env.update(STS_REDIS_URL="redis://127.0.0.1:6379/0", STS_CACHE_KEY=CACHE_KEY)
    refused = run(sys.executable, built_plain, env, request())
    assert refused["service"] == "ConfigError"
    assert refused["error"].startswith("STS_REDIS_URL: ")
    assert "make package REDIS=1" in refused["error"]
    assert refused["response"]["statusCode"] == 500
