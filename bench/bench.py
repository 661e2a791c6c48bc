"""`make bench`: this function against what a user would deploy instead, in one run.

Contenders, all talking to the same loopback STS stand-in (the emulator, in its own
process, one write per response with TCP_NODELAY), over HTTP and HTTPS (a
throwaway CA):

- ours:  the whole handler, index.handle(): event parsing, JWT check, policy,
         TC3 signing, STS round trip, response, log line;
- qcloud-python-sts: ``Sts(config).get_credential()`` (v1 signing, no auth, no policy work);
- tencentcloud-sdk-python-sts: ``StsClient.GetFederationToken()`` alone.

Sections: warm latency per credential; our handler's CPU without the STS round
trip; cold start (fresh interpreter, import, first credential) with each
contender vendored into its own folder for SCF's Python, as deployed; peak RSS;
package size. Ratios compare contenders measured in the same run; absolute
times on a shared machine are noise. Writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Optional
from urllib.parse import quote

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sts_tools.commands import package as package_script  # noqa: E402
from sts_tools.emulators import sts as emu  # noqa: E402
from sts_tools.support.dev_token import mint_token  # noqa: E402
from sts_tools.support.trigger_events import credential_request  # noqa: E402

JWT_SECRET = "bench-jwt-secret-0123456789abcdefghijklmnopqrstuvwxyz"
BUCKET = "examplebucket-1250000000"
REGION = "ap-guangzhou"
UPLOAD_ACTIONS = [
    "name/cos:PutObject", "name/cos:PostObject", "name/cos:InitiateMultipartUpload",
    "name/cos:ListMultipartUploads", "name/cos:ListParts", "name/cos:UploadPart",
    "name/cos:CompleteMultipartUpload", "name/cos:AbortMultipartUpload",
]  # fmt: skip
CONTENDERS = ("ours", "qcloud-python-sts", "tencentcloud-sdk-python-sts")
# What a user would build instead of ours, for the cold start: the official sample
# (qcloud-python-sts) plus PyJWT checking the caller's token.
BASELINE = "qcloud-python-sts + PyJWT"
TARGETS = {
    "warm_https_vs_qsts": 0.35,
    "warm_https_vs_sdk": 1.0,
    "handler_cpu_median_us": 150,
    "cold_vs_baseline": 1.0,
    "peak_rss_mb": 64,
    "zip_bytes": 2 * 1024 * 1024,
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks."""
    if not sorted_values:
        return float("nan")
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median": percentile(ordered, 0.5),
        "p90": percentile(ordered, 0.9),
        "p99": percentile(ordered, 0.99),
    }


# -- the stand-in -------------------------------------------------------------------


class StandIn:
    """The STS emulator in its own process (so it never competes for our GIL)."""

    def __init__(self, tls: Optional[dict[str, str]] = None) -> None:
        # With the v1 signature qcloud-python-sts sends (bench/sts_v1.py).
        command = [sys.executable, os.path.join(ROOT, "bench", "sts_v1.py"), "--port", "0"]
        if tls:
            command += ["--certfile", tls["server"]]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        match = re.search(r"(https?://\S+)", line)
        if not match:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.endpoint = match.group(1)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def make_tls(directory: str) -> dict[str, str]:
    import trustme

    authority = trustme.CA()
    server = authority.issue_cert("127.0.0.1")
    paths = {
        "ca": os.path.join(directory, "ca.pem"),
        "server": os.path.join(directory, "server.pem"),
    }
    authority.cert_pem.write_to_path(paths["ca"])
    server.private_key_and_cert_chain_pem.write_to_path(paths["server"])
    return paths


