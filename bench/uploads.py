"""`make bench-uploads` (also run by `make bench`): what COS events, the webhook and
quotas cost (docs/uploads.md).

1. **A ticket with a quota against one without**, through `index.handle` on a warm
   instance with Redis (redis-server on loopback), interleaved; and the Redis round
   trips each ticket took (the quota may add at most one).
2. **One COS event with and without the webhook** (a loopback receiver answering
   204 at once), through `index.handle`.
3. **STS calls per 1,000 requests** for key requests from many users, each followed
   by an upload event, with events, a quota and the webhook off and on (the quota
   lowers keys' simple-upload limit to the bytes left, which changes their policy
   as usage moves: this shows how often).

Writes bench/results/uploads-latest.json and prints the tables. Only the ratios and
counts mean much on a shared machine.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import random
import sys
from http.server import BaseHTTPRequestHandler
from typing import Any, Optional

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

from scale import (  # noqa: E402 - bench/scale.py: the simulated STS and instances
    CONTEXT,
    Clock,
    CountingSts,
    LogCounter,
    Tokens,
    event,
    index,
    instance,
    percentile,
    shipped_document,
    table,
    timed,
    write_report,
)

from sts_core.config_validation import parse_config  # noqa: E402
from sts_core.quota import Quota  # noqa: E402
from sts_core.webhook import Webhook  # noqa: E402
from sts_tools.support.loopback import LoopbackServer  # noqa: E402
from sts_tools.support.redis_server import INSTALL_HINT, RedisServer, executable  # noqa: E402
from sts_tools.support.trigger_events import cos_event, cos_record  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"bench-webhook-secret-0123456789ab").decode()
BUCKET = "examplebucket-1250000000"
TICKET = {"profile": "avatar", "ticket": {"method": "put", "extension": "jpg", "size": 1024}}
QUOTA = {"bytes": 50 * 1024 * 1024, "files": 100000}


class _Accept(BaseHTTPRequestHandler):
    """The app's server at its fastest: read the body, answer 204."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


def with_uploads(base: Any, redis_url: str, quota: bool, hook_url: Optional[str]) -> Any:
    """`base` (bench/scale.py's instance) with a quota and/or the webhook."""
    import time

    from sts_core.key_owners import KeyOwners

    link = base.shared.link if base.shared else None
    config = base.config._replace(
        quota=parse_config({**shipped_document(), "quota": QUOTA},
                           {**base.env, "STS_REDIS_URL": redis_url}).quota if quota else None,
        webhook=hook_url is not None,
    )  # fmt: skip
    return base._replace(
        config=config,
        key_owners=KeyOwners(link),
        quota=Quota(link, config.quota, time.time) if quota and link else None,
        webhook=Webhook(hook_url, SECRET) if hook_url else None,
    )


