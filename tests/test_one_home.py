"""Each security fact and small rule is spelled in one module (docs/architecture.md,
"One of each"): a second spelling could drift from the first. The local COS spells
its own resource strings on purpose (an emulator must not share the policy builder's
code), so sts_tools/emulators/ is not scanned."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCANNED = sorted(
    path
    for folder in ("sts_core", "sts_tools")
    for path in (ROOT / folder).rglob("*.py")
    if "emulators" not in path.parts
)

# (what, pattern in code, the one module allowed to hold it)
RULES = [
    ("the CAM resource string", r"""f["']qcs::c(?:os|i):""", "sts_core/cam_resources.py"),
    ("the APPID from a bucket name", r"""bucket\.rsplit\(""", "sts_core/cam_resources.py"),
    ("the fixed part of a root", r"""\.split\(["']\{["'], 1\)""", "sts_core/config_model.py"),
    (
        "https unless loopback",
        r"""["']::1["']|\.endswith\(["']\.localhost""",
        "sts_core/url_rules.py",
    ),
    ("ISO time formatting", r"%Y-%m-%d", "sts_core/utc_time.py"),
    ("128-bit random names", r"token_hex\(16\)", "sts_core/object_keys.py"),
    ("the methods the function answers", r"POST, OPTIONS", "sts_core/errors.py"),
    ("percent-encoding", r"""safe=["']-_\.~""", "sts_core/url_encoding.py"),
]


@pytest.mark.parametrize(("what", "pattern", "home"), RULES, ids=[r[0] for r in RULES])
def test_spelled_in_one_place(what, pattern, home):
    found = [
        str(path.relative_to(ROOT))
        for path in SCANNED
        if re.search(pattern, path.read_text(encoding="utf-8"))
    ]
    assert found == [home], f"{what} is spelled outside {home}: {found}"
