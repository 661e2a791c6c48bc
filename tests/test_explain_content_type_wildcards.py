"""`explain` says what a content-type wildcard admits."""

from __future__ import annotations

from sts_core.config_validation import parse_config
from tests.support import (
    make_env,
    make_service,
    shipped_config,
)


def test_explain_says_what_a_content_type_wildcard_admits(emulator):
    from sts_tools.explain import explain

    document = shipped_config()
    document["profiles"]["upload"]["content_types"] = ["image/*"]
    config = parse_config(document, make_env())
    service = make_service(make_env(emulator.endpoint), document)
    report, _ = explain(config, service.verifier, user="alice", body=b'{"profile":"upload"}')
    assert "image/svg+xml" in report
    assert "string_like" in report
