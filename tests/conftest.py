from __future__ import annotations

import os
import sys

from hypothesis import settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Shared CI machines are slow and noisy: no per-example deadline. `make test` runs
# the default profile (every test's own example count); `make test-fast` passes
# --hypothesis-profile=fast, a quarter of them (tests/support/examples.py scales the
# tests that set their own count).
settings.register_profile("default", deadline=None)
settings.register_profile("fast", deadline=None, max_examples=25)
settings.load_profile("default")


import pytest  # noqa: E402

from sts_tools.emulators.sts import StsEmulator  # noqa: E402


@pytest.fixture(scope="session")
def sts_emulator():
    """One real STS emulator on a loopback socket for the whole run."""
    with StsEmulator() as server:
        yield server


@pytest.fixture
def emulator(sts_emulator):
    sts_emulator.reset()
    return sts_emulator


@pytest.fixture
def service(emulator):
    """The function on the shipped config, its STS calls to the reset emulator (a test
    file that needs another config defines its own `service`)."""
    from tests.support import make_env, make_service

    return make_service(make_env(emulator.endpoint))


@pytest.fixture(scope="session")
def local_cos_server(sts_emulator):
    """One local COS for the whole run, sharing the STS emulator's issued keys."""
    from sts_tools.emulators.cos.server import CosEmulator
    from tests.support import BUCKET, REGION

    lines: list[str] = []
    server = CosEmulator(sts_emulator.keyring, bucket=BUCKET, region=REGION, log=lines.append)
    server.log_lines = lines  # type: ignore[attr-defined]
    with server:
        yield server


@pytest.fixture
def local_cos(emulator, local_cos_server):
    """The local COS, emptied, with the STS emulator reset (so no key survives a test)."""
    local_cos_server.reset()
    local_cos_server.log_lines.clear()
    return local_cos_server


@pytest.fixture(scope="session")
def redis_server():
    """One real redis-server on loopback for the whole run (nothing persisted)."""
    from sts_tools.support.redis_server import INSTALL_HINT, RedisServer
    from tests.support.tools import require_executable

    require_executable("redis-server", INSTALL_HINT)
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_db(redis_server):
    """The session's Redis emptied (data and cached scripts), and a client to look in."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.script_flush()
    yield client
    client.close()


@pytest.fixture
def link(redis_server, redis_db):
    """A Redis connection as the function makes one, to the test server's clean db."""
    from sts_core.redis_link import RedisLink
    from tests.support.redis import CACHE_KEY

    link = RedisLink(redis_server.url, CACHE_KEY.encode())
    yield link
    link.close()
