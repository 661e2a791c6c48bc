"""One full SDK round on the local stack: mint keys -> upload -> download.

The app's view of the product: an HTTP POST to the local endpoint (DevServer ->
index.main_handler -> local STS), then cos-python-sdk-v5 with those keys against
the local COS (signature check, policy evaluation, store). Each step is timed
separately in interleaved rounds, and reported as medians and as shares of the
round, so the numbers compare steps measured in the same run rather than claim
absolute times on a shared machine.

    .venv/bin/python bench/sdk_round.py [--rounds N] [--size BYTES] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import requests  # noqa: E402
from qcloud_cos import CosConfig, CosS3Client  # noqa: E402

from sts_core.handler import handle  # noqa: E402
from sts_tools import stack as environment  # noqa: E402
from sts_tools.emulators.gateway import DevServer  # noqa: E402


def run(rounds: int, size: int) -> dict:
    logging.getLogger("qcloud_cos").setLevel(logging.CRITICAL)
    prepared = environment.prepare({"PATH": os.environ.get("PATH", "")}, cos_port=0,
                                   cos_log=lambda _: None)  # fmt: skip
    service = prepared.service()  # the function's cold start, through its front door
    server = DevServer(lambda event, context: handle(service, event, context), port=0).start()
    session = requests.Session()
    token = prepared.token("alice")
    body = os.urandom(size)
    steps: dict[str, list[float]] = {"mint": [], "upload": [], "download": [], "round": []}
    try:
        for number in range(rounds + 1):
            started = time.perf_counter()
            keys = session.post(
                server.url + "/sts", headers={"Authorization": f"Bearer {token}"},
                json={"profile": "read-write"}, timeout=10,
            ).json()  # fmt: skip
            minted = time.perf_counter()
            creds = keys["credentials"]
            cos = CosS3Client(CosConfig(
                Region=keys["region"], SecretId=creds["tmpSecretId"],
                SecretKey=creds["tmpSecretKey"], Token=creds["sessionToken"], Scheme="http",
                IP="127.0.0.1", Port=prepared.cos.port,
            ), retry=0)  # fmt: skip
            key = f"{keys['prefix']}bench-{number}.bin"
            cos.put_object(Bucket=keys["bucket"], Key=key, Body=body)
            uploaded = time.perf_counter()
            got = cos.get_object(Bucket=keys["bucket"], Key=key)["Body"].get_raw_stream().read()
            done = time.perf_counter()
            if got != body:
                raise SystemExit("the downloaded body differs from the upload")
            if number == 0:
                continue  # warm-up: first connections, imports
            steps["mint"].append(minted - started)
            steps["upload"].append(uploaded - minted)
            steps["download"].append(done - uploaded)
            steps["round"].append(done - started)
    finally:
        server.stop()
        prepared.stop()
    medians = {name: statistics.median(values) * 1000 for name, values in steps.items()}
    return {
        "rounds": rounds,
        "object_bytes": size,
        "median_ms": {name: round(value, 3) for name, value in medians.items()},
        "share_of_round": {
            name: round(medians[name] / medians["round"], 3)
            for name in ("mint", "upload", "download")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--size", type=int, default=64 * 1024)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "sdk_round.json"))
    args = parser.parse_args()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        report = run(args.rounds, args.size)  # the handler's access log goes to stdout
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
