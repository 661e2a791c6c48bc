"""``python -m sts_tools``: development and operations commands (never deployed).

token    mint a development token
explain  the dry run: the policy a request would send to STS, and what it allows
invoke   run the handler once on an event file, as the SCF console's test button does
serve    a local HTTP endpoint in front of the handler (what ``make run`` starts)
deploy, console-event, check-deployment: deploying and checking a deployment (deploy_cli.py)
revoke, wx-code: stopping a user; a code for the local WeChat sign-in (revoke.py)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional, Union

from sts_tools import stack as local
from sts_tools.support.config_view import config_path
from sts_tools.support.dev_token import DEV_JWT_SECRET

PLACEHOLDER = "REPLACE_WITH_A_TOKEN"


def _fail(message: str, status: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def _pairs(pairs: Sequence[str], option: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"{option} takes NAME=VALUE, got {pair!r}")
        values[name] = value
    return values


def _read(path: str, what: str) -> bytes:
    """A file the user named, or ValueError saying in one line why it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ValueError(f"{what} {path}: {exc.strerror or type(exc).__name__}") from None


def _json(text: Union[str, bytes], what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise ValueError(f"{what} is not JSON: {exc}") from None


def _claims(pairs: Sequence[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--claim takes NAME=VALUE, got {pair!r}")
        try:
            claims[name] = json.loads(value)
        except ValueError:
            claims[name] = value
    return claims


def cmd_token(args: argparse.Namespace) -> int:
    """Print an HS256 token for USER_ID signed with the development secret (or,
    with --allow-real-secret, with STS_JWT_SECRET)."""
    env = os.environ
    secret = env.get("STS_JWT_SECRET")
    if secret and secret != DEV_JWT_SECRET and not args.allow_real_secret:
        return _fail(
            "STS_JWT_SECRET is set, so this would sign with what may be a production "
            "secret; unset it for a development token, or pass --allow-real-secret"
        )
    try:
        claims = _claims(args.claim)
    except ValueError as exc:
        return _fail(str(exc))
    stack = local.LocalStack(dict(env), config_path(env))
    print(
        stack.token(args.user_id, ttl=args.ttl, claims=claims, issuer=args.iss, audience=args.aud)
    )
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Print the exact policy that would be sent to STS for a caller and body, and
    whether each --check pair would be allowed. Never calls STS. Exit status 1 if
    a check is denied or the request would be refused."""
    from sts_core.config_section import ConfigError
    from sts_tools.explain import explain

    prepared = local.prepare(start_emulator=False)
    for note in prepared.notes:
        print(f"note: {note}", file=sys.stderr)
    try:
        service = prepared.service()
    except ConfigError as exc:
        return _fail(f"configuration: {exc}")
    try:
        values = _pairs(args.value, "--value")
        claims = _claims(args.claim)
        body = args.body.encode() if args.body is not None else b""
        if args.body_file:
            body = _read(args.body_file, "--body-file")
    except ValueError as exc:
        return _fail(str(exc))
    report, status = explain(
        service.config,
        service.verifier,  # the HMAC secret or the key set
        token=args.token,
        user=args.user,
        body=body,
        checks=args.check or (),
        source_ip=args.source_ip,
        values=values,
        list_resource=args.list_resource,
        claims=claims,
    )
    print(report)
    return status


def _print_line(line: str) -> None:
    print(line, flush=True)


def cmd_invoke(args: argparse.Namespace) -> int:
    """Run the handler once on EVENT (a JSON file, e.g. events/apigw-post.json), as
    the SCF console's Test button does, and print the response.
    REPLACE_WITH_A_TOKEN is replaced by a development token."""
    from sts_core.config_section import ConfigError
    from sts_core.handler import handle

    try:
        text = _read(args.event, "the event file").decode("utf-8", "replace")
        _json(text, f"the event file {args.event}")
        context = _json(args.context, "--context") if args.context else None
        if context is not None and not isinstance(context, dict):
            raise ValueError("--context must be a JSON object, e.g. '{\"time_limit_in_ms\": 3000}'")
    except ValueError as exc:
        return _fail(str(exc))
    prepared = local.prepare()
    try:
        for note in prepared.notes:
            print(f"note: {note}", file=sys.stderr)
        if PLACEHOLDER in text:
            if not prepared.dev_secret:
                return _fail(f"replace {PLACEHOLDER} in {args.event} with a real token")
            text = text.replace(PLACEHOLDER, prepared.token(args.user))
            print(
                f"note: {PLACEHOLDER} replaced by a development token for {args.user!r}",
                file=sys.stderr,
            )
        try:
            service: Any = prepared.service()
        except ConfigError as error:  # the function fails closed: show what it answers
            service = error
        context = context if context is not None else local_context_for_invoke()
        response = handle(service, json.loads(text), context)
        print(json.dumps(response, indent=2, ensure_ascii=False))
        if isinstance(response, dict) and isinstance(response.get("body"), str):
            with contextlib.suppress(ValueError):
                print(json.dumps(json.loads(response["body"]), indent=2, ensure_ascii=False))
        status = response.get("statusCode", 500) if isinstance(response, dict) else 500
        return 0 if status < 400 else 1
    finally:
        prepared.stop()


def local_context_for_invoke() -> dict[str, Any]:
    from sts_tools.emulators.gateway import local_context

    return local_context(3000)


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


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve http://HOST:PORT/<path>: each request becomes an API Gateway event for
    the handler. Without Tencent keys in the environment the built-in STS emulator
    answers, a local COS on --cos-port enforces the keys it issues, and the browser
    playground on --playground-port shows both."""
    from sts_tools.support.loopback import PortInUse

    try:
        return _serve(args)
    except PortInUse as exc:
        return _fail(busy_port(exc.port, args))


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
            return _fail(f"configuration: {exc}")
        server = DevServer(
            lambda event, context: handle(service, event, context),
            args.host, args.port, args.time_limit_ms,
        ).start()  # fmt: skip
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
    print("\n".join(lines), flush=True)

    def terminate(*_: Any) -> None:
        raise KeyboardInterrupt

    # Both, explicitly: a background job starts with SIGINT ignored.
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if playground is not None:
            playground.stop()
        server.stop()
        prepared.stop()
        print("stopped", flush=True)
    return 0


def _command(commands: Any, run: Any, summary: str) -> argparse.ArgumentParser:
    """One sub-command: its name and description come from its cmd_* function."""
    sub = commands.add_parser(run.__name__[len("cmd_") :], help=summary, description=run.__doc__)
    sub.set_defaults(run=run)
    return sub


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m sts_tools",
        description="Development and operations commands for the COS credential function.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    token = _command(commands, cmd_token, "mint a development token")
    token.add_argument("user_id")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    token.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra claim; VALUE is JSON when it parses (repeatable)",
    )
    token.add_argument("--iss", help="issuer (default: STS_JWT_ISSUER or auth.issuer)")
    token.add_argument("--aud", help="audience (default: STS_JWT_AUDIENCE or auth.audience)")
    token.add_argument(
        "--allow-real-secret",
        action="store_true",
        help="sign with STS_JWT_SECRET even though it is not the dev secret",
    )

    explain = _command(commands, cmd_explain, "dry run: the policy a request would get")
    who = explain.add_mutually_exclusive_group(required=True)
    who.add_argument("--token", help="a caller token, verified as the function would")
    who.add_argument("--user", help="a user ID, skipping the token check")
    explain.add_argument("--body", help="the request body (JSON), default empty")
    explain.add_argument("--body-file", help="read the request body from a file")
    explain.add_argument("--source-ip", help="the caller's address, for profiles with bind_ip")
    explain.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --user: a token claim a root template names, e.g. tenant=acme (repeatable)",
    )
    explain.add_argument(
        "--check",
        nargs=2,
        action="append",
        metavar=("ACTION", "KEY"),
        help="e.g. --check name/cos:PutObject users/alice/a.jpg (repeatable); for listings "
        "(GetBucket, ListMultipartUploads) KEY is the prefix parameter; copies: "
        "PutObjectCopy SOURCE>DESTINATION (or UploadPartCopy); DeleteMultipleObjects K1,K2",
    )
    explain.add_argument(
        "--value",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a condition value of the checked requests, e.g. cos:content-type=image/jpeg or "
        "cos:content-length=2048 (default: what the SDKs send; repeatable)",
    )
    explain.add_argument(
        "--list-resource",
        choices=("prefix", "bucket"),
        default="prefix",
        help="which resource COS checks for listings (docs/tencent/cos-api.md §5): R(prefix), "
        "the documented reading (default), or the bucket itself",
    )

    invoke = _command(commands, cmd_invoke, "run the handler once on an event file")
    invoke.add_argument("event")
    invoke.add_argument("--user", default="alice", help="user for the development token")
    invoke.add_argument("--context", help="the SCF context as JSON (default: a local one)")

    serve = _command(commands, cmd_serve, "a local HTTP endpoint (what make run starts)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 9000))
    serve.add_argument(
        "--cos-port",
        type=int,
        default=int(os.environ.get("COS_PORT") or 9001),
        help="the local COS's port (default 9001; only without Tencent keys)",
    )
    serve.add_argument(
        "--playground-port",
        type=int,
        default=int(os.environ.get("PLAYGROUND_PORT") or 9002),
        help="the browser playground's port (default 9002; only without Tencent keys)",
    )
    serve.add_argument(
        "--no-playground", action="store_true", help="do not serve the browser playground"
    )
    serve.add_argument(
        "--time-limit-ms",
        type=int,
        default=3000,
        help="the time_limit_in_ms given to the handler (default 3000)",
    )
    from sts_tools.commands.deploy_cli import add_commands

    add_commands(commands)  # deploy, console-event, check-deployment
    from sts_tools.commands import revoke

    revoke.add_commands(commands)  # revoke, wx-code
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))
