"""Docs that stay true: every relative link in the repository's Markdown resolves
(files and #anchors), the configuration reference lists exactly the keys the
validator reads, every citation of the Tencent reference names a file and section
in docs/tencent/, and the README's runnable command blocks run against the local
stack, in order, as a new user would paste them."""

from __future__ import annotations

import copy
import glob
import os
import re
import subprocess
import sys
from unittest import mock

import yaml

from sts_core import config_section
from sts_core.config_validation import parse_config
from tests.support import (
    CONTRACT_ENV,
    ROOT,
    free_port,
    make_env,
    shipped_config,
    start_serve,
    stop_serve,
)

SKIP_DIRS = {".git", ".venv", "node_modules", "build", ".pytest_cache", ".hypothesis",
             "__pycache__", ".ruff_cache"}  # fmt: skip
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def markdown_files() -> list[str]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        found += [os.path.join(folder, f) for f in files if f.endswith(".md")]
    return sorted(found)


def prose(path: str) -> str:
    """The file without fenced code blocks or inline code (links there are examples)."""
    lines, fenced = [], False
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if FENCE.match(line):
                fenced = not fenced
                continue
            if not fenced:
                lines.append(re.sub(r"`[^`]*`", "", line))
    return "".join(lines)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"`|\*\*|\*|_(?=\W)|(?<=\W)_", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: str) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in prose(path).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            base = slug(heading.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_every_relative_link_resolves():
    broken = []
    for path in markdown_files():
        for match in LINK.finditer(prose(path)):
            target = match.group(1) or match.group(2)
            if re.match(r"^[a-z]+:", target) or target.startswith("<"):
                continue  # http(s), mailto: not checked here
            file_part, _, anchor = target.partition("#")
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) \
                if file_part else path  # fmt: skip
            where = os.path.relpath(path, ROOT)
            if not os.path.exists(resolved):
                broken.append(f"{where}: {target} (no such file)")
            elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                broken.append(f"{where}: {target} (no such heading)")
    assert broken == []


def test_the_slug_rules():
    assert slug("Keys, roles and least privilege") == "keys-roles-and-least-privilege"
    assert slug('The dry run: "why did my upload get 403?"') == (
        "the-dry-run-why-did-my-upload-get-403"
    )
    assert slug("Local tools: `python -m sts_tools`") == "local-tools-python--m-sts_tools"


# -- citations of the Tencent reference -----------------------------------------------------

TENCENT = os.path.join(ROOT, "docs", "tencent")
CITED_FILE = re.compile(r"([\w-]+\.md)\b`?\)?((?:[ ,]*(?:and |or )?§ ?\d+(?:-§?\d+)?)*)")
# Markdown files may also cite Tencent's own sources (docs/tencent/*.md "Sources"); code,
# config and tests may cite only what is in this repository.
CODE = (".py", ".yml", ".yaml", ".js", ".java", ".kt", ".m", ".h", ".swift", ".sh", ".toml",
        ".cfg", ".txt", "Makefile", ".example")  # fmt: skip


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()  # fmt: skip
    this = os.path.relpath(__file__, ROOT)  # its examples of what is wrong are wrong on purpose
    return [p for p in listed if p.endswith((*CODE, ".md")) and not p.endswith(".min.js")
            and p != this]  # fmt: skip


def sections(name: str) -> set[str]:
    with open(os.path.join(TENCENT, name), encoding="utf-8") as handle:
        return set(re.findall(r"^## (\d+)\. ", handle.read(), re.M))


def citation_problems(where: str, text: str, tracked_names: set[str]) -> list[str]:
    """What is wrong with the .md citations in `text` (the file `where`)."""
    problems = []
    inside_reference = where.startswith("docs/tencent/")
    reference_names = set(os.listdir(TENCENT)) - {"README.md"}
    for match in CITED_FILE.finditer(text):
        name, numbers = match.group(1), re.findall(r"§ ?(\d+)", match.group(2))
        if where.endswith(CODE) and name not in tracked_names:
            problems.append(f"{where}: cites {name}, which is not in the repository")
        if name not in reference_names:
            continue
        before = text[max(0, match.start() - 8) : match.start()]
        if not inside_reference and not before.endswith("tencent/"):
            problems.append(f"{where}: {name} cited without its path docs/tencent/")
        missing = [n for n in numbers if n not in sections(name)]
        if missing:
            problems.append(f"{where}: {name} has no section {', '.join(missing)}")
    return problems


def test_every_citation_resolves_inside_the_repository():
    """A `<file>.md` named in code, config or tests is a file in the repository, and
    `docs/tencent/<file>.md §N` anywhere names a section N (a heading `## N.`)."""
    files = tracked_files()
    names = {os.path.basename(p) for p in files}
    problems = []
    for path in files:
        with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as handle:
            problems += citation_problems(path, handle.read(), names)
    assert problems == []


