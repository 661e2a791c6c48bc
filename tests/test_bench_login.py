"""`make bench-login` must keep working: run it with few samples and check the report's
shape. No timing is asserted (the ratio's target is the benchmark's exit status, read
from a full run)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import ROOT

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow


def test_login_bench_quick_run_writes_a_complete_report(tmp_path):
    ran = subprocess.run([sys.executable, "bench/login.py", "--samples", "20", "--out",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=False)  # fmt: skip
    assert ran.returncode in (0, 1), ran.stderr[-2000:]  # 1: the ratio missed on this run
    report = json.loads((tmp_path / "login-latest.json").read_text())
    for name in ("sign-in", "exchange alone", "sign-in, no network", "/sts, session token",
                 "/sts, app HS256 token"):  # fmt: skip
        assert report[name]["n"] == 20
        assert 0 < report[name]["median_ms"] <= report[name]["p90_ms"]
    derived = report["derived"]
    assert derived["target"] == 1.05
    assert derived["met"] == (derived["session / app token at /sts (median)"] <= 1.05)
    assert "session / app token" in ran.stdout
