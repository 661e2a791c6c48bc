"""`make package`: the SCF folder and zip, and the handler running from them in an
interpreter that sees only the standard library and the package (python -I -S)."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import zipfile

import pytest

from sts_tools.commands import package as package_script
from sts_tools.emulators import sts as emu
from tests.support import JWT_SECRET, ROOT, token
from tests.support.tools import require_scf_python

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow

MAX_ZIP_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    folder, archive = package_script.build(str(out))
    unpacked = out / "unpacked"
    with zipfile.ZipFile(archive) as handle:
        handle.extractall(unpacked)
    return folder, archive, str(unpacked)


def scf_interpreters():
    """This interpreter, plus SCF's own versions when the machine has them."""
    found = {sys.executable}
    for version in ("3.9", "3.10"):
        pattern = os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")
        found.update(sorted(glob.glob(pattern))[-1:])
    return sorted(found)


def test_key_set_package_fails_closed_where_cryptography_cannot_load(built_with_jwks):
    """On a Python the package was not built for (here: this one), cold start must
    refuse the configuration by name rather than reach a request."""
    from tests.support.idp import AUDIENCE

    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import index; "
        "print(type(index.SERVICE).__name__, index.SERVICE)"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "COS_BUCKET": "examplebucket-1250000000",
        "COS_REGION": "ap-guangzhou",
        "STS_JWKS_URL": "https://idp.example.com/jwks.json",
        "STS_JWT_ISSUER": "https://idp.example.com",
        "STS_JWT_AUDIENCE": AUDIENCE,
    }
    command = [sys.executable, "-I", "-S", "-c", probe, built_with_jwks]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    last = result.stdout.strip().splitlines()[-1]
    if sys.version_info[:2] in ((3, 9), (3, 10)):
        assert last.startswith("Service")
    else:
        assert last.startswith("ConfigError auth.jwks_url: a key set needs a working cryptography")


def test_contents(built):
    folder, _, _ = built
    top = set(os.listdir(folder))
    assert {"index.py", "config.yml", "sts_core", "requests", "yaml", "jwt", "urllib3"} <= top
    assert "typing_extensions.py" in top  # PyJWT needs it below Python 3.11
    assert "cryptography" not in top  # HS256-only: the key-set extra is left out
    shipped = set(os.listdir(os.path.join(folder, "sts_core")))
    assert {"tc3_signing.py", "sts_client.py", "policy.py", "tokens.py", "grant.py"} <= shipped
    assert not any(name.startswith(("tests", "bench", "events", "sts_tools")) for name in top)
    assert "bin" not in top
    extensions = {
        os.path.basename(path)
        for path in glob.glob(os.path.join(folder, "**", "*.so"), recursive=True)
    }
    assert any("cpython-39-" in name for name in extensions)
    assert any("cpython-310-" in name for name in extensions)
    assert not any(name.startswith("_yaml.") for name in extensions)  # the unused accelerator


def test_the_zips_sts_core_is_the_repositorys_whole(built):
    """sts_core/ is exactly what ships: every file of the repository's folder, byte for
    byte, and nothing else but the bytecode the build compiles for it."""
    _, archive, _ = built
    repository = {
        os.path.relpath(os.path.join(base, name), ROOT).replace(os.sep, "/")
        for base, dirs, names in os.walk(os.path.join(ROOT, "sts_core"))
        for name in names
        if "__pycache__" not in base
    }
    with zipfile.ZipFile(archive) as zipped:
        entries = {n for n in zipped.namelist() if n.startswith("sts_core/")}
        sources = {n for n in entries if "/__pycache__/" not in n}
        assert sources == repository
        for name in sources:
            with open(os.path.join(ROOT, name), "rb") as handle:
                assert zipped.read(name) == handle.read(), name
    for name in entries - sources:
        module = name.split("/__pycache__/")[1].split(".")[0]
        assert name.endswith(".pyc")
        assert f"sts_core/{module}.py" in repository


def test_bytecode_ships_for_the_cold_path_only(built):
    folder, _, _ = built
    assert os.path.exists(os.path.join(folder, "config.yml.json"))
    for version in package_script.PYTHONS:
        if package_script.find_interpreter(version) is None:
            continue  # this machine cannot compile for it; the package still works
        tag = "cpython-" + version.replace(".", "")
        for module in ("index", "sts_core/policy", "sts_core/tokens", "requests/sessions",
                       "jwt/api_jwt"):  # fmt: skip
            directory, name = os.path.split(os.path.join(folder, module))
            assert os.path.exists(os.path.join(directory, "__pycache__", f"{name}.{tag}.pyc"))
        yaml_bytecode = glob.glob(os.path.join(folder, "yaml", "__pycache__", f"*.{tag}.pyc"))
        assert yaml_bytecode == []  # not imported on the cold path


def write_distribution(tree, name, *headers):
    info = tree / f"{name}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("\n".join(["Metadata-Version: 2.1", *headers]) + "\n\nbody\n")


def test_requirement_checks_use_the_target_python(tmp_path):
    write_distribution(tmp_path, "lib-1.0", "Name: lib",
                       'Requires-Dist: backport>=1; python_version < "3.11"')  # fmt: skip
    with pytest.raises(SystemExit, match=r"needs backport on Python 3\.9"):
        package_script.check_requirements(str(tmp_path), "3.9")
    package_script.check_requirements(str(tmp_path), "3.11")  # the marker is false there
    write_distribution(tmp_path, "backport-2.0", "Name: backport", "Requires-Python: >=3.10")
    with pytest.raises(SystemExit, match=r"requires Python >=3\.10, not 3\.9"):
        package_script.check_requirements(str(tmp_path), "3.9")
    package_script.check_requirements(str(tmp_path), "3.10")