@contextlib.contextmanager
def preserved_environ() -> Any:
    """qcloud-python-sts only trusts the bench CA through REQUESTS_CA_BUNDLE; that
    must not leak into anything run later (pip would distrust PyPI)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def bench_env(endpoint: str) -> dict[str, str]:
    return emu.function_env(endpoint, JWT_SECRET, BUCKET, REGION)


def bench_token() -> str:
    return mint_token("alice", JWT_SECRET, ttl=7200)


def bench_event(token: str) -> dict[str, Any]:
    return credential_request(token)


# What SCF passes (docs/tencent/scf.md §5): it always carries a request id.
SCF_CONTEXT = {
    "memory_limit_in_mb": 64,
    "time_limit_in_ms": 3000,
    "request_id": "f03dc946-3df4-45a0-8e54-0123456789ab",
    "namespace": "default",
}


def bench_policy() -> str:
    resource = f"qcs::cos:{REGION}:uid/1250000000:{BUCKET}/users/alice/*"
    policy = {"version": "2.0", "statement": [
        {"effect": "allow", "action": UPLOAD_ACTIONS, "resource": [resource]}]}  # fmt: skip
    return json.dumps(policy, separators=(",", ":"))


# -- contenders (in this process) ------------------------------------------------------


def our_service(endpoint: str, ca: Optional[str], reuse: bool = False) -> Any:
    """Our service as shipped; key reuse off unless asked, so every call is a real
    STS round trip like the other contenders'. Rate limits off: one user asking for
    new keys hundreds of times a second is exactly what they refuse."""
    from sts_core.config_loading import load_config
    from sts_core.service import service_for

    env = bench_env(endpoint)
    config = load_config(os.path.join(ROOT, "config.yml"), env)
    unlimited = config.rate_limit._replace(enabled=False)
    service = service_for(config._replace(cache_enabled=reuse, rate_limit=unlimited), env)
    if ca:
        service.sts.verify = ca
    return service


def ours(endpoint: str, ca: Optional[str], service: Any = None) -> Callable[[], None]:
    import index

    service = service or our_service(endpoint, ca)
    event, context = bench_event(bench_token()), SCF_CONTEXT

    def call() -> None:
        response = index.handle(service, event, context)
        if response["statusCode"] != 200:
            raise RuntimeError(response["body"])

    return call


def qcloud_python_sts(endpoint: str, ca: Optional[str]) -> Callable[[], None]:
    from sts.sts import Sts

    if ca:
        os.environ["REQUESTS_CA_BUNDLE"] = ca  # it calls requests.post with default verify
    sts = Sts({
        "secret_id": emu.DEV_SECRET_ID, "secret_key": emu.DEV_SECRET_KEY,
        "duration_seconds": 1800, "bucket": BUCKET, "region": REGION,
        "allow_prefix": ["users/alice/*"], "allow_actions": UPLOAD_ACTIONS,
        "url": endpoint + "/", "domain": endpoint.split("://", 1)[1],
    })  # fmt: skip

    def call() -> None:
        if "credentials" not in sts.get_credential():
            raise RuntimeError("no credentials")

    return call


def tencentcloud_sdk(endpoint: str, ca: Optional[str]) -> Callable[[], None]:
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sts.v20180813 import models, sts_client

    scheme, host = endpoint.split("://", 1)
    profile = ClientProfile(
        httpProfile=HttpProfile(protocol=scheme, endpoint=host, certification=ca)
    )
    client = sts_client.StsClient(
        Credential(emu.DEV_SECRET_ID, emu.DEV_SECRET_KEY), REGION, profile
    )
    request = models.GetFederationTokenRequest()
    request.Name, request.Policy, request.DurationSeconds = (
        "cos-sts",
        quote(bench_policy(), safe=""),
        1800,
    )

    def call() -> None:
        if not client.GetFederationToken(request).Credentials.TmpSecretId:
            raise RuntimeError("no credentials")

    return call


def ours_reusing_keys(endpoint: str, ca: Optional[str]) -> Callable[[], None]:
    """The key-reuse hit path: the same user asking again within the keys' life."""
    return ours(endpoint, ca, our_service(endpoint, ca, reuse=True))


FACTORIES = {"ours": ours, "qcloud-python-sts": qcloud_python_sts,
             "tencentcloud-sdk-python-sts": tencentcloud_sdk}  # fmt: skip


