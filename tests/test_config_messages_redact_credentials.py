"""Configuration messages never quote credentials (URLs are redacted), and plain
HTTP for STS is accepted only on loopback."""

from __future__ import annotations

import pytest

import index
from sts_core.config_validation import parse_config
from tests.support import (
    context,
    event,
    make_env,
    shipped_config,
    token,
)
from tests.support.refusals import refused_config


@pytest.mark.parametrize(
    "endpoint",
    ["ftp://AKIDX:secret@sts.example.com", "https://AKIDX:secret@sts.example.com",
     "http://AKIDX:secret@sts.example.com"],
)  # fmt: skip
def test_sts_endpoint_credentials_never_reach_a_message(emulator, capsys, endpoint):
    error = refused_config(shipped_config(), STS_ENDPOINT=endpoint)
    assert error.key == "STS_ENDPOINT"
    response = index.handle(error, event(token()), context())
    logged = capsys.readouterr().out
    for text in (str(error), response["body"], logged):
        assert "secret" not in text
        assert "AKIDX" not in text


def test_any_url_a_config_message_quotes_is_redacted():
    document = shipped_config()
    document["auth"].update(issuer="https://login.example.com", audience="app")
    env = {"STS_JWKS_URL": "http://AKIDX:secret@login.example.com/jwks.json"}
    error = refused_config(document, **env)
    assert error.key == "auth.jwks_url"
    assert "secret" not in str(error)
    assert "http://***@login.example.com" in str(error)


def test_plain_http_sts_only_on_loopback():
    assert refused_config(shipped_config(), STS_ENDPOINT="http://sts.example.com").key == (
        "STS_ENDPOINT"
    )
    for endpoint in ("http://127.0.0.1:9100", "http://localhost:9100", "http://[::1]:9100"):
        parse_config(shipped_config(), make_env(STS_ENDPOINT=endpoint))
