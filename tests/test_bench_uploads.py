"""`make bench-uploads` must keep working: a tiny run, the report's shape, and what
holds at any size (no timing is asserted): the quota adds one Redis round trip to a
ticket, and events, quota and webhook leave STS calls unchanged."""

from __future__ import annotations

import json

import pytest

from sts_tools.support.redis_server import INSTALL_HINT
from tests.support import run_python
from tests.support.tools import require_executable

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow


def test_uploads_bench_quick_run_writes_a_complete_report(tmp_path):
    require_executable("redis-server", INSTALL_HINT)
    quick = ["--samples", "10", "--requests", "300", "--users", "30", "--out", str(tmp_path)]
    run_python("bench/uploads.py", *quick)
    report = json.loads((tmp_path / "uploads-latest.json").read_text())
    for section, names in (("tickets", ("ticket", "ticket_with_quota")),
                           ("events", ("event", "event_with_webhook"))):  # fmt: skip
        for name in names:
            assert 0 < report[section][name]["median_ms"] <= report[section][name]["p90_ms"]
    trips = report["tickets"]["redis_round_trips"]
    assert (trips["ticket"], trips["ticket_with_quota"]) == (0, 1)
    calls = report["sts_calls"]["per_1000_requests"]
    assert calls["off"] == calls["events + quota + webhook"]
