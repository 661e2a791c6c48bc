"""The playground's "Sign in with WeChat (local stand-in)" step, in headless Chromium
on `make run` (python -m sts_tools serve): the button gets a code the local
jscode2session accepts, the page posts it to the function's sign-in route (through
CORS, from the page's origin), and the session token it shows gets keys for the
user's folder."""

from __future__ import annotations

import base64
import json
import os

import pytest
import requests

from tests.support import CONTRACT_ENV, free_port, start_serve, stop_serve
from tests.support.playground import chromium, chromium_paths, wait_for

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_the_playground_signs_in_with_wechat_on_make_run():
    chromium_paths()  # skip or fail first, before any server starts
    env = {
        k: v for k, v in os.environ.items() if k not in CONTRACT_ENV and not k.startswith("STS_")
    }
    ports = free_port(), free_port(), free_port()
    process, banner = start_serve(env, *ports)
    try:
        assert "sign-in with WeChat/QQ: local jscode2session stand-in" in banner, banner
        with chromium() as driver:
            driver.get(f"http://127.0.0.1:{ports[2]}/")
            wait_for(lambda: driver.execute_script("return document.body.dataset.ready"),
                     what="the page")  # fmt: skip
            driver.find_element("id", "user").clear()
            driver.find_element("id", "user").send_keys("oPlaygroundUser")
            driver.find_element("id", "wx-sign-in").click()
            hint = wait_for(lambda: "signed in with WeChat" in (
                driver.find_element("id", "mint-hint").text) and driver.find_element(
                "id", "mint-hint").text, what="the sign-in")  # fmt: skip
            assert "users/oPlaygroundUser/" in hint
            token = driver.find_element("id", "token").get_property("value")
        claims = claims_of(token)
        assert claims["iss"] == "cos-sts/session"
        assert claims["sub"] == "oPlaygroundUser"
        keys = requests.post(f"http://127.0.0.1:{ports[0]}/sts", json={"profile": "upload"},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)  # fmt: skip
        assert keys.status_code == 200, keys.text
        assert keys.json()["prefix"] == "users/oPlaygroundUser/"
    finally:
        stop_serve(process)
