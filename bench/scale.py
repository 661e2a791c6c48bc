"""`make bench-scale`: how far one account's STS quota goes when SCF runs many
instances, each with its own key cache, versus all of them sharing Redis.

Three measurements, in one run:

1. **Scale.** A mobile workload (seeded): users whose popularity follows a Zipf
   law open sessions (Poisson arrivals), ask for download (and sometimes upload)
   keys when a session starts, and ask again during it (a new screen, each
   upload); some uploads carry a per-object scope, which no cache can serve. The
   requests go, in time order, to N instances picked at random (SCF spreads
   concurrent requests over its instances): N `Service` objects, each with its
   own key cache, run through `index.handle` (token check, policy, guard, cache,
   limits, response, log line). STS is an in-process stand-in that counts calls
   and stamps keys with a simulated clock, which the caches and the limits also
   run on, so hours of traffic take seconds. For 1, 10 and 100 instances, with
   per-instance caches and with Redis: STS calls per 1,000 requests and the
   active users (sessions in progress) that 600 STS calls a second could serve.
2. **Abuse.** One signed-in user varying the scope on every request, as fast as
   one process can send them, spread over 10 instances, with the default limits:
   STS calls stay within the user's bucket (burst + rate x time) with Redis, and
   within N times that with per-instance buckets.
3. **Latency.** A key served from Redis (another instance issued it) against one
   served from this instance's cache, interleaved in the same run, plus a real
   STS round trip to the loopback emulator for scale; only the ratios mean much.

Redis is a throwaway redis-server on loopback (the Debian package). Writes
bench/results/scale-latest.json and prints the tables.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import random
import re
import subprocess
import sys
import time
from typing import Any, Callable, NamedTuple, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

with contextlib.redirect_stdout(io.StringIO()):  # its cold start logs a line: not ours
    import index
from sts_core.config_validation import parse_config  # noqa: E402
from sts_core.credential_cache import CredentialCache  # noqa: E402
from sts_core.issued_credentials import IssuedCredentials  # noqa: E402
from sts_core.issuer import issuer_for  # noqa: E402
from sts_core.rate_limit import RateLimiter  # noqa: E402
from sts_core.service import service_for  # noqa: E402
from sts_core.ticket_signing_key import TicketSigner  # noqa: E402
from sts_tools.emulators import sts as emu  # noqa: E402
from sts_tools.support.dev_token import mint_token  # noqa: E402
from sts_tools.support.redis_server import INSTALL_HINT, RedisServer, executable  # noqa: E402
from sts_tools.support.trigger_events import credential_request  # noqa: E402

JWT_SECRET = "bench-jwt-secret-0123456789abcdefghijklmnopqrstuvwxyz"
CACHE_KEY = "bench-cache-key-0123456789abcdefghijklmnopqrstuvwxyz"
# GetFederationToken / AssumeRole calls per second per account (docs/tencent/sts.md §1)
STS_QUOTA = 600
SIM_START = 1_800_000_000.0
CONTEXT = {"time_limit_in_ms": 3000, "request_id": "bench-scale"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# -- the pieces of a simulated instance ------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingSts:
    """STS as seen by the handler: keys stamped with the (simulated) clock."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.calls = 0

    def get_federation_token(self, credentials: Any, **params: Any) -> IssuedCredentials:
        self.calls += 1
        now = int(self.clock())
        expired = now + params["duration_seconds"]
        expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expired))
        return IssuedCredentials(f"AKIDsim{self.calls:010d}", "sim-secret-key", "sim-token",
                                 now, expired, expiration, f"sim-{self.calls}")  # fmt: skip

    assume_role = get_federation_token


class LogCounter(io.TextIOBase):
    """Takes the handler's log lines instead of stdout and counts their outcomes."""

    def __init__(self) -> None:
        self.cache: collections.Counter = collections.Counter()
        self.redis: collections.Counter = collections.Counter()

    def write(self, text: str) -> int:
        if text.strip():
            fields = json.loads(text)
            self.cache[fields.get("cache", "-")] += 1
            if "redis" in fields:
                self.redis[fields["redis"]] += 1
        return len(text)


