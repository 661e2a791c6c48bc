from __future__ import annotations

import os
import sys

from hypothesis import settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Shared CI machines are slow and noisy: no per-example deadline.
settings.register_profile("default", deadline=None)
settings.load_profile("default")


import pytest  # noqa: E402

from sts_core.local.sts_emulator import StsEmulator  # noqa: E402


@pytest.fixture(scope="session")
def sts_emulator():
    """One real STS emulator on a loopback socket for the whole run."""
    with StsEmulator() as server:
        yield server


@pytest.fixture
def emulator(sts_emulator):
    sts_emulator.reset()
    return sts_emulator
