"""``serve``: a local HTTP endpoint in front of the handler (what ``make run`` starts),
with the emulated STS, the local COS and the playground when there are no Tencent keys."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, Optional

from sts_tools import stack as local
from sts_tools.commands.command_line import fail

SUMMARY = "a local HTTP endpoint (what make run starts)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 9000))
    parser.add_argument(
        "--cos-port",
        type=int,
        default=int(os.environ.get("COS_PORT") or 9001),
        help="the local COS's port (default 9001; only without Tencent keys)",
    )
    parser.add_argument(
        "--playground-port",
        type=int,
        default=int(os.environ.get("PLAYGROUND_PORT") or 9002),
        help="the browser playground's port (default 9002; only without Tencent keys)",
    )
    parser.add_argument(
        "--no-playground", action="store_true", help="do not serve the browser playground"
    )
    parser.add_argument(
        "--time-limit-ms",
        type=int,
        default=3000,
        help="the time_limit_in_ms given to the handler (default 3000)",
    )


def _print_line(line: str) -> None:
    print(line, flush=True)


def describe_config(config: Any, path: str) -> list[str]:
    auth = config.auth
    profiles = ", ".join(
        f"{name}{' (default)' if name == config.default_profile else ''}"
        for name in config.profiles
    )
    return [
        f"config:   {path}",
        f"  bucket {config.bucket}, region {config.region}, path {config.path}, "
        f"root {config.prefix_template}",
        f"  profiles: {profiles}",
        f"  durations: {config.min_duration}-{config.max_duration} s "
        f"(default {config.default_duration})",
        f"  auth: {'/'.join(auth.algorithms)}, claim {auth.user_id_claim}, "
        f"iss {auth.issuer or '-'}, aud {auth.audience or '-'}",
        f"  cors origins: {', '.join(config.cors_origins) or '-'}",
        f"  STS: {config.sts.action} via {config.sts.endpoint} (region {config.sts.region})",
    ]


def try_it(config: Any, url: str, prepared: local.LocalStack) -> list[str]:
    """How to get a token and call the local endpoint, for this way of checking tokens."""
    auth = config.auth
    if auth.mode == "jwks":
        source = auth.jwks_url or f"{auth.issuer} (discovery)"
        return [
            f"tokens: from your identity provider (keys at {source})",
            f"try it:  curl -s -X POST {url} -H 'Authorization: Bearer <token>'",
        ]
    python = local.python_command()
    lines = [f"mint a token:  {python} -m sts_tools token alice"]
    body = json.dumps({"profile": config.default_profile}, separators=(",", ":"))
    if prepared.dev_secret:
        token = prepared.token("alice")
        lines += [
            "try it (token for 'alice', valid 1 h):",
            f"  curl -s -X POST {url} -H 'Authorization: Bearer {token}' "
            f"-H 'Content-Type: application/json' -d '{body}'",
        ]
        if prepared.cos is not None:
            lines += sdk_snippet(config, url, token, prepared.cos.port, python)
            lines += ticket_snippet(config, url, token, python)
        return lines
    return [
        *lines,
        "try it:",
        f'  curl -s -X POST {url} -H "Authorization: Bearer $({python} -m sts_tools '
        f"""token alice --allow-real-secret)" -d '{body}'""",
    ]


def uploading_profile(config: Any) -> Optional[str]:
    """A profile whose keys may PutObject in the user's own root, or None."""
    for name, profile in config.profiles.items():
        if profile.tickets_only:  # gives no keys
            continue
        if profile.grants[0].per_user and "name/cos:PutObject" in profile.grants[0].actions:
            return str(name)
    return None


SDK_SNIPPET = """\
{python} - <<'EOF'
# Keys from the local endpoint (the curl above), then an upload with cos-python-sdk-v5.
import json, urllib.request
from qcloud_cos import CosConfig, CosS3Client
ask = urllib.request.Request("{url}", data=b'{{"profile":"{profile}"}}', headers={{
    "Authorization": "Bearer {token}", "Content-Type": "application/json"}})
keys = json.load(urllib.request.urlopen(ask))
c = keys["credentials"]
cos = CosS3Client(CosConfig(Region=keys["region"], SecretId=c["tmpSecretId"],
    SecretKey=c["tmpSecretKey"], Token=c["sessionToken"], Scheme="http",
    IP="127.0.0.1", Port={cos_port}))  # or Domain="127.0.0.1:{cos_port}"
key = keys["prefix"] + "hello.txt"
print(key, cos.put_object(Bucket=keys["bucket"], Key=key, Body=b"hello",
                          ContentType="{content_type}")["ETag"])
EOF"""


def sdk_snippet(config: Any, url: str, token: str, cos_port: int, python: str) -> list[str]:
    """A ready cos-python-sdk-v5 upload through the local COS (printed by serve), for
    a profile of this config that may upload."""
    profile = uploading_profile(config)
    if profile is None:
        return []
    allowed = config.profiles[profile].content_types  # an upload the profile accepts
    content_type = allowed[0].replace("/*", "/octet-stream") if allowed else "text/plain"
    return [
        "",
        f"upload with the official SDK (profile {profile}; cos-python-sdk-v5: make run "
        "installs it into .venv):",
        SDK_SNIPPET.format(
            python=python,
            url=url,
            token=token,
            cos_port=cos_port,
            profile=profile,
            content_type=content_type,
        ),
    ]


