"""docs/architecture.md names every module of sts_core/ and sts_tools/, and no
module that is gone: a newcomer's map that cannot silently fall behind."""

from __future__ import annotations

import os
import re

from tests.support import ROOT

PACKAGES = ("sts_core", "sts_tools")


def modules() -> set[str]:
    found = set()
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py") and name != "__init__.py":
                    path = os.path.relpath(os.path.join(folder, name), ROOT)
                    found.add(path.replace(os.sep, "/"))
    return found


def named_in_the_table() -> set[str]:
    with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as handle:
        text = handle.read()
    section = text[text.index("## Every module") :]
    section = section[: section.index("\n## ")]
    return set(re.findall(r"^\| `((?:sts_core|sts_tools)/[\w/]+\.py)` \|", section, re.M))


def test_every_module_is_named_in_the_architecture():
    missing = sorted(modules() - named_in_the_table())
    assert not missing, f"add to docs/architecture.md's 'Every module' table: {missing}"


def test_the_architecture_names_no_module_that_is_gone():
    gone = sorted(named_in_the_table() - modules())
    assert not gone, f"docs/architecture.md names modules that do not exist: {gone}"