def measure_warm(
    calls: dict[str, Callable[[], None]], count: int, warmup: int, rounds: int = 10
) -> dict[str, dict[str, float]]:
    """Interleaved rounds, so drift on a shared machine hits every contender alike."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    per_round = max(1, -(-count // rounds))
    names = list(calls)
    for index in range(rounds):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            call = calls[name]
            for _ in range(per_round):
                started = time.perf_counter_ns()
                call()
                samples[name].append((time.perf_counter_ns() - started) / 1e6)
    return {name: summary(values) for name, values in samples.items()}


# -- our handler without the STS round trip ---------------------------------------------


def measure_handler_cpu(count: int, warmup: int) -> dict[str, float]:
    """STS answered in-process: a requests adapter returns a canned STS success."""
    import requests

    expired = int(time.time()) + 10**6
    canned = json.dumps({"Response": {
        "Credentials": {"TmpSecretId": "AKIDcanned", "TmpSecretKey": "canned", "Token": "canned"},
        "ExpiredTime": expired, "Expiration": "", "RequestId": "canned"}}).encode()  # fmt: skip

    class Canned(requests.adapters.BaseAdapter):
        def send(self, request: Any, **kwargs: Any) -> Any:
            response = requests.Response()
            response.status_code, response._content = 200, canned
            response.headers["Content-Type"] = "application/json"
            response.request, response.url = request, request.url
            return response

        def close(self) -> None:
            pass

    service = our_service("https://sts.tencentcloudapi.com", None)
    service.sts.session.mount("https://", Canned())
    call = ours("https://sts.tencentcloudapi.com", None, service)
    for _ in range(warmup):
        call()
    samples = []
    cpu_started = time.process_time()
    for _ in range(count):
        started = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - started) / 1e3)
    cpu_per_request = (time.process_time() - cpu_started) / count * 1e6
    result = summary(samples)
    result["cpu_mean"] = cpu_per_request
    return result


# -- cold start, memory, package ----------------------------------------------------------

COLD = {
    "ours": """
import json, os, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import index
t1 = time.perf_counter()
if sys.argv[3]:
    index.SERVICE.sts.verify = sys.argv[3]   # the bench CA (the import is untouched)
event = json.loads(os.environ["BENCH_EVENT"])
context = json.loads(os.environ["BENCH_CONTEXT"])
response = index.main_handler(event, context)
assert response["statusCode"] == 200, response
""",
    "qcloud-python-sts": """
import json, os, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from sts.sts import Sts
t1 = time.perf_counter()
endpoint = sys.argv[2]
if sys.argv[3]:
    os.environ["REQUESTS_CA_BUNDLE"] = sys.argv[3]
config = json.loads(os.environ["BENCH_QSTS"])
config.update(url=endpoint + "/", domain=endpoint.split("://", 1)[1])
sts = Sts(config)
response = sts.get_credential()
assert "credentials" in response, response
""",
    BASELINE: """
import json, os, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import jwt
from sts.sts import Sts
t1 = time.perf_counter()
endpoint = sys.argv[2]
if sys.argv[3]:
    os.environ["REQUESTS_CA_BUNDLE"] = sys.argv[3]
bearer = json.loads(os.environ["BENCH_EVENT"])["headers"]["authorization"].split()[1]
claims = jwt.decode(bearer, os.environ["STS_JWT_SECRET"], algorithms=["HS256"],
                    options={"require": ["exp", "sub"]})
config = json.loads(os.environ["BENCH_QSTS"])
config.update(url=endpoint + "/", domain=endpoint.split("://", 1)[1],
              allow_prefix=["users/%s/*" % claims["sub"]])
sts = Sts(config)
response = sts.get_credential()
assert "credentials" in response, response
""",
    "tencentcloud-sdk-python-sts": """
import json, os, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sts.v20180813 import models, sts_client
t1 = time.perf_counter()
scheme, host = sys.argv[2].split("://", 1)
profile = ClientProfile(httpProfile=HttpProfile(protocol=scheme, endpoint=host,
                                                certification=sys.argv[3] or None))
client = sts_client.StsClient(Credential(os.environ["STS_SECRET_ID"],
                                         os.environ["STS_SECRET_KEY"]), "ap-guangzhou", profile)
