"""`make bench-tickets`: what an upload ticket costs against the keys it replaces.

Two measurements, in one run:

1. **Latency** through `index.handle` (event, token check, profile, rate limit,
   response, log line), interleaved round by round:
   - ``ticket``: a post ticket from a warm instance (its signing key reused);
   - ``sts_key``: upload keys with no reuse, a real STS round trip to the loopback
     emulator in its own process (what each upload costs with per-object keys);
   - ``cached_key``: upload keys reused from this instance's cache.
   Only the ratios mean much on a shared machine.
2. **STS calls per 1,000 uploads.** Users upload files at random times over
   simulated hours, each request to one of N instances (1, 10, 100), on the
   simulated clock of bench/scale.py (an in-process STS that counts calls):
   - ``scoped keys``: keys scoped to the one object (a scope naming the key);
     no cache can serve them;
   - ``cached keys``: the profile's keys, reused per user and instance;
   - ``tickets``: a post ticket per upload.
   Per-instance state, and with Redis when redis-server is installed (instances
   share cached keys and the ticket signing key).

Writes bench/results/tickets-latest.json and prints the tables.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
from typing import Any, Optional

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

from scale import (  # noqa: E402 - bench/scale.py: the simulated clock, STS and instances
    CONTEXT,
    JWT_SECRET,
    Ask,
    EmulatorProcess,
    FlushableRedis,
    LogCounter,
    Tokens,
    event,
    index,
    percentile,
    replay,
    shipped_document,
    table,
    timed,
    write_report,
)

from sts_core.config_validation import parse_config  # noqa: E402
from sts_core.service import service_for  # noqa: E402
from sts_tools.emulators import sts as emu  # noqa: E402
from sts_tools.support.redis_server import RedisServer, executable  # noqa: E402

TICKET = {"profile": "avatar", "ticket": {"method": "post", "extension": "jpg"}}
KEYS = {"profile": "upload"}
MODES = ("scoped keys", "cached keys", "tickets")


def body_for(mode: str, user: str, upload: int) -> dict[str, Any]:
    if mode == "tickets":
        return TICKET
    if mode == "scoped keys":
        prefix = f"users/{user}/{upload}.jpg"
        return {**KEYS, "scope": [{"action": "name/cos:PutObject", "prefix": prefix}]}
    return KEYS


# -- 1. latency ---------------------------------------------------------------------------


def latency(samples: int) -> dict[str, Any]:
    stand_in = EmulatorProcess()
    try:
        env = emu.function_env(stand_in.endpoint, JWT_SECRET)
        document = shipped_document()
        document["rate_limit"]["enabled"] = False
        warm = service_for(parse_config(document, env), env)
        document["cache"]["enabled"] = False
        cold = service_for(parse_config(document, env), env)
        token = Tokens()("alice")
        runs = {
            "ticket": (warm, event(token, TICKET)),
            "sts_key": (cold, event(token, KEYS)),
            "cached_key": (warm, event(token, KEYS)),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        with contextlib.redirect_stdout(LogCounter()):
            for _ in range(20):  # warm-up: the signing key, connections, code paths
                for service, request in runs.values():
                    index.handle(service, request, CONTEXT)
            names = list(runs)
            for round_ in range(samples):
                for name in names[round_ % 3 :] + names[: round_ % 3]:
                    times[name].append(timed(*runs[name]))
    finally:
        stand_in.close()
    result: dict[str, Any] = {
        name: {"n": len(values), "median_ms": percentile(values, 0.5),
               "p90_ms": percentile(values, 0.9)}
        for name, values in times.items()
    }  # fmt: skip
    result["ratios"] = {
        "ticket / sts_key (median)": result["ticket"]["median_ms"] / result["sts_key"]["median_ms"],
        "ticket / cached_key (median)": result["ticket"]["median_ms"]
        / result["cached_key"]["median_ms"],
    }
    return result


# -- 2. STS calls per 1,000 uploads ---------------------------------------------------------


def uploads(count: int, users: int, hours: float, seed: int) -> list[tuple[float, str]]:
    """(simulated seconds, user) per upload: uniform times, some users busier."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(users)]  # Zipf, exponent 1
    who = rng.choices([f"user{n:05d}" for n in range(users)], weights, k=count)
    return sorted((rng.uniform(0, hours * 3600), user) for user in who)


def simulate(
    plan: list[tuple[float, str]], mode: str, instances: int, redis: Optional[Any], seed: int
) -> dict[str, Any]:
    asks = [Ask(at, user, body_for(mode, user, n)) for n, (at, user) in enumerate(plan)]
    sts, statuses, _ = replay(asks, instances, redis, seed)
    return {
        "mode": mode,
        "instances": instances,
        "backend": "redis" if redis is not None else "per-instance",
        "uploads": len(plan),
        "sts_calls": sts.calls,
        "sts_per_1000_uploads": 1000 * sts.calls / len(plan),
        "refused": len(plan) - statuses[200],
    }


# -- report -----------------------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    lat = results["latency"]
    rows = [["request", "median ms", "p90 ms"]]
    rows += [[name, f"{lat[name]['median_ms']:.3f}", f"{lat[name]['p90_ms']:.3f}"]
             for name in ("ticket", "sts_key", "cached_key")]  # fmt: skip
    lines = ["latency through index.handle (interleaved):", table(rows)]
    lines += [f"  {name}: {value:.3f}" for name, value in lat["ratios"].items()]
    scale = results["sts_calls"]
    lines += ["", f"STS calls per 1,000 uploads ({scale['uploads']} uploads by "
              f"{scale['users']} users over {scale['hours']} simulated hours):"]  # fmt: skip
    rows = [["mode", "backend", *(f"{n} inst." for n in scale["instances"])]]
    for mode in MODES:
        for backend in scale["backends"]:
            found = {r["instances"]: r for r in scale["runs"]
                     if r["mode"] == mode and r["backend"] == backend}  # fmt: skip
            rows.append(
                [
                    mode,
                    backend,
                    *(f"{found[n]['sts_per_1000_uploads']:.2f}" for n in scale["instances"]),
                ]
            )
    lines.append(table(rows))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"latency": latency(args.samples)}
    plan = uploads(args.uploads, args.users, args.hours, args.seed)
    counts = [int(n) for n in args.instances.split(",")]
    runs = []
    with contextlib.ExitStack() as stack:
        redis = None
        if executable() is not None:
            redis = FlushableRedis(stack.enter_context(RedisServer()))
        backends = [None] + ([redis] if redis is not None else [])
        for mode in MODES:
            for backend in backends:
                for count in counts:
                    runs.append(simulate(plan, mode, count, backend, args.seed))
    results["sts_calls"] = {
        "uploads": args.uploads, "users": args.users, "hours": args.hours,
        "instances": counts, "runs": runs,
        "backends": ["per-instance"] + (["redis"] if len(backends) > 1 else []),
    }  # fmt: skip
    return results


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=300, help="latency rounds")
    parser.add_argument("--uploads", type=int, default=20000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--instances", default="1,10,100")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=os.path.join(BENCH, "results"))
    args = parser.parse_args(argv)
    write_report(run(args), args.out, "tickets-latest.json", render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
