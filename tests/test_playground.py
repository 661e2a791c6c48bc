"""The playground (sts_tools/playground/server.py): the vendored SDK and the documented
adapter pinned, the function's CORS allowance for the local run only, the page's
JSON routes and their guards, `make run` serving it (and not with real keys), and
none of it in the SCF package. The page itself runs in Chromium in test_browser.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from urllib.parse import urlsplit

import jwt
import pytest
import requests
import yaml

from sts_tools import stack as local
from sts_tools.emulators.keyring import IssuedKey
from sts_tools.playground.server import (
    ADAPTER_FILE,
    CLIENTS_JS,
    SDK_FILE,
    SDK_SHA256,
    SDK_VERSION,
    STATIC,
    Playground,
    origins_for,
)
from tests.support import (
    CONTRACT_ENV,
    ROOT,
    free_port,
    make_env,
    make_service,
    shipped_config,
    start_serve,
    stop_serve,
)

BROWSER_PACKAGES = os.path.join(ROOT, "tests", "browser")
CLIENTS_DOC = os.path.join(ROOT, "docs", "clients.md")


def read(path, mode="r"):
    with open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
        return handle.read()


# -- the vendored SDK, its lockfile and the documented adapter --------------------------------


def test_vendored_sdk_is_the_pinned_release():
    data = read(os.path.join(STATIC, SDK_FILE), "rb")
    assert hashlib.sha256(data).hexdigest() == SDK_SHA256
    assert len(data) == 160_241  # reference docs/tencent/browser.md A5
    licence = read(os.path.join(STATIC, "cos-js-sdk-v5.LICENSE"))
    assert licence.startswith("MIT License")
    installed = os.path.join(BROWSER_PACKAGES, "node_modules", "cos-js-sdk-v5")
    if os.path.isdir(installed):  # after `make node-deps`: the same bytes as npm's copy
        assert read(os.path.join(installed, "dist", SDK_FILE), "rb") == data
        assert json.loads(read(os.path.join(installed, "package.json")))["version"] == SDK_VERSION
        assert read(os.path.join(installed, "LICENSE")) == licence


def test_browser_packages_are_pinned_exactly_in_the_lockfile():
    manifest = json.loads(read(os.path.join(BROWSER_PACKAGES, "package.json")))
    assert manifest["dependencies"] == {
        "cos-js-sdk-v5": "1.10.1", "cos-nodejs-sdk-v5": "3.0.0", "standardwebhooks": "1.3.0",
    }  # fmt: skip
    lock = json.loads(read(os.path.join(BROWSER_PACKAGES, "package-lock.json")))
    packages = lock["packages"]
    assert packages["node_modules/cos-js-sdk-v5"]["version"] == SDK_VERSION
    assert packages["node_modules/cos-nodejs-sdk-v5"]["version"] == "3.0.0"
    assert packages["node_modules/standardwebhooks"]["version"] == "1.3.0"
    assert all(entry.get("integrity") for name, entry in packages.items() if name)
    # Tarballs come from the registry npm is configured with, never from elsewhere.
    hosts = {
        urlsplit(entry["resolved"]).netloc for entry in packages.values() if "resolved" in entry
    }
    if hosts:
        registry = subprocess.run(
            ["npm", "config", "get", "registry"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert hosts == {urlsplit(registry).netloc}


def code_block_after(text, marker, language="js"):
    """The first fenced code block after `marker`."""
    rest = text[text.index(marker) :]
    match = re.search(rf"```{language}\n(.*?)```", rest, re.S)
    assert match, f"no {language} block after {marker!r}"
    return match.group(1)


def test_documented_adapter_is_the_file_the_page_loads():
    block = code_block_after(read(CLIENTS_DOC), "**cos-js-sdk-v5 / cos-wx-sdk-v5**")
    assert block == read(os.path.join(CLIENTS_JS, ADAPTER_FILE))


def test_documented_node_example_is_the_script_the_tests_run():
    block = code_block_after(read(CLIENTS_DOC), "In Node 18+")
    script = read(os.path.join(BROWSER_PACKAGES, "node-example.js"))
    section = script.split("// docs/clients.md: begin\n")[1].split("// docs/clients.md: end\n")[0]
    assert block == section


def test_page_loads_only_local_files_and_the_sdk_after_the_charset():
    html = read(os.path.join(STATIC, "playground.html"))
    # Without the charset the SDK's regex literals do not parse (docs/tencent/cos-api.md §7).
    assert html.index('<meta charset="utf-8">') < html.index("cos-js-sdk-v5.min.js")
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert url.startswith(("/static/", "data:")), url
    assert "<script>" not in html  # no inline code: the CSP allows 'self' only
    ours = "".join(read(os.path.join(STATIC, name)) for name in ("playground.js", "playground.css"))
    assert not re.search(r"https?://[a-z0-9]", ours)


# -- the function's CORS, for the local run only --------------------------------------------------


def test_the_playground_origins_are_added_in_memory_for_the_run_only(emulator):
    """`make run` builds the function's service with the playground's origins added to
    the parsed config: no temporary file, no change to STS_CONFIG or config.yml."""
    source = os.path.join(ROOT, "config.yml")
    before = read(source, "rb")
    stack = local.prepare(base_env(), start_emulator=False)
    service = stack.service(extra_origins=origins_for(9002))
    assert service.config.cors_origins == ("http://127.0.0.1:9002", "http://localhost:9002")
    assert stack.config_path == source
    assert "STS_CONFIG" not in stack.env
    assert read(source, "rb") == before
    assert stack.service().config.cors_origins == ()  # without them: the file's own


def test_origins_already_listed_or_any_origin_are_kept(tmp_path):
    document = shipped_config()
    document["cors"]["allowed_origins"] = ["https://app.example.com", "http://localhost:9002"]
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(document))
    stack = local.prepare(base_env(STS_CONFIG=str(path)), start_emulator=False)
    listed = stack.service(extra_origins=origins_for(9002)).config.cors_origins
    assert listed == ("https://app.example.com", "http://localhost:9002", "http://127.0.0.1:9002")
    document["cors"]["allowed_origins"] = ["*"]
    path.write_text(yaml.safe_dump(document))
    assert stack.service(extra_origins=origins_for(9002)).config.cors_origins == ("*",)


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_ENV}
    env.update(extra)
    return env


def test_the_local_cos_runs_only_on_the_emulated_stack():
    prepared = local.prepare(base_env(), cos_port=0)
    try:
        assert prepared.cos is not None
        assert prepared.sts is not None
    finally:
        prepared.stop()
    real = local.prepare(
        base_env(STS_SECRET_ID="AKIDrealkey", STS_SECRET_KEY="real-secret"), cos_port=0
    )
    assert real.cos is None
    assert real.sts is None
    assert "STS_CONFIG" not in real.env
    assert any(note.startswith("STS: real Tencent STS") for note in real.notes)


# -- the page's routes ----------------------------------------------------------------------


@pytest.fixture
def playground(emulator, local_cos):
    env = make_env(emulator.endpoint, STS_JWT_SECRET=local.DEV_JWT_SECRET)
    document = shipped_config()
    service = make_service(env, document)
    server = Playground(
        cos=local_cos,
        keyring=emulator.keyring,
        sts_url="http://127.0.0.1:9000/sts",
        config=service.config,
        jwt_secret=env["STS_JWT_SECRET"],
        port=0,
    )
    yield server
    server.stop()


def call(playground, method, target, body=None, **headers):
    sent = {"host": f"127.0.0.1:{playground.port}"}
    if body is not None:
        sent["content-type"] = "application/json"
        sent["origin"] = playground.origins[0]
    sent.update({name.replace("_", "-"): value for name, value in headers.items()})
    data = b"" if body is None else json.dumps(body).encode()
    reply = playground.route(method, target, sent, data)
    payload = json.loads(reply.body) if reply.content_type.startswith("application/json") else None
    return reply, payload


def test_page_is_served_with_a_policy_that_allows_only_the_stack(playground, local_cos):
    reply, _ = call(playground, "GET", "/")
    assert reply.status == 200
    assert reply.content_type == "text/html; charset=utf-8"
    csp = dict(reply.headers)["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe" not in csp
    connect = next(part for part in csp.split("; ") if part.startswith("connect-src"))
    cos_origin = f"http://examplebucket-1250000000.cos.ap-guangzhou.localhost:{local_cos.port}"
    assert connect.split()[1:] == ["'self'", "http://127.0.0.1:9000", cos_origin]
    for name in (SDK_FILE, ADAPTER_FILE, "playground.js", "playground.css"):
        reply, _ = call(playground, "GET", f"/static/{name}")
        assert reply.status == 200
        assert reply.body == read(
            os.path.join(CLIENTS_JS if name == ADAPTER_FILE else STATIC, name), "rb"
        )
    for target in ("/static/../playground.py", "/static/cos-js-sdk-v5.LICENSE", "/nope"):
        assert call(playground, "GET", target)[0].status == 404


def test_config_tells_the_page_where_everything_is(playground, local_cos):
    reply, config = call(playground, "GET", "/api/config")
    assert reply.status == 200
    assert config["stsUrl"] == "http://127.0.0.1:9000/sts"
    assert config["cosDomain"] == f"{{Bucket}}.cos.{{Region}}.localhost:{local_cos.port}"
    assert (config["bucket"], config["region"]) == ("examplebucket-1250000000", "ap-guangzhou")
    assert set(config["profiles"]) == {"upload", "download", "avatar", "read-write"}
    assert config["defaultProfile"] == "upload"
    assert config["prefixTemplate"] == "users/{uid}/"
    assert config["devTokens"] is True


def test_tokens_are_signed_with_the_development_secret_only(playground):
    reply, answer = call(playground, "POST", "/api/token", {"user": "alice", "ttl": 600})
    assert reply.status == 200
    claims = jwt.decode(answer["token"], local.DEV_JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 600
    for bad in ({"user": ""}, {"user": 5}, {"user": "a", "ttl": 0}, {"user": "a", "ttl": True}):
        assert call(playground, "POST", "/api/token", bad)[0].status == 400
    playground.jwt_secret = "a-real-secret-" + "x" * 40
    reply, answer = call(playground, "POST", "/api/token", {"user": "alice"})
    assert reply.status == 403
    assert answer["error"]["code"] == "dev_tokens_off"
    assert call(playground, "GET", "/api/config")[1]["devTokens"] is False


def test_posts_come_from_the_page_itself_and_loopback_names_only(playground):
    assert call(playground, "POST", "/reset", {}, origin="http://evil.test")[0].status == 403
    reply = playground.route(
        "POST",
        "/reset",
        {"host": f"127.0.0.1:{playground.port}", "content-type": "text/plain"},
        b"",
    )
    assert reply.status == 415  # a form post from another page cannot reach it
    assert call(playground, "GET", "/", host="rebound.example.test:9002")[0].status == 403
    assert call(playground, "GET", "/", host=f"localhost:{playground.port}")[0].status == 200
    assert call(playground, "PUT", "/reset")[0].status == 405


def test_keys_route_shows_the_policy_and_never_a_secret(playground, emulator):
    issued = IssuedKey(
        secret_id="AKIDEMULATORTEST",
        secret_key="SECRET-KEY-VALUE",
        token="SESSION-TOKEN-VALUE",
        expired_time=2_000_000_000,
        policy_text='{"version":"2.0","statement":[]}',
    )
    emulator.keyring.add(issued)
    reply, answer = call(playground, "GET", "/api/keys?secretId=AKIDEMULATORTEST")
    assert reply.status == 200
    assert answer["policy"] == {"version": "2.0", "statement": []}
    assert answer["expiredTime"] == 2_000_000_000
    assert b"SECRET-KEY-VALUE" not in reply.body
    assert b"SESSION-TOKEN-VALUE" not in reply.body
    assert call(playground, "GET", "/api/keys?secretId=AKIDunknown")[0].status == 404


def test_state_lists_cos_requests_newest_first_and_reset_empties_it(playground, local_cos):
    local_cos.store.put_object("examplebucket-1250000000", "users/alice/a.txt", b"hello")
    local_cos.handle("GET", "/users/alice/a.txt", {"Host": "127.0.0.1"})  # unsigned: refused
    local_cos.handle(
        "OPTIONS", "/x", {"Origin": "http://o.test", "Access-Control-Request-Method": "PUT"}
    )
    reply, state = call(playground, "GET", "/state.json")
    assert reply.status == 200
    assert [record["api"] for record in state["records"]] == ["OptionsObject", "GetObject"]
    assert state["records"][1]["status"] == 403
    assert state["records"][1]["reason"]
    assert state["objects"] == [
        {
            "key": "users/alice/a.txt",
            "size": 5,
            "etag": hashlib.md5(b"hello").hexdigest(),  # COS's ETag
            "contentType": "",
            "lastModified": state["objects"][0]["lastModified"],
        }
    ]
    assert call(playground, "POST", "/reset", {})[0].status == 200
    state = call(playground, "GET", "/state.json")[1]
    assert state["records"] == []
    assert state["objects"] == []


# -- make run serves it (and not with real keys) -------------------------------------------------


def test_make_run_serves_the_playground_and_lets_its_origin_call_the_endpoint():
    ports = free_port(), free_port(), free_port()
    process, banner = start_serve(base_env(), *ports)
    try:
        assert "Ctrl-C stops." in banner, banner
        page = f"http://127.0.0.1:{ports[2]}/"
        assert f"playground: {page}" in banner
        assert f"http://127.0.0.1:{ports[2]}, http://localhost:{ports[2]}" in banner
        assert requests.get(page, timeout=10).status_code == 200
        config = requests.get(page + "api/config", timeout=10).json()
        assert config["stsUrl"] == f"http://127.0.0.1:{ports[0]}/sts"
        for origin, granted in (
            (f"http://localhost:{ports[2]}", True),
            ("http://other.test", False),
        ):
            preflight = requests.options(
                config["stsUrl"],
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type",
                },
                timeout=10,
            )
            assert (preflight.headers.get("Access-Control-Allow-Origin") == origin) is granted
    finally:
        rest = stop_serve(process)
    assert "stopped" in rest
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{ports[2]}/", timeout=2)


def test_make_run_with_real_keys_has_no_playground():
    ports = free_port(), free_port(), free_port()
    env = base_env(
        STS_SECRET_ID="AKIDnotused", STS_SECRET_KEY="not-used", STS_ENDPOINT="http://127.0.0.1:9"
    )
    process, banner = start_serve(env, *ports)
    try:
        assert "playground: off" in banner, banner
        assert "playground: http" not in banner
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{ports[2]}/", timeout=2)
    finally:
        stop_serve(process)


# -- never shipped --------------------------------------------------------------------------------


def test_the_package_leaves_the_playground_out(tmp_path):
    from sts_tools.commands import package

    package.copy_sources(str(tmp_path))
    shipped = {
        os.path.relpath(os.path.join(d, f), tmp_path) for d, _, fs in os.walk(tmp_path) for f in fs
    }
    assert "sts_core/config_validation.py" in shipped
    assert not [
        name for name in shipped if "playground" in name or "static" in name or name.endswith(".js")
    ]
    for name in os.listdir(os.path.join(ROOT, "sts_core")):
        if name.endswith(".py"):
            assert "playground" not in read(os.path.join(ROOT, "sts_core", name))
