"""Build what SCF runs: build/scf/ and build/cos-sts-scf.zip.

Contents: index.py, config.yml, the whole sts_core/ folder (exactly what ships:
the tooling lives in sts_tools/, which nothing shipped imports), and requirements.txt
installed for SCF's platform: CentOS 7
(manylinux2014, x86_64), CPython 3.9 *and* 3.10. Both versions resolve the same
pinned releases; only their compiled extension modules differ, so the 3.10
``.so`` files are added beside the 3.9 tree and the same folder runs on either
runtime. Nothing else is installed: SCF's Python 3.9/3.10 runtimes preinstall no
packages. The zip is deterministic (sorted entries, fixed timestamps).

Bytecode: SCF's code directory is read-only, so without shipped .pyc files every
cold start compiles every imported module from source. For each SCF Python this
machine has, one credential request is run through the packaged handler (against
a local STS emulator) and exactly the modules it imports are compiled by that
interpreter, as checked-hash .pyc: Python validates them against the source, so
an edited .py is recompiled rather than silently shadowed.

Extras: --with-jwks adds requirements-jwks.txt (tokens from an OIDC key set),
--with-redis adds requirements-redis.txt (shared state on Redis); with Redis the
probe request runs with STS_REDIS_URL pointing at a closed port, so the modules a
Redis deployment loads at cold start get bytecode too (and the fallback to STS is
exercised on every build).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLATFORM = "manylinux2014_x86_64"
PYTHONS = ("3.9", "3.10")
# What a checkout may hold in sts_core/ that is not source: never copied.
NOT_SOURCE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
# PyYAML's optional libyaml binding (2.4 MB per Python version): yaml.safe_load, the
# only call made, runs the pure-Python SafeLoader whether or not it is present.
UNUSED_ACCELERATORS = ("yaml/_yaml.",)
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def install(
    python_version: str, target: str, with_jwks: bool = False, with_redis: bool = False
) -> None:
    extras = ["-r", os.path.join(ROOT, "requirements-jwks.txt")] if with_jwks else []
    if with_redis:
        extras += ["-r", os.path.join(ROOT, "requirements-redis.txt")]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            target,
            "--platform",
            PLATFORM,
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--only-binary=:all:",
            "-r",
            os.path.join(ROOT, "requirements.txt"),
            *extras,
        ],
        check=True,
    )


def _files(tree: str) -> set[str]:
    return {
        os.path.relpath(os.path.join(base, name), tree)
        for base, _, names in os.walk(tree)
        for name in names
    }


def _distributions(tree: str) -> set[str]:
    return {name for name in os.listdir(tree) if name.endswith(".dist-info")}


def _metadata(tree: str, distribution: str) -> list[str]:
    """The header lines of a vendored distribution's METADATA."""
    with open(os.path.join(tree, distribution, "METADATA"), encoding="utf-8") as handle:
        return handle.read().split("\n\n", 1)[0].splitlines()


def check_requirements(tree: str, python_version: str) -> None:
    """Every vendored package must support the *target* Python (Requires-Python), and
    each of its Requires-Dist evaluated for that Python must be vendored too. pip run
    from another Python checks neither reliably for --target installs."""
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet
    from pip._vendor.packaging.utils import canonicalize_name

    environment = {
        "python_version": python_version,
        "python_full_version": python_version + ".0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "extra": "",
    }
    present = {
        canonicalize_name(name[: -len(".dist-info")].rsplit("-", 1)[0])
        for name in _distributions(tree)
    }
    for distribution in sorted(_distributions(tree)):
        headers = _metadata(tree, distribution)
        for line in headers:
            name, _, value = line.partition(":")
            value = value.strip()
            if name == "Requires-Python" and not SpecifierSet(value).contains(
                python_version + ".0"
            ):
                raise SystemExit(
                    f"{distribution} requires Python {value}, not {python_version}: "
                    "pin an older release in requirements.txt"
                )
            if name == "Requires-Dist":
                requirement = Requirement(value)
                needed = requirement.marker is None or requirement.marker.evaluate(environment)
                if needed and canonicalize_name(requirement.name) not in present:
                    raise SystemExit(
                        f"{distribution} needs {requirement.name} on Python {python_version}: "
                        "pin it in requirements.txt"
                    )


def vendor(folder: str, with_jwks: bool = False, with_redis: bool = False) -> None:
    """Install the runtime requirements for every SCF Python into `folder`."""
    with tempfile.TemporaryDirectory() as scratch:
        trees = []
        for version in PYTHONS:
            tree = os.path.join(scratch, version)
            install(version, tree, with_jwks, with_redis)
            check_requirements(tree, version)
            trees.append(tree)
        first = trees[0]
        for other in trees[1:]:
            if _distributions(other) != _distributions(first):
                raise SystemExit(f"requirements resolve differently per Python: {other}")
        shutil.copytree(first, folder, dirs_exist_ok=True)
        for other in trees[1:]:
            for relative in sorted(_files(other) - _files(first)):
                if not relative.endswith(".so"):
                    raise SystemExit(f"unexpected version-specific file {relative}")
                destination = os.path.join(folder, relative)
                os.makedirs(os.path.dirname(destination), exist_ok=True)
                shutil.copy2(os.path.join(other, relative), destination)
    # Console scripts are useless in SCF; pip's own caches are not what we ship.
    shutil.rmtree(os.path.join(folder, "bin"), ignore_errors=True)
    for relative in _files(folder):
        if relative.replace(os.sep, "/").startswith(UNUSED_ACCELERATORS):
            os.remove(os.path.join(folder, relative))
    for base, dirs, _ in os.walk(folder):
        for name in [d for d in dirs if d == "__pycache__"]:
            shutil.rmtree(os.path.join(base, name))