def test_zip_matches_the_folder_and_is_small(built):
    folder, archive, unpacked = built
    assert os.path.getsize(archive) <= MAX_ZIP_BYTES
    assert package_script._files(folder) == package_script._files(unpacked)
    with zipfile.ZipFile(archive) as handle:
        names = handle.namelist()
        assert names == sorted(names)
        assert {info.date_time for info in handle.infolist()} == {package_script.ZIP_TIME}


def test_build_is_reproducible(built, tmp_path):
    _, archive, _ = built
    _, again = package_script.build(str(tmp_path))
    with open(archive, "rb") as first, open(again, "rb") as second:
        assert first.read() == second.read()


RUN_PACKAGED = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import index
event = json.loads(sys.argv[2])
response = index.main_handler(event, {"time_limit_in_ms": 3000, "request_id": "pkg-test"})
files = [m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)]
root = os.path.realpath(sys.argv[1]) + os.sep
print(json.dumps({"response": response, "version": "%d.%d" % sys.version_info[:2],
                  "tag": sys.implementation.cache_tag,
                  "site": "site" in sys.modules, "yaml": "yaml" in sys.modules,
                  "crypto": "cryptography" in sys.modules,
                  "outside": [f for f in files if "site-packages" in f],
                  "packaged": [f for f in files if os.path.realpath(f).startswith(root)]}))
"""


@pytest.mark.parametrize("python", scf_interpreters())
def test_packaged_handler_runs_with_only_stdlib_and_the_package(built, python):
    _, _, unpacked = built
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "COS_BUCKET": "examplebucket-1250000000",
        "COS_REGION": "ap-guangzhou",
        "STS_JWT_SECRET": JWT_SECRET,
        "STS_SECRET_ID": emu.DEV_SECRET_ID,
        "STS_SECRET_KEY": emu.DEV_SECRET_KEY,
    }
    event = {
        "httpMethod": "POST",
        "path": "/sts",
        "headers": {"authorization": f"Bearer {token('alice')}"},
        "body": '{"profile":"download"}',
    }
    with emu.StsEmulator() as sts:
        env["STS_ENDPOINT"] = sts.endpoint
        result = subprocess.run(
            [python, "-I", "-S", "-c", RUN_PACKAGED, unpacked, json.dumps(event)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert sts.calls[-1].policy["statement"][0]["action"] == [
            "name/cos:GetObject",
            "name/cos:HeadObject",
            "name/cos:GetBucket",
        ]
    assert report["site"] is False
    assert report["outside"] == []
    assert report["yaml"] is False  # config.yml.json spared the cold start PyYAML
    assert report["crypto"] is False  # an HS256 deployment never pays for cryptography
    if report["version"] in package_script.PYTHONS:
        # Every packaged module the request imported has bytecode for this Python.
        for path in (p for p in report["packaged"] if p.endswith(".py")):
            directory, name = os.path.split(path)
            pyc = os.path.join(directory, "__pycache__", f"{name[:-3]}.{report['tag']}.pyc")
            assert os.path.exists(pyc), path
    response = report["response"]
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert body["prefix"] == "users/alice/"
    assert body["credentials"]["tmpSecretId"].startswith("AKIDEMULATOR")


@pytest.fixture(scope="module")
def built_with_jwks(tmp_path_factory):
    out = tmp_path_factory.mktemp("build-jwks")
    folder, _ = package_script.build(str(out), with_jwks=True)
    return folder


def scf_only_interpreters():
    # None: no SCF Python here; the test then skips (or fails under CI=true).
    return [p for p in scf_interpreters() if p != sys.executable] or [None]


@pytest.mark.parametrize("python", scf_only_interpreters())
def test_key_set_package_verifies_rs256_and_es256_tokens(built_with_jwks, python):
    """cryptography's and cffi's compiled parts are per SCF Python: run on those."""
    require_scf_python(python)
    from tests.support.idp import AUDIENCE, FakeIdP, Key

    assert os.path.isdir(os.path.join(built_with_jwks, "cryptography"))
    provider = FakeIdP()
    provider.keys = [Key("rsa-1", "RSA"), Key("ec-1", "EC")]
    try:
        with emu.StsEmulator() as sts:
            env = emu.function_env(sts.endpoint, "unused-in-key-set-mode-0123456789abcdef")
            env.pop("STS_JWT_SECRET")
            env.update(
                PATH=os.environ.get("PATH", "/usr/bin:/bin"),
                STS_JWKS_URL=provider.jwks_url,
                STS_JWT_ISSUER=provider.issuer,
                STS_JWT_AUDIENCE=AUDIENCE,
            )
            for key in provider.keys:
                event = {
                    "httpMethod": "POST",
                    "path": "/sts",
                    "headers": {"authorization": f"Bearer {provider.token(key, 'carol')}"},
                    "body": "",
                }
                result = subprocess.run(
                    [python, "-I", "-S", "-c", RUN_PACKAGED, built_with_jwks, json.dumps(event)],
                    env=env, capture_output=True, text=True, timeout=60, check=False,
                )  # fmt: skip
                assert result.returncode == 0, result.stderr
                report = json.loads(result.stdout.strip().splitlines()[-1])
                assert report["response"]["statusCode"] == 200, report["response"]
                assert report["crypto"] is True
                assert json.loads(report["response"]["body"])["prefix"] == "users/carol/"
    finally:
        provider.stop()
