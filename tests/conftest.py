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
