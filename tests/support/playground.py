"""The local stack in one process, as `make run` assembles it, for the playground,
browser and Node tests: the real handler behind the local endpoint (DevServer),
the STS emulator, the local COS and the playground, every one on a free loopback
port. And a headless Chromium driven by selenium with the Debian chromedriver.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any, Callable, NamedTuple, Optional

import index
from sts_core.service import Service
from sts_tools.emulators.cos.notifications import Notifier
from sts_tools.emulators.gateway import DevServer
from sts_tools.playground.server import Playground
from sts_tools.stack import local_cos_endpoint
from sts_tools.support.dev_token import DEV_JWT_SECRET
from tests.support import ROOT, make_env, make_service, shipped_config
from tests.support.tools import require, require_executable

CHROMIUM = "/usr/lib/chromium/chromium"  # the binary itself, not the /usr/bin wrapper
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_CHROMIUM = (
    "sudo apt-get install --no-install-recommends chromium chromium-driver "
    "(make test does it as root: scripts/system_deps.sh)"
)
# reference docs/tencent/browser.md A2: root needs --no-sandbox; the rest keeps
# Chromium off the network and quiet.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--password-store=basic",
    "--use-mock-keychain",
    "--mute-audio",
)
ARTIFACTS = os.path.join(ROOT, "build", "test-artifacts")


class Stack(NamedTuple):
    devserver: DevServer
    playground: Playground
    holder: dict[str, Any]  # the service, and how to build it again
    calls: list[tuple[str, Optional[str]]]  # (method, Origin) of each request to /sts

    @property
    def sts_url(self) -> str:
        return self.devserver.url + "/sts"

    @property
    def service(self) -> Service:
        return self.holder["service"]

    def renew(self) -> None:
        """A cold start: nothing warm (the ticket signing key) outlives the emulator's reset."""
        self.holder["service"] = self.holder["build"]()


@contextlib.contextmanager
def local_stack(
    sts: Any, cos: Any, *, allowed_origins: Optional[Sequence[str]] = None,
    receiver: Any = None,
) -> Iterator[Stack]:  # fmt: skip
    """Endpoint + playground on free ports, with the function's CORS allowing the
    playground's origins (or exactly `allowed_origins`), keys from `sts`, files in `cos`.
    With a webhook `receiver`, the local COS's events reach the function, which sends
    the receiver its webhook (docs/uploads.md)."""
    holder: dict[str, Any] = {}
    calls: list[tuple[str, Optional[str]]] = []

    def handler(event: Any, context: Any) -> Any:
        headers = {name.lower(): value for name, value in event["headers"].items()}
        calls.append((event["httpMethod"], headers.get("origin")))
        return index.handle(holder["service"], event, context)

    devserver = DevServer(handler, port=0)
    env = make_env(sts.endpoint, STS_JWT_SECRET=DEV_JWT_SECRET)
    if receiver is not None:
        env.update(STS_WEBHOOK_URL=receiver.url, STS_WEBHOOK_SECRET=receiver.secret)
        bucket = cos.bucket
        cos.notify = Notifier(lambda event: index.handle(holder["service"], event, {}),
                              bucket.name, bucket.region, retry_delays=(0.1, 0.2))  # fmt: skip
    playground = Playground(
        cos=cos,
        keyring=sts.keyring,
        sts_url=devserver.url + "/sts",
        config=None,
        jwt_secret=DEV_JWT_SECRET,
        port=0,
    )
    document = shipped_config()
    origins = list(playground.origins if allowed_origins is None else allowed_origins)
    document["cors"]["allowed_origins"] = origins
    document["tickets"]["cos_endpoint"] = local_cos_endpoint(cos.port)  # as `make run` does
    holder["build"] = lambda: make_service(env, document)
    holder["service"] = holder["build"]()
    playground.config = holder["service"].config
    devserver.start()
    playground.start()
    try:
        yield Stack(devserver, playground, holder, calls)
    finally:
        playground.stop()
        devserver.stop()
        if receiver is not None:
            cos.notify.stop()
            cos.notify = Notifier(None, cos.bucket.name, cos.bucket.region)


def other_playground(stack: Stack) -> Playground:
    """A second copy of the page on another port: an origin the function does not allow."""
    first = stack.playground
    return Playground(
        cos=first.cos, keyring=first.keyring, sts_url=first.sts_url, config=first.config,
        jwt_secret=first.jwt_secret, port=0,
    )  # fmt: skip


# -- headless Chromium -------------------------------------------------------------------


def chromium_paths() -> tuple[str, str]:
    """(browser, driver), or skip (developer machine) / fail (CI) saying how to install."""
    browser = require_executable("chromium", INSTALL_CHROMIUM, CHROMIUM)
    driver = require_executable("chromedriver", INSTALL_CHROMIUM, CHROMEDRIVER)
    try:
        import selenium  # noqa: F401
    except ImportError:
        require(False, "selenium", "make test (it installs requirements-dev.txt)")
    return browser, driver


@contextlib.contextmanager
def chromium(width: int = 1360, height: int = 1300) -> Iterator[Any]:
    """A fresh headless Chromium (own profile folder) under selenium."""
    browser, driver_path = chromium_paths()
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    profile = tempfile.mkdtemp(prefix="cos-sts-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=DriverService(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        # Chromium's children outlive the driver by about a second (docs/tencent/browser.md §2).
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until `condition()` is truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
