"""`make bench-tickets` must keep working: run it with tiny counts and check the
report's shape and what holds at any size. No timing is asserted."""

from __future__ import annotations

import json

import pytest

from sts_tools.support.redis_server import INSTALL_HINT
from tests.support import run_python
from tests.support.tools import require_executable

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow


def test_ticket_bench_quick_run_writes_a_complete_report(tmp_path):
    require_executable("redis-server", INSTALL_HINT)
    quick = [
        "--samples",
        "10",
        "--uploads",
        "300",
        "--users",
        "30",
        "--hours",
        "1",
        "--instances",
        "1,3",
    ]
    result = run_python("bench/tickets.py", *quick, "--out", str(tmp_path))
    report = json.loads((tmp_path / "tickets-latest.json").read_text())
    for name in ("ticket", "sts_key", "cached_key"):
        assert 0 < report["latency"][name]["median_ms"] <= report["latency"][name]["p90_ms"]
    assert set(report["latency"]["ratios"]) == {"ticket / sts_key (median)",
                                                "ticket / cached_key (median)"}  # fmt: skip
    runs = {(r["mode"], r["backend"], r["instances"]): r for r in report["sts_calls"]["runs"]}
    assert len(runs) == 3 * 2 * 2
    assert all(r["refused"] == 0 for r in runs.values())
    # A scoped key per upload is one STS call each; a ticket signer one per instance and
    # key lifetime; with Redis one for all instances.
    assert runs[("scoped keys", "per-instance", 3)]["sts_calls"] == 300
    assert runs[("tickets", "redis", 3)]["sts_calls"] == runs[("tickets", "redis", 1)]["sts_calls"]
    assert runs[("tickets", "per-instance", 3)]["sts_calls"] <= 3 * 2
    assert "STS calls per 1,000 uploads" in result.stdout