request = models.GetFederationTokenRequest()
request.Name, request.Policy, request.DurationSeconds = "cos-sts", os.environ["BENCH_POLICY"], 1800
response = client.GetFederationToken(request)
assert response.Credentials.TmpSecretId
""",
}
COLD_TAIL = """
t2 = time.perf_counter()
extra = int(os.environ.get("BENCH_MORE", "0"))
def peak_kb():
    # VmHWM belongs to this process image; getrusage's ru_maxrss survives execve on
    # Linux and would report the parent's peak.
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
rss_first = peak_kb()
if extra:
    import contextlib
    if os.environ["BENCH_NAME"] == "ours":
        import jwt
        users = iter(range(10**9))
        # New users as fast as the loopback STS answers would trip the global rate
        # limit (500/s): off here, so every request fills the key cache.
        index.SERVICE = index.SERVICE._replace(limiter=None)

        def as_new_user():
            # A new user each time: every request misses the key cache, which
            # fills to its bound, so its memory is in the figure too.
            claims = {"sub": "user%d" % next(users), "exp": int(time.time()) + 3600}
            token = jwt.encode(claims, os.environ["STS_JWT_SECRET"], algorithm="HS256")
            fresh = dict(event, headers=dict(event["headers"], authorization="Bearer " + token))
            return index.main_handler(fresh, context)
    again = {
        "ours": lambda: as_new_user(),
        "qcloud-python-sts": lambda: sts.get_credential(),
        "tencentcloud-sdk-python-sts": lambda: client.GetFederationToken(request),
    }[os.environ["BENCH_NAME"]]
    # Our log lines go to /dev/null: a StringIO would keep them and grow the RSS.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for _ in range(extra):
            again()
rss_last = peak_kb()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "first_call_ms": (t2 - t1) * 1e3,
                  "rss_first_kb": rss_first, "rss_last_kb": rss_last}))
"""


def pick_python(requested: str) -> str:
    """SCF's Python 3.9 when the machine has it (pyenv), else this interpreter."""
    if requested != "auto":
        return requested
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9.*/bin/python3.9")))
    return candidates[-1] if candidates else sys.executable


def python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def bench_pins() -> dict[str, str]:
    pins = {}
    with open(os.path.join(ROOT, "requirements-bench.txt"), encoding="utf-8") as handle:
        for line in handle:
            name, sep, version = line.split("#")[0].strip().partition("==")
            if sep:
                pins[name] = f"{name}=={version}"
    return pins


def build_folders(directory: str, version: str) -> dict[str, str]:
    """Each contender vendored into its own folder for SCF's platform, as deployed."""
    folders = {}
    folder, archive = package_script.build(os.path.join(directory, "ours"))
    folders["ours"] = folder
    folders["ours_zip"] = archive
    pins = bench_pins()
    # qcloud-python-sts ships only an sdist; it is pure Python, so build its wheel
    # here and let the platform-targeted install below pick it up.
    wheels = os.path.join(directory, "wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--wheel-dir", wheels, pins["qcloud-python-sts"]],
        check=True,
    )  # fmt: skip
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as handle:
        # PyJWT as we ship it, with typing_extensions (it needs it below Python 3.11).
        pyjwt = [line.split("#")[0].strip() for line in handle
                 if line.startswith(("PyJWT==", "typing_extensions=="))]  # fmt: skip
    for name, *requirements in (
        ("qcloud-python-sts", pins["qcloud-python-sts"]),
        ("tencentcloud-sdk-python-sts", pins["tencentcloud-sdk-python-sts"]),
        (BASELINE, pins["qcloud-python-sts"], *pyjwt),
    ):
        target = os.path.join(directory, name)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-compile", "--target", target, "--platform", "manylinux2014_x86_64",
             "--implementation", "cp", "--python-version", ".".join(version.split(".")[:2]),
             "--only-binary=:all:", "--find-links", wheels, *requirements,
             # The same requests/urllib3 releases as ours (and ones that run on 3.9).
             "--constraint", os.path.join(ROOT, "requirements.txt")],
            check=True,
        )  # fmt: skip
        folders[name] = target
    return folders


def with_bytecode(folders: dict[str, str], python: str, directory: str) -> dict[str, str]:
    """Copies of the folders compiled by the target interpreter (as if shipped with .pyc)."""
    compiled = {}
    for name in (*CONTENDERS, BASELINE):
        target = os.path.join(directory, f"{name}-pyc")
        shutil.copytree(folders[name], target)
        subprocess.run([python, "-m", "compileall", "-q", "-j", "0", target], check=True)
        compiled[name] = target
    return compiled


