"""check-deployment's sign-in rows: for each provider config.yml turns on, a made-up
code must come back 401 wx_code_invalid (the function reached jscode2session with its
AppID); a wrong AppSecret, an unreachable platform or a deployment without the route
fail the row with what to look at. Against the local stack and the jscode2session
stand-in, through the command as an operator runs it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

import index
from sts_tools.commands import cli
from sts_tools.emulators.gateway import DevServer
from sts_tools.emulators.wechat import WxEmulator
from tests.support import free_port, make_env, make_service, shipped_config, token
from tests.support.login import login_document, login_env, login_service


@pytest.fixture
def wx():
    with WxEmulator() as stand_in:
        yield stand_in


def check(capsys: Any, tmp_path: Any, service: Any, document: dict[str, Any]) -> dict[str, Any]:
    """Run check-deployment --skip-cos against `service`; its rows by name."""
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump(document))
    server = DevServer(lambda event, ctx: index.handle(service, event, ctx), port=0).start()
    try:
        cli.main(["check-deployment", f"{server.url}/sts", "--token", token("alice"),
                  "--config", str(config), "--skip-cos", "--json"])  # fmt: skip
    finally:
        server.stop()
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("\n[\n") + 1 :] if not out.startswith("[") else out)
    return {row["check"]: row for row in rows if row["check"].startswith("sign-in")}


def test_a_working_sign_in_passes_for_each_provider(capsys, tmp_path, emulator, wx):
    service = login_service(login_env(emulator.endpoint, wx.endpoint))
    rows = check(capsys, tmp_path, service, login_document())
    assert [(name.split(":")[0], row["status"]) for name, row in rows.items()] == [
        ("sign-in with wechat", "PASS"), ("sign-in with qq", "PASS"),
    ]  # fmt: skip
    assert len(wx.backend.exchanges) == 2  # each probe reached the stand-in once


def test_a_wrong_app_secret_fails_the_row_and_names_the_variables(capsys, tmp_path, emulator, wx):
    env = login_env(emulator.endpoint, wx.endpoint, STS_WX_SECRET="not-the-app-secret-0000")
    rows = check(capsys, tmp_path, login_service(env), login_document(providers=["wechat"]))
    (row,) = rows.values()
    assert row["status"] == "FAIL"
    assert row["detail"].startswith("502 wx_error")
    assert "STS_WX_SECRET" in row["detail"]
    assert "not-the-app-secret" not in row["detail"]


def test_an_unreachable_platform_fails_the_row(capsys, tmp_path, emulator):
    nowhere = f"http://127.0.0.1:{free_port()}/sns/jscode2session"
    env = login_env(emulator.endpoint, nowhere)
    rows = check(capsys, tmp_path, login_service(env), login_document(providers=["wechat"]))
    (row,) = rows.values()
    assert (row["status"], row["detail"].split(" - ")[0]) == ("FAIL", "503 wx_unavailable")


def test_a_deployment_without_the_route_fails_the_row(capsys, tmp_path, emulator):
    """config.yml says sign-in is on; the deployed function (the shipped config) has it off."""
    service = make_service(make_env(emulator.endpoint), shipped_config())
    rows = check(capsys, tmp_path, service, login_document(providers=["wechat"]))
    (row,) = rows.values()
    assert row["status"] == "FAIL"
    assert row["detail"].startswith("404 not_found")


def test_no_sign_in_row_when_config_turns_none_on(capsys, tmp_path, emulator):
    service = make_service(make_env(emulator.endpoint), shipped_config())
    assert check(capsys, tmp_path, service, shipped_config()) == {}
