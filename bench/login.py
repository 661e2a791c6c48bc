"""`make bench-login` (also run by `make bench`): what signing in with WeChat costs the
function, and whether its own session token costs /sts more than an app token.

Measured through `index.handle` (event, routing, body, attempt bound, code exchange,
user-ID rules, minting, response, log line), interleaved round by round:

- ``sign-in``: the whole route against the local jscode2session stand-in (a
  loopback HTTP round trip, keep-alive, served from this process);
- ``exchange alone``: that round trip by itself (the same client, the same stand-in);
- ``sign-in, no network``: the route with the exchange answered in memory: the
  function's own cost besides WeChat's round trip;
- ``/sts, session token`` against ``/sts, app HS256 token``: one deployment accepting
  both, keys reused from the instance's cache (no STS call, so the token check is as
  large a share of the request as it gets). Target: session / app <= 1.05 (median).

Only ratios mean much on a shared machine. Writes bench/results/login-latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from typing import Any, Callable, Optional

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

from scale import (  # noqa: E402 - bench/scale.py: shared helpers
    CONTEXT,
    JWT_SECRET,
    LogCounter,
    event,
    index,
    percentile,
    shipped_document,
    table,
    write_report,
)

from sts_core.config_validation import parse_config  # noqa: E402
from sts_core.jscode2session import Exchange, Identity  # noqa: E402
from sts_core.service import service_for  # noqa: E402
from sts_tools.emulators import sts as emu  # noqa: E402
from sts_tools.emulators import wechat  # noqa: E402
from sts_tools.support.dev_token import mint_token  # noqa: E402
from sts_tools.support.trigger_events import credential_request  # noqa: E402

SESSION_SECRET = "bench-session-secret-0123456789abcdefghijklmnopqrstuvwxyz"
TARGET_RATIO = 1.05
DEADLINE = 60.0  # seconds: no measured call is near it


def login_service(sts_endpoint: str, wx_endpoint: str) -> Any:
    env = emu.function_env(sts_endpoint, JWT_SECRET)
    env.update(STS_WX_APPID=wechat.DEV_WX_APPID, STS_WX_SECRET=wechat.DEV_WX_SECRET,
               STS_WX_ENDPOINT=wx_endpoint, STS_SESSION_SECRET=SESSION_SECRET)  # fmt: skip
    document = shipped_document()
    document["login"] = {"providers": ["wechat"],
                         "per_address": {"rate": 100000, "burst": 1000000},
                         "global": {"rate": 100000, "burst": 1000000}}  # fmt: skip
    document["rate_limit"]["enabled"] = False
    return service_for(parse_config(document, env), env)


class InMemoryExchange:
    """The code exchange answered at once: what the route costs besides WeChat."""

    provider = "WeChat"

    def exchange(self, code: str, deadline: float) -> Exchange:
        return Exchange(Identity("oBenchUser", None), 1)


def sign_in_event() -> dict[str, Any]:
    request = credential_request("", {"code": wechat.make_code("oBenchUser")},
                                 source_ip="203.0.113.7")  # fmt: skip
    request["path"] = "/sts/login/wechat"
    request["headers"].pop("Authorization", None)
    return request


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - started) / 1e6


def handled(service: Any, make_request: Callable[[], dict[str, Any]]) -> Callable[[], Any]:
    def call() -> None:
        request = make_request()  # a fresh code each time: made before the clock starts
        started = time.perf_counter_ns()
        response = index.handle(service, request, CONTEXT)
        call.took = (time.perf_counter_ns() - started) / 1e6  # type: ignore[attr-defined]
        if response["statusCode"] != 200:
            raise RuntimeError(response["body"])

    return call


def measure(samples: int, sts_endpoint: str) -> dict[str, Any]:
    with wechat.WxEmulator() as stand_in:
        service = login_service(sts_endpoint, stand_in.endpoint)
        login = service.login
        exchange = login.exchanges["wechat"]
        offline = service._replace(login=login._replace(exchanges={"wechat": InMemoryExchange()}))
        session = mint_token_via(service)
        app = mint_token("alice", JWT_SECRET, ttl=86400)
        keys = {"profile": "upload"}
        runs: dict[str, Callable[[], Any]] = {
            "sign-in": handled(service, sign_in_event),
            "exchange alone": lambda: exchange.exchange(
                wechat.make_code("oBenchUser"), time.monotonic() + DEADLINE
            ),
            "sign-in, no network": handled(offline, sign_in_event),
            "/sts, session token": handled(service, lambda: event(session, keys)),
            "/sts, app HS256 token": handled(service, lambda: event(app, keys)),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        names = list(runs)
        with contextlib.redirect_stdout(LogCounter()):
            for _ in range(30):  # warm-up: connections, cached keys, code paths
                for run in runs.values():
                    run()
            for round_ in range(samples):
                shift = round_ % len(names)
                for name in names[shift:] + names[:shift]:
                    run = runs[name]
                    if hasattr(run, "took"):
                        run()
                        times[name].append(run.took)
                    else:
                        times[name].append(timed(run))
    result: dict[str, Any] = {
        name: {"n": len(values), "median_ms": percentile(values, 0.5),
               "p90_ms": percentile(values, 0.9)}
        for name, values in times.items()
    }  # fmt: skip
    median = {name: row["median_ms"] for name, row in result.items()}
    ratio = median["/sts, session token"] / median["/sts, app HS256 token"]
    result["derived"] = {
        "sign-in besides the round trip (sign-in - exchange alone), ms":
            median["sign-in"] - median["exchange alone"],
        "session / app token at /sts (median)": ratio,
        "target": TARGET_RATIO,
        "met": ratio <= TARGET_RATIO,
    }  # fmt: skip
    return result


def mint_token_via(service: Any) -> str:
    """A session token as the route mints it (the same secret, issuer, audience)."""
    return service.login.sessions.mint("oBenchUser", "wechat")


def render(results: dict[str, Any]) -> str:
    rows = [["path", "n", "median ms", "p90 ms"]]
    for name, row in results.items():
        if name != "derived":
            rows.append([name, str(row["n"]), f"{row['median_ms']:.3f}", f"{row['p90_ms']:.3f}"])
    derived = results["derived"]
    lines = [table(rows), ""]
    lines += [f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}"
              for name, value in derived.items()]  # fmt: skip
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2000, help="rounds")
    parser.add_argument("--out", default=os.path.join(BENCH, "results"))
    args = parser.parse_args(argv)
    with emu.StsEmulator() as sts:  # only the first /sts call per token kind reaches it
        results = measure(args.samples, sts.endpoint)
    write_report(results, args.out, "login-latest.json", render)
    return 0 if results["derived"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