def function_env(redis_url: Optional[str]) -> dict[str, str]:
    env = emu.function_env("http://127.0.0.1:9", JWT_SECRET)
    if redis_url:
        env.update(STS_REDIS_URL=redis_url, STS_CACHE_KEY=CACHE_KEY)
    return env


def shipped_document() -> dict[str, Any]:
    import yaml

    with open(os.path.join(ROOT, "config.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def instance(redis_url: Optional[str], clock: Any, sts: CountingSts) -> Any:
    """One SCF instance as configured by the shipped config.yml, its caches and
    limits on `clock`, STS replaced by `sts`."""
    from sts_core.shared_cache import SharedCache

    env = function_env(redis_url)
    config = parse_config(shipped_document(), env)
    base = service_for(config, env)
    link = base.shared.link if base.shared else None
    minimum = config.cache_min_remaining
    issuer = issuer_for(config.sts, sts)
    shared = SharedCache(link, minimum, clock=clock) if link else None
    return base._replace(
        sts=sts,
        issuer=issuer,
        cache=CredentialCache(config.cache_max_entries, minimum, clock=clock),
        shared=shared,
        limiter=RateLimiter(config.rate_limit, link, clock=clock),
        tickets=TicketSigner(config, issuer, shared, clock=clock) if base.tickets else None,
    )


class Tokens:
    """One login token per user, minted on first use (verified on every request)."""

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}

    def __call__(self, user: str) -> str:
        token = self._tokens.get(user)
        if token is None:
            token = self._tokens[user] = mint_token(user, JWT_SECRET, ttl=86400)
        return token


def event(token: str, body: Any) -> dict[str, Any]:
    return credential_request(token, body or "", source_ip="203.0.113.7")


# -- the workload ------------------------------------------------------------------------------


class Ask(NamedTuple):
    at: float  # simulated seconds since the start
    user: str
    body: Any


def zipf_rates(users: int, exponent: float, cap: float, total: float) -> list[float]:
    """Sessions per second for user 1..n: proportional to 1/rank^exponent, capped,
    scaled (by bisection) so that they add up to `total`."""
    shape = [1 / rank**exponent for rank in range(1, users + 1)]
    low, high = 0.0, total * 10 / shape[-1]
    for _ in range(100):
        scale = (low + high) / 2
        if sum(min(scale * x, cap) for x in shape) < total:
            low = scale
        else:
            high = scale
    return [min(low * x, cap) for x in shape]


def workload(args: argparse.Namespace) -> tuple[list[Ask], dict[str, Any]]:
    """User i opens sessions one after another (Poisson, rate from a Zipf law over
    the user ranks, capped: nobody opens the app more than `max_sessions_per_hour`)."""
    rng = random.Random(args.seed)
    span = args.hours * 3600
    rates = zipf_rates(args.users, args.zipf, args.max_sessions_per_hour / 3600,
                       args.sessions / span)  # fmt: skip
    asks: list[Ask] = []
    active_seconds = 0.0
    sessions = scoped = 0
    users_seen = set()
    for rank, rate in enumerate(rates, start=1):
        user = f"user{rank}"
        start = rng.expovariate(rate)
        while start < span:
            sessions += 1
            users_seen.add(user)
            end = min(start + rng.expovariate(1 / (args.session_minutes * 60)), span)
            active_seconds += end - start
            asks.append(Ask(start, user, {"profile": "download"}))
            if rng.random() < args.upload_share:
                asks.append(Ask(start, user, {"profile": "upload"}))
            at = start + rng.expovariate(1 / args.reask_seconds)
            while at < end:
                body: Any = {"profile": "download"}
                if rng.random() < args.upload_share:
                    body = {"profile": "upload"}
                    if rng.random() < args.scoped_share:  # one grant per object (SDK Scope)
                        scoped += 1
                        prefix = f"users/{user}/upload-{scoped}.jpg"
                        body["scope"] = [{"action": "name/cos:PutObject", "prefix": prefix}]
                asks.append(Ask(at, user, body))
                at += rng.expovariate(1 / args.reask_seconds)
            start = end + rng.expovariate(rate)
    asks.sort(key=lambda ask: ask.at)
    shape = {
        "users": args.users, "zipf_exponent": args.zipf,
        "max_sessions_per_hour": args.max_sessions_per_hour, "hours": args.hours,
        "session_minutes_mean": args.session_minutes, "reask_seconds_mean": args.reask_seconds,
        "upload_share": args.upload_share, "scoped_share_of_uploads": args.scoped_share,
        "seed": args.seed, "sessions": sessions, "requests": len(asks),
        "distinct_users": len(users_seen), "mean_active_users": active_seconds / span,
        "scoped_requests": scoped,
    }  # fmt: skip
    return asks, shape


def replay(
    asks: list[Ask], instances: int, redis: Optional[Any], seed: int
) -> tuple[CountingSts, collections.Counter, LogCounter]:
    """Send `asks` in time order, each to one of `instances` fresh instances at random,
    on one simulated clock: (STS calls, statuses, log outcomes)."""
    if redis is not None:
        redis.flushall()
    clock = Clock(SIM_START)
    sts = CountingSts(clock)
    redis_url = redis.url if redis is not None else None
    services = [instance(redis_url, clock, sts) for _ in range(instances)]
    route = random.Random(seed * 1000 + instances)
    tokens = Tokens()
    statuses: collections.Counter = collections.Counter()
    counter = LogCounter()
    with contextlib.redirect_stdout(counter):
        for ask in asks:
            clock.now = SIM_START + ask.at
            service = services[route.randrange(instances)]
            response = index.handle(service, event(tokens(ask.user), ask.body), CONTEXT)
            statuses[response["statusCode"]] += 1
    for service in services:
        if service.shared is not None:
            service.shared.link.close()
    return sts, statuses, counter


def simulate(
    asks: list[Ask], instances: int, redis: Optional[Any], seed: int, span_seconds: float
) -> dict[str, Any]:
    sts, statuses, counter = replay(asks, instances, redis, seed)
    sts_per_second = sts.calls / span_seconds
    return {
        "instances": instances,
        "backend": "redis" if redis is not None else "per-instance",
        "requests": len(asks),
        "sts_calls": sts.calls,
        "sts_per_1000_requests": 1000 * sts.calls / len(asks),
        "sts_per_second": sts_per_second,
        "outcomes": dict(counter.cache),
        "redis_failures": dict(counter.redis),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


# -- abuse: one user varying the scope ----------------------------------------------------------


def abuse(instances: int, redis: Optional[Any], seconds: float) -> dict[str, Any]:
    if redis is not None:
        redis.flushall()
    sts = CountingSts(time.time)
    redis_url = redis.url if redis is not None else None
    services = [instance(redis_url, time.time, sts) for _ in range(instances)]
    token = Tokens()("mallory")
    settings = services[0].config.rate_limit.per_user
    statuses: collections.Counter = collections.Counter()
    sent = 0
    with contextlib.redirect_stdout(LogCounter()):
        started = time.time()
        while time.time() - started < seconds:
            scope = [{"action": "name/cos:PutObject", "prefix": f"users/mallory/{sent}.jpg"}]
            response = index.handle(services[sent % instances], event(token, {"scope": scope}),
                                    CONTEXT)  # fmt: skip
            statuses[response["statusCode"]] += 1
            sent += 1
        elapsed = time.time() - started
    bound = settings.burst + settings.rate * elapsed
    per_instance = redis is None
    return {
        "instances": instances,
        "backend": "redis" if redis is not None else "per-instance",
        "seconds": elapsed,
        "requests": sent,
        "requests_per_second": sent / elapsed,
        "sts_calls": sts.calls,
        "rate_limited": statuses.get(429, 0),
        "bound": bound * (instances if per_instance else 1),
        "within_bound": sts.calls <= bound * (instances if per_instance else 1),
        "limit": {"rate": settings.rate, "burst": settings.burst},
    }


# -- latency: a Redis hit next to a local hit ------------------------------------------------


class EmulatorProcess:
    """The STS emulator in its own process, for one real round trip to compare with."""

    def __init__(self) -> None:
        command = [sys.executable, "-m", "sts_tools.emulators.sts.server", "--port", "0"]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        match = re.search(r"(https?://\S+)", self.process.stdout.readline())
        if not match:
            raise RuntimeError("the STS emulator did not start")
        self.endpoint = match.group(1)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def timed(service: Any, request: dict[str, Any]) -> float:
    """Milliseconds `index.handle` took for a request it must grant."""
    started = time.perf_counter_ns()
    response = index.handle(service, request, CONTEXT)
    took = (time.perf_counter_ns() - started) / 1e6
    if response["statusCode"] != 200:
        raise RuntimeError(response["body"])
    return took


def latency(redis: Any, samples: int) -> dict[str, Any]:
    redis.flushall()
    sts = CountingSts(time.time)
    writer = instance(redis.url, time.time, sts)
    reader = instance(redis.url, time.time, sts)
    local_only = instance(None, time.time, sts)
    token = Tokens()("alice")
    hit_event = event(token, {"profile": "download"})
    stand_in = EmulatorProcess()
    try:
        env = emu.function_env(stand_in.endpoint, JWT_SECRET)
        document = shipped_document()
        document["cache"]["enabled"] = False
        document["rate_limit"]["enabled"] = False
        miss_service = service_for(parse_config(document, env), env)
        times: dict[str, list[float]] = {"local_hit": [], "redis_hit": [], "sts_round_trip": []}
        with contextlib.redirect_stdout(LogCounter()):
            index.handle(writer, hit_event, CONTEXT)  # issued once, stored in Redis
            index.handle(local_only, hit_event, CONTEXT)
            for _ in range(20):  # warm-up: connections, code paths
                reader.cache._entries.clear()
                index.handle(reader, hit_event, CONTEXT)
                index.handle(local_only, hit_event, CONTEXT)
                index.handle(miss_service, hit_event, CONTEXT)
            for round_ in range(samples):
                order = ["local_hit", "redis_hit", "sts_round_trip"]
                order = order[round_ % 3 :] + order[: round_ % 3]
                for name in order:
                    service = {"local_hit": local_only, "redis_hit": reader,
                               "sts_round_trip": miss_service}[name]  # fmt: skip
                    if name == "redis_hit":
                        reader.cache._entries.clear()  # not timed: forget the local copy
                    times[name].append(timed(service, hit_event))
    finally:
        stand_in.close()
        for service in (writer, reader):
            service.shared.link.close()
    result: dict[str, Any] = {
        name: {"n": len(values), "median_ms": percentile(values, 0.5),
               "p90_ms": percentile(values, 0.9), "p99_ms": percentile(values, 0.99)}
        for name, values in times.items()
    }  # fmt: skip
    result["ratios"] = {
        "redis_hit / local_hit (median)": result["redis_hit"]["median_ms"]
        / result["local_hit"]["median_ms"],
        "redis_hit / sts_round_trip (median)": result["redis_hit"]["median_ms"]
        / result["sts_round_trip"]["median_ms"],
        "added_ms_per_redis_hit (median)": result["redis_hit"]["median_ms"]
        - result["local_hit"]["median_ms"],
    }
    return result


# -- report ----------------------------------------------------------------------------------------


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def render(results: dict[str, Any]) -> str:
    shape = results["workload"]
    out = [
        f"workload: {shape['requests']:,} requests, {shape['sessions']:,} sessions of "
        f"{shape['distinct_users']:,} users (Zipf {shape['zipf_exponent']}) over "
        f"{shape['hours']} h; {shape['mean_active_users']:.0f} users active on average",
        "",
    ]
    rows = [["instances", "key cache", "STS calls / 1,000 req", "STS calls/s",
             "active users 600/s serves", "429s"]]  # fmt: skip
    for row in results["scale"]:
        rows.append([
            str(row["instances"]), row["backend"], f"{row['sts_per_1000_requests']:.1f}",
            f"{row['sts_per_second']:.3f}", f"{row['users_served_by_quota']:,.0f}",
            str(row["statuses"].get("429", 0)),
        ])  # fmt: skip
    out.append(table(rows))
    out.append("")
    rows = [["abuse (1 user, new scope each request)", "requests", "STS calls", "429s",
             "bound"]]  # fmt: skip
    for row in results["abuse"]:
        rows.append([
            f"{row['instances']} instances, {row['backend']}, {row['seconds']:.1f} s",
            f"{row['requests']:,}", str(row["sts_calls"]), f"{row['rate_limited']:,}",
            f"{row['bound']:.0f}",
        ])  # fmt: skip
    out.append(table(rows))
    if results.get("latency"):
        lat = results["latency"]
        out.append("")
        rows = [["per request, whole handler", "median ms", "p90 ms", "p99 ms"]]
        for name in ("local_hit", "redis_hit", "sts_round_trip"):
            stats = lat[name]
            rows.append([name.replace("_", " "), f"{stats['median_ms']:.3f}",
                         f"{stats['p90_ms']:.3f}", f"{stats['p99_ms']:.3f}"])  # fmt: skip
        out.append(table(rows))
        out.append("ratios: " + ", ".join(f"{k} = {v:.2f}" for k, v in lat["ratios"].items()))
    return "\n".join(out)


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    asks, shape = workload(args)
    results["workload"] = shape
    server: Optional[RedisServer] = None
    if executable():
        server = RedisServer().start()
    else:
        log(f"note: no redis-server ({INSTALL_HINT}): only per-instance rows")
    try:
        redis = FlushableRedis(server) if server else None
        results["scale"] = []
        for count in args.instances:
            for backend in [None, redis] if redis else [None]:
                log(f"{count} instances, {'redis' if backend else 'per-instance'} ...")
                row = simulate(asks, count, backend, args.seed, args.hours * 3600)
                active = shape["mean_active_users"]
                per_user = row["sts_per_second"] / active if active else 0.0
                row["users_served_by_quota"] = STS_QUOTA / per_user if per_user else float("inf")
                results["scale"].append(row)
        log("abuse ...")
        results["abuse"] = [abuse(args.abuse_instances, backend, args.abuse_seconds)
                            for backend in ([None, redis] if redis else [None])]  # fmt: skip
        if redis:
            log("latency ...")
            results["latency"] = latency(redis, args.latency_samples)
    finally:
        if server:
            server.stop()
    results["machine"] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    return results


class FlushableRedis:
    """The bench's Redis: its URL, and a way to empty it between runs."""

    def __init__(self, server: RedisServer) -> None:
        import redis

        self.url = server.url
        self._client = redis.Redis.from_url(server.url)

    def flushall(self) -> None:
        self._client.flushall()
        self._client.script_flush()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200000, help="the app's user base")
    parser.add_argument("--zipf", type=float, default=1.0, help="popularity exponent")
    parser.add_argument("--max-sessions-per-hour", type=float, default=4.0)
    parser.add_argument("--sessions", type=int, default=12000, help="expected in all")
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--session-minutes", type=float, default=8.0, help="mean length")
    parser.add_argument("--reask-seconds", type=float, default=90.0, help="mean gap")
    parser.add_argument("--upload-share", type=float, default=0.3)
    parser.add_argument("--scoped-share", type=float, default=0.1, help="of uploads")
    parser.add_argument("--instances", default="1,10,100")
    parser.add_argument("--abuse-instances", type=int, default=10)
    parser.add_argument("--abuse-seconds", type=float, default=3.0)
    parser.add_argument("--latency-samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke test")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.sessions, args.hours, args.instances = 2000, 150, 1.0, "1,3"
        args.abuse_instances, args.abuse_seconds, args.latency_samples = 3, 0.3, 30
    args.instances = [int(n) for n in str(args.instances).split(",")]
    write_report(run(args), args.out, "scale-latest.json", render)
    return 0


def write_report(
    results: dict[str, Any], folder: str, name: str, render: Callable[[dict[str, Any]], str]
) -> None:
    """The results as JSON in `folder`/`name`, and their tables on stdout."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    print(render(results))


if __name__ == "__main__":
    sys.exit(main())
