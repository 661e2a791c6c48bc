"""The local endpoint: HTTP -> API Gateway event -> handler -> HTTP."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess

import pytest
import requests
import yaml

from sts_core.scf_http_event import API_GATEWAY, parse_event
from sts_tools import stack as local
from sts_tools.emulators import sts as emu
from sts_tools.emulators.gateway import DevServer, to_event
from tests.support import (
    BUCKET,
    CONTRACT_ENV,
    ROOT,
    free_port,
    shipped_config,
    start_serve,
    stop_serve,
)
from tests.support.tickets import ticket_key


def test_requests_become_api_gateway_events_the_handler_accepts():
    evt = to_event(
        "POST",
        "/release/sts?a=1&a=2&flag=&x=y",
        {"Authorization": "Bearer t", "Content-Type": "application/json"},
        b'{"profile":"upload"}',
        "203.0.113.9",
    )
    request = parse_event(evt)
    assert request.kind == API_GATEWAY
    assert (request.method, request.path, request.source_ip) == (
        "POST",
        "/release/sts",
        "203.0.113.9",
    )
    assert request.header("authorization") == "Bearer t"
    assert request.query == {"a": ("1", "2"), "flag": ("",), "x": ("y",)}
    assert request.body(100) == b'{"profile":"upload"}'
    assert request.gateway_request_id


def test_binary_bodies_arrive_base64_encoded():
    evt = to_event("POST", "/sts", {}, b"\xff\x00\xfe", "127.0.0.1")
    assert evt["isBase64Encoded"] is True
    assert base64.b64decode(evt["body"]) == b"\xff\x00\xfe"


@pytest.fixture
def fake_gateway():
    results = []
    server = DevServer(lambda event, context: results.pop(0), port=0).start()
    yield server, results
    server.stop()


def test_integration_responses_are_written_back(fake_gateway):
    server, results = fake_gateway
    results.append(
        {
            "isBase64Encoded": True,
            "statusCode": 201,
            "headers": {"X-One": "1", "Set-Thing": ["a", "b"]},
            "body": base64.b64encode(b"raw").decode(),
        }
    )
    response = requests.post(server.url + "/sts", timeout=5)
    assert response.status_code == 201
    assert response.content == b"raw"
    assert response.headers["X-One"] == "1"
    assert response.raw.headers.getlist("Set-Thing") == ["a", "b"]


@pytest.mark.parametrize("result", [None, "text", {"statusCode": "200", "body": ""}, {"body": 1}])
def test_malformed_function_results_get_the_gateway_error(fake_gateway, result):
    server, results = fake_gateway
    results.append(result)
    response = requests.get(server.url + "/sts", timeout=5)
    assert response.status_code == 502
    assert "Invalid scf response format" in response.text


def serve_config(path, config, *unset):
    """`STS_CONFIG=<path> make run` with `config` written there, on free ports,
    without the contract variables (and `unset`) in its environment."""
    path.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if k not in (*CONTRACT_ENV, *unset)}
    env["STS_CONFIG"] = str(path)
    ports = free_port(), free_port(), free_port()
    process, text = start_serve(env, *ports)
    return process, text, ports


def test_make_run_endpoint_end_to_end(tmp_path):
    """What the README promises: start, mint, POST, keys from the emulator, 401,
    preflight, Ctrl-C."""
    config = shipped_config()
    config["cors"]["allowed_origins"] = ["http://localhost:3000"]
    process, text, (port, cos_port, _) = serve_config(tmp_path / "config.yml", config)
    try:
        assert "Ctrl-C stops." in text, text
        assert "built-in emulator" in text
        assert "why it refused a request is in the error's Message (local only)" in text
        assert "FAKE" in text
        assert f"http://127.0.0.1:{port}/sts" in text
        assert "-m sts_tools token alice" in text
        assert "http://localhost:3000" in text  # the config in use is shown
        # The config is described, never a secret value.
        assert local.DEV_JWT_SECRET not in text
        assert emu.DEV_SECRET_KEY not in text

        token = re.search(r"Authorization: Bearer ([\w.-]+)", text).group(1)
        url = f"http://127.0.0.1:{port}/sts"
        issued = requests.post(
            url,
            headers={"Authorization": f"Bearer {token}"},
            json={"profile": "upload"},
            timeout=10,
        )
        assert issued.status_code == 200, issued.text
        body = issued.json()
        assert body["credentials"]["tmpSecretId"].startswith("AKIDEMULATOR")
        assert body["prefix"] == "users/alice/"
        assert issued.headers["Cache-Control"] == "no-store"

        denied = requests.post(url, timeout=10)
        assert denied.status_code == 401
        assert denied.headers["WWW-Authenticate"].startswith("Bearer")

        preflight = requests.options(
            url,
            timeout=10,
            headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"

        # The local COS is announced, and the printed SDK snippet uploads through it.
        assert f"COS: local COS at http://127.0.0.1:{cos_port}, bucket {BUCKET}" in text
        snippet = text[text.index("upload with the official SDK") :]
        snippet = snippet[snippet.index("\n") + 1 : snippet.index("\nEOF") + 4]
        ran = subprocess.run(
            ["bash", "-c", snippet],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.startswith("users/alice/hello.txt")

        # So does the ticket snippet, through a key the function chose.
        snippet = text[text.index("upload with a ticket") :]
        snippet = snippet[snippet.index("\n") + 1 : snippet.index("\nEOF") + 4]
        ran = subprocess.run(["bash", "-c", snippet], cwd=ROOT, capture_output=True, text=True,
                             timeout=60, check=False)  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        key, status = ran.stdout.split()
        assert ticket_key(extensions="jpg").fullmatch(key)
        assert status == "200"
    finally:
        rest = stop_serve(process)
    assert process.returncode == 0
    assert "stopped" in rest
    # The local COS logged the snippet's upload with the statement that allowed it.
    assert "cos: 200 PutObject /users/alice/hello.txt ALLOWED - allowed by statement" in rest
    with pytest.raises(requests.ConnectionError):
        requests.post(f"http://127.0.0.1:{port}/sts", timeout=2)


@pytest.mark.parametrize(("taken", "variable"), [(0, "PORT"), (1, "COS_PORT"),
                                                  (2, "PLAYGROUND_PORT")])  # fmt: skip
def test_a_busy_port_is_named_with_its_variable(taken, variable):
    ports = [free_port(), free_port(), free_port()]
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_ENV}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports[taken]))
        holder.listen()
        process, text = start_serve(env, *ports)
        process.wait(timeout=30)
    assert process.returncode == 2
    assert f"error: port {ports[taken]} is in use by another program ({variable}," in text
    assert f"make run {variable}={ports[taken] + 100}" in text
    assert "Traceback" not in text


@pytest.mark.parametrize("config", sorted(os.listdir(os.path.join(ROOT, "examples"))))
def test_an_example_configs_printed_commands_work(config):
    """STS_CONFIG=examples/<x> make run: the curl line and the SDK snippet it prints
    are valid for that config (its profiles, its content types)."""
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_ENV}
    env["STS_CONFIG"] = os.path.join(ROOT, "examples", config)
    port, cos_port, playground_port = free_port(), free_port(), free_port()
    process, text = start_serve(env, port, cos_port, playground_port)
    try:
        assert "Ctrl-C stops." in text, text
        curl = next(line.strip() for line in text.splitlines() if line.strip().startswith("curl "))
        asked = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30,
                               check=False)  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        assert "credentials" in json.loads(asked.stdout), asked.stdout
        if "upload with the official SDK" in text:
            snippet = text[text.index("upload with the official SDK") :]
            snippet = snippet[snippet.index("\n") + 1 : snippet.index("\nEOF") + 4]
            ran = subprocess.run(["bash", "-c", snippet], cwd=ROOT, capture_output=True,
                                 text=True, timeout=60, check=False)  # fmt: skip
            assert ran.returncode == 0, ran.stderr
    finally:
        stop_serve(process)


def test_a_config_that_names_its_bucket_runs_without_cos_bucket(tmp_path):
    """STS_CONFIG=my.yml make run, the bucket and region in the file only (as
    config.yml's comment invites): the stack serves that bucket, no traceback."""
    config = shipped_config()
    config["bucket"], config["region"] = "mybucket-1250000000", "ap-shanghai"
    process, text, (port, *_) = serve_config(
        tmp_path / "my.yml", config, "COS_BUCKET", "COS_REGION"
    )
    try:
        assert "Ctrl-C stops." in text, text
        assert "Traceback" not in text
        token = re.search(r"Authorization: Bearer ([\w.-]+)", text).group(1)
        issued = requests.post(
            f"http://127.0.0.1:{port}/sts",
            json={"profile": "upload"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert issued.status_code == 200, issued.text
        body = issued.json()
        assert (body["bucket"], body["region"]) == ("mybucket-1250000000", "ap-shanghai")
    finally:
        stop_serve(process)
