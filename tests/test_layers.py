"""The layers: what ships (index.py, sts_core/) never imports the tooling, and the
tooling's own layers hold (the import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from tests.support import ROOT


def test_the_import_contracts_hold():
    lint_imports = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    result = subprocess.run(
        [lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_index_imports_only_the_shipped_package():
    with open(os.path.join(ROOT, "index.py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    imported = {
        node.module.split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
        if not isinstance(node, ast.ImportFrom) or node.module
    }
    assert imported <= {"__future__", "os", "typing", "sts_core"}