TICKET_SNIPPET = """\
{python} - <<'EOF'
# A ticket from the local endpoint, then the one upload it allows (a form POST).
import requests
from urllib.parse import urlsplit
answer = requests.post("{url}", json={{"profile": "{profile}",
    "ticket": {{"method": "post", "extension": "{extension}"}}}},
    headers={{"Authorization": "Bearer {token}"}}).json()
ticket = answer["ticket"]
# The ticket names <bucket>.cos.<region>.localhost: loopback to browsers and curl,
# not always to Python, so connect to 127.0.0.1 and send that name as Host.
where = urlsplit(ticket["url"])
sent = requests.post(f"http://127.0.0.1:{{where.port}}/", data=ticket["fields"],
    files={{ticket["fileField"]: ("hello.{extension}", b"hello")}},
    headers={{"Host": where.netloc}})
print(ticket["key"], sent.status_code)
EOF"""


def ticket_snippet(config: Any, url: str, token: str, python: str) -> list[str]:
    """An upload ticket tried through the local COS, when a profile gives form tickets."""
    for name, profile in config.profiles.items():
        if profile.tickets is not None and "post" in profile.tickets.methods:
            extension = next(iter(profile.tickets.types))
            return [
                "",
                f"upload with a ticket (profile {name}: no keys leave the function):",
                TICKET_SNIPPET.format(
                    python=python, url=url, token=token, profile=name, extension=extension
                ),
            ]
    return []


def run(args: argparse.Namespace) -> int:
    """Serve http://HOST:PORT/<path>: each request becomes an API Gateway event for
    the handler. Without Tencent keys in the environment the built-in STS emulator
    answers, a local COS on --cos-port enforces the keys it issues, and the browser
    playground on --playground-port shows both."""
    from sts_tools.support.loopback import PortInUse

    try:
        return _serve(args)
    except PortInUse as exc:
        return fail(busy_port(exc.port, args))


# Each port of `serve`: its option, and the make variable that sets it.
PORT_SETTINGS = (("port", "--port", "PORT"), ("cos_port", "--cos-port", "COS_PORT"),
                 ("playground_port", "--playground-port", "PLAYGROUND_PORT"))  # fmt: skip


def busy_port(port: int, args: argparse.Namespace) -> str:
    """Which setting chose a port another program holds, and how to pick another."""
    for attribute, option, variable in PORT_SETTINGS:
        if getattr(args, attribute, None) == port:
            return (f"port {port} is in use by another program ({variable}, {option}): "
                    f"choose another, e.g. make run {variable}={port + 100}")  # fmt: skip
    return f"port {port} is in use by another program"


def _serve(args: argparse.Namespace) -> int:
    from sts_core.config_section import ConfigError
    from sts_core.handler import handle
    from sts_tools.emulators.gateway import DevServer
    from sts_tools.playground.server import Playground, origins_for

    prepared = local.prepare(cos_port=args.cos_port, cos_log=_print_line)
    server = playground = None
    try:
        with_playground = not args.no_playground and prepared.cos is not None
        origins = origins_for(args.playground_port) if with_playground else ()
        try:
            service = prepared.service(extra_origins=origins)
        except ConfigError as exc:
            prepared.stop()
            return fail(f"configuration: {exc}")
        server = DevServer(
            lambda event, context: handle(service, event, context),
            args.host, args.port, args.time_limit_ms,
        ).start()  # fmt: skip
        prepared.deliver_events(lambda e, c: handle(service, e, c), args.time_limit_ms)
        path = service.config.path
        url = f"{server.url}{'/sts' if path == '*' else path}"
        if with_playground and prepared.cos is not None and prepared.sts is not None:
            playground = Playground(
                cos=prepared.cos, keyring=prepared.sts.keyring, sts_url=url,
                config=service.config, jwt_secret=prepared.env.get("STS_JWT_SECRET", ""),
                host=args.host,
                port=args.playground_port, wx_signin=prepared.wx is not None,
            ).start()  # fmt: skip
    except BaseException:
        if server is not None:
            server.stop()
        prepared.stop()
        raise
    lines = [f"cos-sts local endpoint: {url}  (HTTP -> API Gateway event -> the handler)"]
    lines += [f"  {note}" for note in prepared.notes]
    if playground is not None:
        lines.append(f"  playground: {playground.url}  (this stack in a browser; development only)")
        lines.append(f"  CORS: for this run the function also allows {', '.join(origins)}")
    elif not args.no_playground:
        lines.append("  playground: off (it runs only on the emulated STS and local COS)")
    lines += describe_config(service.config, prepared.config_path)
    lines += ["", *try_it(service.config, url, prepared), "", "Ctrl-C stops."]

    from sts_tools.support.loopback import wait_for_interrupt

    try:
        # The handlers first, then the banner: whoever reads "Ctrl-C stops." may send it.
        wait_for_interrupt(ready="\n".join(lines))
    finally:
        if playground is not None:
            playground.stop()
        server.stop()
        prepared.stop()
        print("stopped", flush=True)
    return 0