def samples_of(runs: dict[str, Any], rounds: int) -> dict[str, dict[str, float]]:
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for round_ in range(rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            times[name].append(runs[name]())
    return {name: {"n": len(v), "median_ms": percentile(v, 0.5), "p90_ms": percentile(v, 0.9)}
            for name, v in times.items()}  # fmt: skip


def tickets(redis_url: str, rounds: int) -> dict[str, Any]:
    clock = Clock(1_800_000_000.0)
    # No rate limit (its clock stands still here, and its round trip is not the quota's).
    plain = with_uploads(instance(redis_url, clock, CountingSts(clock)), redis_url, False, None)
    counted = with_uploads(instance(redis_url, clock, CountingSts(clock)), redis_url, True, None)
    plain, counted = plain._replace(limiter=None), counted._replace(limiter=None)
    tokens = Tokens()
    users = [f"user{n}" for n in range(50)]
    requests = {user: event(tokens(user), TICKET) for user in users}
    trips: dict[str, list[int]] = {"ticket": [], "ticket_with_quota": []}

    def one(service: Any, name: str) -> Any:
        link = service.shared.link  # the instance's one Redis connection

        def run() -> float:
            before = link.calls
            took = timed(service, requests[random.choice(users)])
            trips[name].append(link.calls - before)
            return took

        return run

    for service in (plain, counted):  # warm-up: signing key, scripts, connections
        for user in users:
            timed(service, requests[user])
    runs = {"ticket": one(plain, "ticket"), "ticket_with_quota": one(counted, "ticket_with_quota")}
    result: dict[str, Any] = samples_of(runs, rounds)
    result["redis_round_trips"] = {name: max(values) for name, values in trips.items()}
    return result


def events(redis_url: str, rounds: int) -> dict[str, Any]:
    clock = Clock(1_800_000_000.0)
    server = LoopbackServer(_Accept, None, name="bench-receiver").start()
    try:
        hook_url = server.url + "/hook"
        base = instance(redis_url, clock, CountingSts(clock))
        quiet = with_uploads(base, redis_url, False, None)
        hooked = with_uploads(base, redis_url, False, hook_url)
        counter = iter(range(10**9))

        def one(service: Any) -> Any:
            def run() -> float:
                import time

                n = next(counter)
                record = cos_record("cos:ObjectCreated:Put", BUCKET, "ap-guangzhou",
                                    f"users/user{n % 50}/{n}.jpg", size=1024, event_time=n,
                                    request_id=f"bench-{n}")  # fmt: skip
                started = time.perf_counter_ns()
                index.handle(service, cos_event(record), CONTEXT)
                return (time.perf_counter_ns() - started) / 1e6

            return run

        for _ in range(20):
            one(quiet)()
            one(hooked)()
        return samples_of({"event": one(quiet), "event_with_webhook": one(hooked)}, rounds)
    finally:
        server.stop()


def sts_calls(redis_url: str, requests: int, users: int, seed: int) -> dict[str, Any]:
    """Key requests from `users`, each followed by an upload event of 10-200 KiB,
    over simulated time; STS calls with everything off and on."""
    counts = {}
    for label, quota, hook in (("off", False, False), ("events + quota + webhook", True, True)):
        rng = random.Random(seed)
        clock = Clock(1_800_000_000.0)
        sts = CountingSts(clock)
        server = LoopbackServer(_Accept, None, name="bench-receiver").start() if hook else None
        service = with_uploads(instance(redis_url, clock, sts), redis_url, quota,
                               server.url + "/hook" if server else None)  # fmt: skip
        tokens = Tokens()
        for n in range(requests):
            user = f"user{rng.randrange(users)}"
            clock.now += rng.expovariate(requests / 3600)  # an hour of traffic
            response = index.handle(service, event(tokens(user), {"profile": "upload"}), CONTEXT)
            if response["statusCode"] != 200:
                raise RuntimeError(response["body"])
            record = cos_record("cos:ObjectCreated:Put", BUCKET, "ap-guangzhou",
                                f"users/{user}/{n}.jpg", size=rng.randrange(10, 200) * 1024,
                                event_time=int(clock.now), request_id=f"sim-{n}")  # fmt: skip
            index.handle(service, cos_event(record), CONTEXT)
        if server is not None:
            server.stop()
        counts[label] = round(sts.calls * 1000 / requests, 1)
    return {"requests": requests, "users": users, "per_1000_requests": counts}


def render(results: dict[str, Any]) -> str:
    rows = [["request", "median ms", "p90 ms"]]
    for section in ("tickets", "events"):
        for name, value in results[section].items():
            if isinstance(value, dict) and "median_ms" in value:
                rows.append([name, f"{value['median_ms']:.3f}", f"{value['p90_ms']:.3f}"])
    calls = results["sts_calls"]
    lines = [
        "latency through index.handle (interleaved, Redis on loopback):",
        table(rows),
        "redis round trips per ticket: "
        + ", ".join(f"{k} {v}" for k, v in results["tickets"]["redis_round_trips"].items()),
        f"STS calls per 1,000 key requests ({calls['users']} users, an upload after each):",
    ]
    per_1000 = [[setup, str(count)] for setup, count in calls["per_1000_requests"].items()]
    lines.append(table([["setup", "STS calls"], *per_1000]))
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=300, help="latency rounds")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=os.path.join(BENCH, "results"))
    args = parser.parse_args(argv)
    if executable() is None:
        print(f"bench-uploads needs redis-server ({INSTALL_HINT})", file=sys.stderr)
        return 2
    with RedisServer() as redis, contextlib.redirect_stdout(LogCounter()) as _:
        results = {
            "tickets": tickets(redis.url, args.samples),
            "events": events(redis.url, args.samples),
            "sts_calls": sts_calls(redis.url, args.requests, args.users, args.seed),
        }
    write_report(results, args.out, "uploads-latest.json", render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
