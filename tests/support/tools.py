"""External tools some tests drive (redis-server, Chromium, Node packages).

On a developer's machine a missing tool skips the test with a message saying how
to install it; under CI=true it fails instead, because CI installs every tool
(`make test` runs scripts/system_deps.sh and the npm installs) and a skip there
would hide a test that never ran.
"""

from __future__ import annotations

import os
import shutil
from typing import Optional

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, what: str, how: str) -> None:
    """Skip (developer machine) or fail (CI) unless `available`."""
    if available:
        return
    message = f"{what} is not available; install it with: {how}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: tests may not skip)", pytrace=False)
    pytest.skip(message)


def require_executable(name: str, how: str, path: Optional[str] = None) -> str:
    """The executable's path, or skip/fail as `require` does."""
    found = path if path and os.access(path, os.X_OK) else shutil.which(name)
    require(found is not None, name, how)
    assert found is not None
    return found


def require_scf_python(python: Optional[str]) -> None:
    """An interpreter of SCF's Python versions (3.9 or 3.10) for package tests."""
    require(python is not None, "Python 3.9 or 3.10 (SCF's runtimes)", "pyenv install 3.9 3.10")