COLD_PATH_PROBE = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import index
event = {"httpMethod": "POST", "path": "/sts", "body": "",
         "headers": {"authorization": "Bearer " + os.environ["PROBE_TOKEN"]}}
response = index.main_handler(event, {"time_limit_in_ms": 5000, "request_id": "probe"})
if response["statusCode"] != 200:
    raise SystemExit("probe request failed: " + response["body"])
root = os.path.realpath(sys.argv[1]) + os.sep
files = {os.path.realpath(m.__file__) for m in list(sys.modules.values())
         if getattr(m, "__file__", None)}
print(json.dumps(sorted(f for f in files if f.startswith(root) and f.endswith(".py"))))
"""


def find_interpreter(version: str) -> Optional[str]:
    """A working CPython `version` on this machine, if any (PATH or pyenv)."""
    candidates = [shutil.which(f"python{version}") or ""]
    candidates += sorted(
        glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))
    )
    for candidate in candidates:
        if not candidate:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def cold_path_files(folder: str, interpreter: str, with_redis: bool = False) -> list[str]:
    """The files of `folder` that one credential request imports on `interpreter`."""
    import jwt

    from sts_tools.emulators import sts as emulator

    secret = "package-probe-secret-0123456789abcdefghijklmnop"
    token = jwt.encode({"sub": "probe", "exp": int(time.time()) + 300}, secret, algorithm="HS256")
    with emulator.StsEmulator() as sts:
        env = emulator.function_env(sts.endpoint, secret)
        env.update(PATH=os.environ.get("PATH", "/usr/bin:/bin"), PROBE_TOKEN=token)
        if with_redis:  # nothing listens there: the request falls back to STS
            env.update(STS_REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
                       STS_CACHE_KEY="package-probe-cache-key-0123456789abcdef")  # fmt: skip
        result = subprocess.run(
            [interpreter, "-I", "-S", "-B", "-c", COLD_PATH_PROBE, folder],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"the packaged handler failed on {interpreter}:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def compile_bytecode(folder: str, with_redis: bool = False) -> list[str]:
    """Ship bytecode for the cold path; returns the Python versions it was built for."""
    built = []
    for version in PYTHONS:
        interpreter = find_interpreter(version)
        if interpreter is None:
            print(f"note: no Python {version} here, so no {version} bytecode is shipped")
            continue
        files = cold_path_files(folder, interpreter, with_redis)
        # Record paths relative to the folder (deterministic bytes); at import
        # Python points co_filename at wherever the source really is.
        subprocess.run(
            [interpreter, "-c",
             "import os, py_compile, sys\n"
             "root = sys.argv[1]\n"
             "for f in sys.argv[2:]:\n"
             "    py_compile.compile(f, dfile=os.path.relpath(f, root), doraise=True,"
             " invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)",
             os.path.realpath(folder), *files],
            # Set constants are marshalled in hash order: fix the seed for
            # byte-identical builds.
            env={**os.environ, "PYTHONHASHSEED": "0"},
            check=True,
        )  # fmt: skip
        built.append(version)
    return built


def copy_sources(folder: str) -> None:
    from sts_core.config_loading import compile_config

    shutil.copy2(os.path.join(ROOT, "index.py"), folder)
    shutil.copy2(os.path.join(ROOT, "config.yml"), folder)
    # config.yml.json: the same document, so a cold start need not import PyYAML.
    compile_config(os.path.join(folder, "config.yml"))
    shutil.copytree(os.path.join(ROOT, "sts_core"), os.path.join(folder, "sts_core"),
                    ignore=NOT_SOURCE)  # fmt: skip


def write_zip(folder: str, path: str) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for relative in sorted(_files(folder)):
            info = zipfile.ZipInfo(relative.replace(os.sep, "/"), ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(os.path.join(folder, relative), "rb") as handle:
                archive.writestr(info, handle.read())


def size_of(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(folder, f)) for f in _files(folder))


def build(out: str, with_jwks: bool = False, with_redis: bool = False) -> tuple[str, str]:
    folder = os.path.join(out, "scf")
    archive = os.path.join(out, "cos-sts-scf.zip")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    vendor(folder, with_jwks, with_redis)
    copy_sources(folder)
    compile_bytecode(folder, with_redis)
    write_zip(folder, archive)
    return folder, archive


SUMMARY = "build build/scf and build/cos-sts-scf.zip (make package)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=os.path.join(ROOT, "build"))
    parser.add_argument(
        "--with-jwks",
        action="store_true",
        help="also vendor requirements-jwks.txt (tokens from an OIDC key set)",
    )
    parser.add_argument(
        "--with-redis",
        action="store_true",
        help="also vendor requirements-redis.txt (shared key reuse and limits on Redis)",
    )


def run(args: argparse.Namespace) -> int:
    folder, archive = build(args.out, args.with_jwks, args.with_redis)
    print(
        f"{os.path.relpath(folder)}: {len(_files(folder))} files, {size_of(folder) / 1024:.0f} KiB"
    )
    print(f"{os.path.relpath(archive)}: {os.path.getsize(archive) / 1024:.0f} KiB")
    return 0
