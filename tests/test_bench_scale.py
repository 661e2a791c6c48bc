"""`make bench-scale` must keep working: run it with tiny counts and check the
report's shape and the properties that hold at any size. No timing is asserted."""

from __future__ import annotations

import json

import pytest

from sts_tools.support.redis_server import INSTALL_HINT
from tests.support import run_python
from tests.support.tools import require_executable

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow


def test_scale_bench_quick_run_writes_a_complete_report(tmp_path):
    require_executable("redis-server", INSTALL_HINT)
    result = run_python("bench/scale.py", "--quick", "--out", str(tmp_path))
    report = json.loads((tmp_path / "scale-latest.json").read_text())
    assert report["workload"]["requests"] > 100
    rows = {(row["instances"], row["backend"]): row for row in report["scale"]}
    assert set(rows) == {(n, b) for n in (1, 3) for b in ("per-instance", "redis")}
    for row in rows.values():
        assert row["statuses"] == {"200": row["requests"]}  # the defaults never refuse
        assert 0 < row["sts_calls"] <= row["requests"]
        assert row["users_served_by_quota"] > 0
    # Shared keys: the STS bill no longer grows with the instance count.
    assert rows[(3, "redis")]["sts_calls"] == rows[(1, "redis")]["sts_calls"]
    assert rows[(3, "per-instance")]["sts_calls"] > rows[(3, "redis")]["sts_calls"]
    assert rows[(1, "redis")]["outcomes"].get("shared-error", 0) == 0
    for run in report["abuse"]:
        assert run["within_bound"], run
        assert run["rate_limited"] > 0
    latency = report["latency"]
    for name in ("local_hit", "redis_hit", "sts_round_trip"):
        assert 0 < latency[name]["median_ms"] <= latency[name]["p99_ms"]
    assert "redis_hit / local_hit (median)" in latency["ratios"]
    assert "active users 600/s serves" in result.stdout
