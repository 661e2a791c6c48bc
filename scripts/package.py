"""Build what SCF runs: build/scf/ and build/cos-sts-scf.zip.

Contents: index.py, config.yml, the runtime modules of sts_core (no emulator, CLI
or dev server), and requirements.txt installed for SCF's platform: CentOS 7
(manylinux2014, x86_64), CPython 3.9 *and* 3.10. Both versions resolve the same
pinned releases; only their compiled extension modules differ, so the 3.10
``.so`` files are added beside the 3.9 tree and the same folder runs on either
runtime. Nothing else is installed: SCF's Python 3.9/3.10 runtimes preinstall no
packages. The zip is deterministic (sorted entries, fixed timestamps).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLATFORM = "manylinux2014_x86_64"
PYTHONS = ("3.9", "3.10")
DEV_ONLY = {"emulator.py", "local.py", "devserver.py", "explain.py", "cli.py", "__main__.py"}
# PyYAML's optional libyaml binding (2.4 MB per Python version): yaml.safe_load, the
# only call made, runs the pure-Python SafeLoader whether or not it is present.
UNUSED_ACCELERATORS = ("yaml/_yaml.",)
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def install(python_version: str, target: str) -> None:
    subprocess.run(  # noqa: S603 - our own interpreter running pip on our own file
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


def check_requirements(tree: str, python_version: str) -> None:
    """Every Requires-Dist of every vendored package, evaluated for the *target*
    Python, must be vendored too (pip evaluates markers for the Python it runs on)."""
    from pip._vendor.packaging.requirements import Requirement
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
        with open(os.path.join(tree, distribution, "METADATA"), encoding="utf-8") as handle:
            lines = [
                line[len("Requires-Dist:") :].strip()
                for line in handle
                if line.startswith("Requires-Dist:")
            ]
        for line in lines:
            requirement = Requirement(line)
            needed = requirement.marker is None or requirement.marker.evaluate(environment)
            if needed and canonicalize_name(requirement.name) not in present:
                raise SystemExit(
                    f"{distribution} needs {requirement.name} on Python {python_version}: "
                    "pin it in requirements.txt"
                )


def vendor(folder: str) -> None:
    """Install the runtime requirements for every SCF Python into `folder`."""
    with tempfile.TemporaryDirectory() as scratch:
        trees = []
        for version in PYTHONS:
            tree = os.path.join(scratch, version)
            install(version, tree)
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
    # Console scripts are useless in SCF and caches are rebuilt on the platform.
    shutil.rmtree(os.path.join(folder, "bin"), ignore_errors=True)
    for relative in _files(folder):
        if relative.replace(os.sep, "/").startswith(UNUSED_ACCELERATORS):
            os.remove(os.path.join(folder, relative))
    for base, dirs, _ in os.walk(folder):
        for name in [d for d in dirs if d == "__pycache__"]:
            shutil.rmtree(os.path.join(base, name))


def copy_sources(folder: str) -> None:
    shutil.copy2(os.path.join(ROOT, "index.py"), folder)
    shutil.copy2(os.path.join(ROOT, "config.yml"), folder)
    package = os.path.join(folder, "sts_core")
    os.makedirs(package)
    for name in sorted(os.listdir(os.path.join(ROOT, "sts_core"))):
        if name.endswith(".py") and name not in DEV_ONLY:
            shutil.copy2(os.path.join(ROOT, "sts_core", name), package)


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


def build(out: str) -> tuple[str, str]:
    folder = os.path.join(out, "scf")
    archive = os.path.join(out, "cos-sts-scf.zip")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    vendor(folder)
    copy_sources(folder)
    write_zip(folder, archive)
    return folder, archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "build"))
    args = parser.parse_args()
    folder, archive = build(args.out)
    print(
        f"{os.path.relpath(folder)}: {len(_files(folder))} files, {size_of(folder) / 1024:.0f} KiB"
    )
    print(f"{os.path.relpath(archive)}: {os.path.getsize(archive) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