def cold_env(endpoint: str, name: str, more: int = 0) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **bench_env(endpoint)}
    env.update(
        BENCH_EVENT=json.dumps(bench_event(bench_token())),
        BENCH_CONTEXT=json.dumps(SCF_CONTEXT),
        BENCH_POLICY=quote(bench_policy(), safe=""),
        BENCH_QSTS=json.dumps({
            "secret_id": emu.DEV_SECRET_ID, "secret_key": emu.DEV_SECRET_KEY,
            "duration_seconds": 1800, "bucket": BUCKET, "region": REGION,
            "allow_prefix": ["users/alice/*"], "allow_actions": UPLOAD_ACTIONS}),
        BENCH_MORE=str(more),
        BENCH_NAME=name,
    )  # fmt: skip
    return env


def run_cold(
    python: str, name: str, folder: str, endpoint: str, ca: str, more: int = 0, flags=()
) -> dict[str, float]:
    command = [python, "-I", "-S", "-B", *flags, "-c", COLD[name] + COLD_TAIL, folder, endpoint, ca]
    started = time.perf_counter()
    result = subprocess.run(command, env=cold_env(endpoint, name, more), capture_output=True,
                            text=True, timeout=600, check=False)  # fmt: skip
    wall = (time.perf_counter() - started) * 1e3
    if result.returncode != 0:
        raise RuntimeError(f"{name} cold run failed:\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["wall_ms"] = wall
    report["stderr"] = result.stderr
    return report


def measure_cold(
    python: str,
    folders: dict[str, str],
    endpoint: str,
    ca: str,
    runs: int,
    names: tuple[str, ...] = (*CONTENDERS, BASELINE),
) -> dict[str, dict[str, float]]:
    samples: dict[str, dict[str, list[float]]] = {
        name: {"wall_ms": [], "import_ms": [], "first_call_ms": []} for name in names
    }
    for index in range(runs):
        turn = index % len(names)
        order = names[turn:] + names[:turn]
        for name in order:
            report = run_cold(python, name, folders[name], endpoint, ca)
            for key in samples[name]:
                samples[name][key].append(report[key])
    return {
        name: {key: percentile(sorted(values), 0.5) for key, values in series.items()}
        for name, series in samples.items()
    }


def import_offenders(python: str, folder: str, endpoint: str, ca: str, top: int = 12) -> list:
    report = run_cold(python, "ours", folder, endpoint, ca, flags=("-X", "importtime"))
    rows = []
    for line in report["stderr"].splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append(
                (int(match.group(1)), int(match.group(2)), len(match.group(3)), match.group(4))
            )
    # What index imports (depth 1) and what the first call imports lazily (depth 0).
    top_level = [r for r in rows if r[2] <= 3 and r[3] != "index"]
    top_level.sort(key=lambda r: -r[1])
    return [{"module": r[3], "self_us": r[0], "cumulative_us": r[1]} for r in top_level[:top]]


def measure_memory(
    python: str, folders: dict[str, str], endpoint: str, ca: str, more: int
) -> dict[str, dict[str, float]]:
    result = {}
    for name in CONTENDERS:
        report = run_cold(python, name, folders[name], endpoint, ca, more=more)
        result[name] = {
            "after_cold_start_mb": report["rss_first_kb"] / 1024,
            f"after_{more + 1}_requests_mb": report["rss_last_kb"] / 1024,
        }
    return result


def folder_size(folder: str) -> int:
    total = 0
    for base, _, names in os.walk(folder):
        total += sum(os.path.getsize(os.path.join(base, n)) for n in names)
    return total


# -- report -------------------------------------------------------------------------------


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows
    )


