"""https unless loopback (sts_core/url_rules.py): one rule for every endpoint the
function calls or sends clients to, checked on its own and through each key that
uses it, so no endpoint can drift back to a rule of its own."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from sts_core.url_rules import https_or_loopback, is_loopback
from tests.support import make_env, shipped_config
from tests.support.login import login_document, login_env

LOOPBACK = ["localhost", "127.0.0.1", "[::1]", "cos.localhost", "b-1250000000.cos.ap-x.localhost"]
# Names that only look local: plain http to them would leave the machine.
NOT_LOOPBACK = [
    "example.com", "localhost.example.com", "evillocalhost", "127.0.0.1.nip.io",
    "localhost.", "10.0.0.1", "[::2]", "0.0.0.0",  # noqa: S104 - a host name, not a bind
]  # fmt: skip


@pytest.mark.parametrize("host", LOOPBACK)
def test_plain_http_only_to_loopback(host):
    assert https_or_loopback(f"http://{host}:9000")
    assert https_or_loopback(f"https://{host}")


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_plain_http_elsewhere_is_refused(host):
    assert not https_or_loopback(f"http://{host}/")
    assert https_or_loopback(f"https://{host}/")


@pytest.mark.parametrize(
    "url",
    ["http://localhost@evil.example/", "ftp://localhost/", "//localhost/", "https://", "http://[::1",
     "", "localhost", "HTTP://example.com"],
)  # fmt: skip
def test_no_host_no_scheme_or_a_hidden_host_is_refused(url):
    assert not https_or_loopback(url)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=30))
def test_loopback_names_are_exactly_localhost_and_its_subdomains(name):
    expected = name in ("localhost", "127.0.0.1") or name.endswith(".localhost")
    assert is_loopback(name) == expected


@pytest.mark.parametrize("key", ["STS_ENDPOINT", "tickets.cos_endpoint", "auth.jwks_url"])
@pytest.mark.parametrize(
    ("host", "accepted"), [("localhost:9", True), ("sts.localhost:9", True), ("example.com", False)]
)
def test_every_configured_endpoint_follows_the_one_rule(key, host, accepted):
    document = copy.deepcopy(shipped_config())
    env = make_env()
    if key == "STS_ENDPOINT":
        env = make_env(f"http://{host}")
    elif key == "tickets.cos_endpoint":
        document.setdefault("tickets", {})["cos_endpoint"] = f"http://{{bucket}}.{host}"
    else:
        document["auth"] = {"jwks_url": f"http://{host}/keys", "issuer": "https://idp.example",
                            "audience": "app"}  # fmt: skip
    if accepted:
        parse_config(document, env)
    else:
        with pytest.raises(ConfigError) as refused:
            parse_config(document, env)
        assert refused.value.key == key


@pytest.mark.parametrize(("host", "accepted"), [("wx.localhost:9", True), ("example.com", False)])
def test_the_sign_in_endpoint_follows_the_one_rule(host, accepted):
    env = login_env("http://127.0.0.1:9", f"http://{host}")
    if accepted:
        parse_config(login_document(), env)
    else:
        with pytest.raises(ConfigError, match="https"):
            parse_config(login_document(), env)
