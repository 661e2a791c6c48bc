"""Request ids: SCF's context id wins, a header id is bounded and single-line."""

from __future__ import annotations

import index
from tests.support import (
    context,
    event,
    token,
)


def test_scf_context_id_wins_and_header_ids_are_bounded(service, capsys):
    evt = event(token(), sample="function_url.json", headers={"x-scf-request-id": "x" * 5000})
    response = index.handle(service, evt, context())
    assert response["headers"]["X-Request-Id"] == "scf-req-0001"
    response = index.handle(service, evt, {})  # invoked by hand: a fresh id, not the header
    assert len(response["headers"]["X-Request-Id"]) == 36
    evt["headers"]["x-scf-request-id"] = "id\r\nSet-Cookie: a=b"
    assert "\n" not in index.handle(service, evt, {})["headers"]["X-Request-Id"]
    evt["headers"]["x-scf-request-id"] = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    assert (
        index.handle(service, evt, {})["headers"]["X-Request-Id"]
        == evt["headers"]["x-scf-request-id"]
    )
    assert "x" * 200 not in capsys.readouterr().out
