"""The benchmark script must keep working: run every section with tiny counts and
check the report's shape. No timing is asserted (that is the benchmark's job)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import ROOT, run_python

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow

SECTIONS = {"warm", "cache_hit", "handler_cpu", "cold", "memory", "package", "targets", "machine"}


def test_bench_quick_run_writes_a_complete_report(tmp_path):
    result = run_python("bench/bench.py", "--quick", "--out", str(tmp_path))
    report = json.loads((tmp_path / "latest.json").read_text())
    assert set(report) >= SECTIONS
    for scheme in ("http", "https"):
        for name in ("ours", "qcloud-python-sts", "tencentcloud-sdk-python-sts"):
            stats = report["warm"][scheme][name]
            assert stats["n"] >= 20
            assert 0 < stats["median"] <= stats["p90"] <= stats["p99"]
        assert set(report["warm"][scheme]["ratios"]) == {
            "qcloud-python-sts",
            "tencentcloud-sdk-python-sts",
        }
    for mode in ("deployed", "bytecode"):
        assert set(report["cold"][mode]) == {
            "ours",
            "qcloud-python-sts",
            "tencentcloud-sdk-python-sts",
        }
    assert 0 < report["cache_hit"]["median"] <= report["cache_hit"]["p99"]
    assert report["cold"]["offenders"]
    assert all(row["after_cold_start_mb"] > 0 for row in report["memory"].values())
    assert report["package"]["zip_bytes"] > 0
    assert len(report["targets"]) == 6
    assert "targets:" in result.stdout
    assert "per credential, warm" in result.stdout


def test_sdk_round_benchmark_runs(tmp_path):
    out = tmp_path / "sdk_round.json"
    result = subprocess.run(
        [sys.executable, "bench/sdk_round.py", "--rounds", "3", "--size", "100", "--out",
         str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["rounds"] == 3
    assert set(report["median_ms"]) == {"mint", "upload", "download", "round"}
    assert all(value > 0 for value in report["median_ms"].values())