def render(results: dict[str, Any]) -> str:
    out = []
    warm = results["warm"]
    out.append(f"per credential, warm: median / p90 / p99 ms over {warm['calls']} calls "
               f"after {warm['warmup']} warm-up, interleaved")  # fmt: skip
    rows = [["", "HTTP", "HTTPS"]]
    for name in CONTENDERS:
        rows.append([name] + [
            "{median:.2f} / {p90:.2f} / {p99:.2f}".format(**warm[scheme][name])
            for scheme in ("http", "https")])  # fmt: skip
    for other in CONTENDERS[1:]:
        rows.append([f"ours / {other}"] + [
            "{:.2f}x median, {:.2f}x p90".format(*warm[scheme]["ratios"][other])
            for scheme in ("http", "https")])  # fmt: skip
    out += [table(rows), ""]
    hit = results["cache_hit"]
    https = warm["https"]
    out.append(f"ours reusing issued keys (cache hit, no STS call): median {hit['median']:.3f} ms, "
               f"p99 {hit['p99']:.3f} ms; "
               f"{hit['median'] / https['qcloud-python-sts']['median']:.2f}x qcloud-python-sts, "
               f"{hit['median'] / https['tencentcloud-sdk-python-sts']['median']:.2f}x "
               "the official SDK (HTTPS)")  # fmt: skip
    out.append("")
    cpu = results["handler_cpu"]
    out.append(f"our handler without the STS round trip ({cpu['n']} requests): "
               f"median {cpu['median']:.0f} us, p99 {cpu['p99']:.0f} us, "
               f"mean CPU {cpu['cpu_mean']:.0f} us")  # fmt: skip
    out.append("")
    cold = results["cold"]
    out.append(f"cold start: fresh `python -I -S -B` (Python {cold['python']}), import + first "
               f"credential over HTTPS; median of {cold['runs']} processes, wall ms")  # fmt: skip
    rows = [["", "as deployed", "", "all with bytecode", ""],
            ["", "wall", "import", "wall", "import"]]  # fmt: skip
    for name in (*CONTENDERS, BASELINE):
        if name == BASELINE:  # measured only for the cold start, kept apart
            plain, compiled = cold["baseline"]["deployed"], cold["baseline"]["bytecode"]
        else:
            plain, compiled = cold["deployed"][name], cold["bytecode"][name]
        rows.append([name, f"{plain['wall_ms']:.0f}", f"{plain['import_ms']:.0f}",
                     f"{compiled['wall_ms']:.0f}", f"{compiled['import_ms']:.0f}"])  # fmt: skip
    for other in (*CONTENDERS[1:], BASELINE):
        rows.append([f"ours / {other}", f"{cold['ratios']['deployed'][other]:.2f}x", "",
                     f"{cold['ratios']['bytecode'][other]:.2f}x", ""])  # fmt: skip
    out += [table(rows), "", "our top imports (-X importtime, cumulative us):"]
    out += [f"  {row['module']:<28} {row['cumulative_us']:>8}" for row in cold["offenders"]]
    out.append("")
    memory = results["memory"]
    out.append(f"peak RSS (MB), Python {cold['python']}:")
    rows = [["", *next(iter(memory.values()))]]
    rows += [[name] + [f"{v:.1f}" for v in memory[name].values()] for name in CONTENDERS]
    out += [table(rows), ""]
    package = results["package"]
    out.append(f"package: folder {package['folder_bytes'] / 1024:.0f} KiB, "
               f"zip {package['zip_bytes'] / 1024:.0f} KiB")  # fmt: skip
    out += ["", "targets:"]
    for row in results["targets"]:
        out.append(f"  {'met ' if row['met'] else 'MISS'}  {row['what']}: {row['measured']} "
                   f"(target {row['target']})")  # fmt: skip
    return "\n".join(out)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    https = results["warm"]["https"]["ratios"]
    cold = results["cold"]["ratios"]["bytecode"]
    peak = max(max(v.values()) for v in [results["memory"]["ours"]])
    rows = [
        ("warm per credential over HTTPS, ours / qcloud-python-sts (median)",
         https["qcloud-python-sts"][0], TARGETS["warm_https_vs_qsts"], "x"),
        ("warm per credential over HTTPS, ours / official SDK (median)",
         https["tencentcloud-sdk-python-sts"][0], TARGETS["warm_https_vs_sdk"], "x"),
        ("handler CPU without the round trip, median us",
         results["handler_cpu"]["median"], TARGETS["handler_cpu_median_us"], "us"),
        (f"cold start, ours / {BASELINE} (like for like: all with bytecode)",
         cold[BASELINE], TARGETS["cold_vs_baseline"], "x"),
        ("peak RSS of ours, MB", peak, TARGETS["peak_rss_mb"], "MB"),
        ("package zip, bytes", results["package"]["zip_bytes"], TARGETS["zip_bytes"], "B"),
    ]  # fmt: skip
    return [{"what": what, "measured": round(value, 3), "target": target, "unit": unit,
             "met": value <= target} for what, value, target, unit in rows]  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with tempfile.TemporaryDirectory() as directory:
        tls = make_tls(directory)
        stand_ins = {"http": StandIn(), "https": StandIn(tls)}
        try:
            warm: dict[str, Any] = {"calls": args.calls, "warmup": args.warmup}
            # Our handler writes one log line per request: keep it off the report.
            with preserved_environ(), contextlib.redirect_stdout(io.StringIO()):
                for scheme, stand_in in stand_ins.items():
                    log(f"warm latency over {scheme} ...")
                    ca = tls["ca"] if scheme == "https" else None
                    calls = {name: FACTORIES[name](stand_in.endpoint, ca) for name in CONTENDERS}
                    stats = measure_warm(calls, args.calls, args.warmup)
                    stats["ratios"] = {
                        other: (stats["ours"]["median"] / stats[other]["median"],
                                stats["ours"]["p90"] / stats[other]["p90"])
                        for other in CONTENDERS[1:]
                    }  # fmt: skip
                    warm[scheme] = stats
                log("key reuse ...")
                hit = ours_reusing_keys(stand_ins["https"].endpoint, tls["ca"])
                results["cache_hit"] = measure_warm({"ours": hit}, args.calls, args.warmup)["ours"]
                log("handler CPU ...")
                results["handler_cpu"] = measure_handler_cpu(args.cpu_calls, args.warmup)
            results["warm"] = warm

            python = pick_python(args.python)
            version = python_version(python)
            log(f"building folders for Python {version} ...")
            folders = build_folders(directory, version)
            compiled = with_bytecode(folders, python, directory)
            https = stand_ins["https"].endpoint
            log("cold starts ...")
            cold: dict[str, Any] = {"python": version, "runs": args.cold_runs}
            # As deployed: ours ships bytecode for its cold path; pip -t leaves the others
            # none for the target Python. All with bytecode: like for like.
            for mode, where in (("deployed", folders), ("bytecode", compiled)):
                measured = measure_cold(python, where, https, tls["ca"], args.cold_runs)
                cold["baseline"] = {**cold.get("baseline", {}), mode: measured.pop(BASELINE)}
                cold[mode] = measured
            cold["ratios"] = {
                mode: {other: cold[mode]["ours"]["wall_ms"] / cold[mode][other]["wall_ms"]
                       for other in CONTENDERS[1:]}
                for mode in ("deployed", "bytecode")
            }  # fmt: skip
            for mode in ("deployed", "bytecode"):
                ours = cold[mode]["ours"]["wall_ms"]
                cold["ratios"][mode][BASELINE] = ours / cold["baseline"][mode]["wall_ms"]
            cold["offenders"] = import_offenders(python, folders["ours"], https, tls["ca"])
            results["cold"] = cold
            log("memory ...")
            http = stand_ins["http"].endpoint
            results["memory"] = measure_memory(python, compiled, http, "", args.rss_requests - 1)
            results["package"] = {
                "folder_bytes": folder_size(folders["ours"]),
                "zip_bytes": os.path.getsize(folders["ours_zip"]),
                "files": sum(len(f) for _, _, f in os.walk(folders["ours"])),
            }
        finally:
            for stand_in in stand_ins.values():
                stand_in.close()
    results["targets"] = targets(results)
    results["machine"] = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                          "platform": sys.platform}  # fmt: skip
    return results


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600, help="timed calls per contender")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--cpu-calls", type=int, default=5000)
    parser.add_argument("--cold-runs", type=int, default=12)
    parser.add_argument("--rss-requests", type=int, default=5000)
    parser.add_argument("--python", default="auto", help="interpreter for cold start and RSS")
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke test")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.warmup, args.cpu_calls, args.cold_runs, args.rss_requests = 20, 3, 50, 1, 5
    results = run(args)
    os.makedirs(args.out, exist_ok=True)
    for name in ("latest.json", f"bench-{results['started'].replace(':', '')}.json"):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