def test_the_citation_check_catches_what_it_should():
    names = {"cos-api.md", "README.md"}
    absent = "nowhere" + ".md"  # in two parts, so that this file cites nothing absent itself
    assert citation_problems("a.py", "see docs/tencent/cos-api.md §5 and §9", names) == []
    assert citation_problems("a.py", "see docs/tencent/cos-api.md §42", names) == [
        "a.py: cos-api.md has no section 42"
    ]
    assert citation_problems("a.py", f"see {absent} §3", names) == [
        f"a.py: cites {absent}, which is not in the repository"
    ]
    assert citation_problems("docs/api.md", f"[src] `{absent}`", names) == []  # a source, in prose
    assert citation_problems("a.py", "(cos-api.md §5)", names) == [
        "a.py: cos-api.md cited without its path docs/tencent/"
    ]
    assert citation_problems("docs/tencent/sts.md", "`cam-policy.md` §4", names) == []


# -- the configuration reference -----------------------------------------------------------


def keys_read() -> set[str]:
    """Every key the validator reads, over configs that reach every branch: the
    shipped one, the examples, listings on the bucket, a key set."""
    read: set[str] = set()
    real = config_section.Section.raw

    def recording(self, name, default=None):
        read.add(self.key(name))
        return real(self, name, default)

    documents = [shipped_config()]
    for name in sorted(os.listdir(os.path.join(ROOT, "examples"))):
        with open(os.path.join(ROOT, "examples", name), encoding="utf-8") as handle:
            documents.append(yaml.safe_load(handle))
    on_bucket = copy.deepcopy(shipped_config())
    on_bucket["listing"] = {"bucket_resource": True}
    documents.append(on_bucket)
    issuer = "https://login.example.com/"
    jwks = make_env(STS_JWKS_URL=issuer + "jwks.json", STS_JWT_ISSUER=issuer,
                    STS_JWT_AUDIENCE="app")  # fmt: skip
    jwks.pop("STS_JWT_SECRET", None)
    with mock.patch.object(config_section.Section, "raw", recording):
        redis = {"STS_REDIS_URL": "redis://127.0.0.1:6379/0", "STS_CACHE_KEY": "k" * 32}
        for document in documents:  # an example with a quota needs Redis to load
            parse_config(
                copy.deepcopy(document), make_env(**(redis if "quota" in document else {}))
            )
        try:
            parse_config(shipped_config(), jwks)
        except config_section.ConfigError as exc:  # cryptography may be absent: keys read anyway
            if "cryptography" not in str(exc):
                raise
    names = {re.sub(r"^profiles\.[^.]+(?=\.|$)", "profiles.<name>", key) for key in read}
    names = {re.sub(r"\[\d+\].*$", "", key) for key in names}  # a list's items: its own row
    # Sections are not keys: only the leaves (a name no other name extends).
    return {n for n in names if not any(o.startswith(n + ".") for o in names)}


def keys_documented() -> set[str]:
    with open(os.path.join(ROOT, "docs", "configuration.md"), encoding="utf-8") as handle:
        text = handle.read()
    section = text.split("\n## Keys", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\|\s*`([^`]+)`\s*\|", section, re.M))


def test_the_configuration_page_lists_exactly_the_keys_the_code_reads():
    read, documented = keys_read(), keys_documented()
    assert sorted(read - documented) == [], "read by the validator, not in docs/configuration.md"
    assert sorted(documented - read) == [], "in docs/configuration.md, never read"


# -- the README's runnable blocks -------------------------------------------------------------


def runnable_blocks(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return re.findall(r"<!-- runnable -->\n```(?:bash|sh)\n(.*?)\n```", text, re.S)


def documented_pages() -> list[str]:
    """README.md first (its tour exports $TOKEN for the pages' blocks), then docs/."""
    pages = sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
    return [os.path.join(ROOT, "README.md"), *pages]


def test_every_command_block_is_run_or_says_why_not():
    """A shell block is either run by the test below or marked with why it cannot be."""
    unmarked = []
    for page in documented_pages():
        with open(page, encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        for number, line in enumerate(lines):
            if re.fullmatch(r" *```(?:bash|sh|shell|console)", line):
                before = lines[number - 1].strip() if number else ""
                if not re.fullmatch(r"<!-- (runnable|not run: .+) -->", before):
                    unmarked.append(f"{os.path.relpath(page, ROOT)}:{number + 1}")
    assert not unmarked, f"mark <!-- runnable --> or <!-- not run: why -->: {unmarked}"


def test_the_documented_runnable_blocks_run_against_the_local_stack():
    blocks = [block for page in documented_pages() for block in runnable_blocks(page)]
    assert len(runnable_blocks(os.path.join(ROOT, "README.md"))) >= 4, (
        "the tour's commands are marked <!-- runnable -->"
    )
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_ENV}
    ports = {"9000": free_port(), "9001": free_port(), "9002": free_port()}
    process, banner = start_serve(env, ports["9000"], ports["9001"], ports["9002"])
    try:
        assert "Ctrl-C stops." in banner, banner
        script = "\n".join(blocks)
        for default, port in ports.items():
            script = re.sub(rf"\b{default}\b", str(port), script)
        script = script.replace(".venv/bin/python", sys.executable)
        ran = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
        assert ran.returncode == 0, f"{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    finally:
        stop_serve(process)


def test_only_marked_blocks_are_runnable(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("<!-- runnable -->\n```bash\necho one\n```\n```bash\necho two\n```\n")
    assert runnable_blocks(str(path)) == ["echo one"]
