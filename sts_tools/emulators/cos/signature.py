"""COS request signatures (``q-sign-algorithm=sha1``), verified the way they are made.

One function per step of docs/tencent/cos-signing.md §1-§2 (`sign_key`, `http_parameters`,
`http_headers`, `http_string`, `string_to_sign`, `signature`), two parsers for
where the signature travels (docs/tencent/cos-signing.md §3: the ``Authorization``
header, or the same ``q-*`` pairs in the query of a pre-signed URL), and `verify`,
the only function
that takes the time. `verify` returns the intermediate strings, so a mismatch can
be logged stage by stage; the token's value is redacted in them and no string
here ever holds the secret key or the SignKey.

Tolerances (docs/tencent/cos-signing.md §3-§4, observed from the official SDKs):
- only what ``q-header-list`` / ``q-url-param-list`` name is signed; any other
  header or parameter, and the seven ``q-*`` signature fields, are ignored;
  nothing is required to be signed (the SDKs' whitelists differ, docs/tencent/cos-api.md §8);
- a name listed but absent from the request is a mismatch, never skipped;
- ``Host`` may have been signed with or without its port (PY in Domain mode signs
  ``urlparse(url).hostname``; NODE/JS sign the Host they send);
- ``x-cos-security-token`` may be signed or not (PY signs it, NODE/JS append it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Optional
from urllib.parse import quote

ALGORITHM = "sha1"
# The seven fields of docs/tencent/cos-signing.md §1 step 6, in the order the SDKs write them.
SIGN_FIELDS = (
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
)
# An absent list is read as an empty one: both mean "nothing of that kind signed".
_OPTIONAL_FIELDS = ("q-header-list", "q-url-param-list")
# How far in the future q-sign-time may start. The SDKs sign from now-60 (PY) or
# now-1 (NODE/JS, or the STS StartTime), so a correct clock never needs this; it
# absorbs a client clock up to a minute fast. Real COS's margin is unverified
# (docs/tencent/cos-signing.md §5 mentions only the 15-minute RequestTimeTooSkewed advice).
START_TOLERANCE = 60
TOKEN_NAMES = ("x-cos-security-token", "x-ci-security-token")
REDACTED = "<redacted>"
_WINDOW = re.compile(r"([0-9]+);([0-9]+)")
_HOST = re.compile(r"(?P<name>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?")


class AuthFields(NamedTuple):
    """The ``q-*`` fields of one signed request, as sent (lists split on ``;``)."""

    algorithm: str
    ak: str
    sign_time: str
    key_time: str
    header_list: tuple[str, ...]
    param_list: tuple[str, ...]
    signature: str
    in_query: bool


class MalformedAuthorization(ValueError):
    """The signature fields cannot be read (missing, repeated or badly formed)."""


class UnsignedName(LookupError):
    """A name the client listed as signed that the request lacks or carries twice."""


class Verification(NamedTuple):
    """The outcome of `verify`, with what was signed (for the server's log)."""

    problem: Optional[str]  # None, "mismatch", "expired", "not_yet_valid", "malformed"
    http_string: str  # token values redacted
    string_to_sign: str
    detail: str = ""  # one sentence for the log when problem is not None


def encode(text: str) -> str:
    """COS's UrlEncode (docs/tencent/cos-signing.md §2): UTF-8, everything but ``A-Z a-z 0-9 - _ .
    ~`` as %XX."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="-_.~")


def _names(text: str, field: str) -> tuple[str, ...]:
    # Exact: ';'-separated, possibly empty as a whole, never an empty or repeated item.
    if text == "":
        return ()
    names = tuple(text.split(";"))
    if "" in names:
        raise MalformedAuthorization(f"{field} has an empty name")
    if len({name.lower() for name in names}) != len(names):
        raise MalformedAuthorization(f"{field} names the same item twice")
    return names


def _fields(found: Mapping[str, str], in_query: bool) -> AuthFields:
    missing = [name for name in SIGN_FIELDS if name not in found and name not in _OPTIONAL_FIELDS]
    if missing:
        raise MalformedAuthorization("missing " + ", ".join(missing))
    return AuthFields(
        algorithm=found["q-sign-algorithm"],
        ak=found["q-ak"],
        sign_time=found["q-sign-time"],
        key_time=found["q-key-time"],
        header_list=_names(found.get("q-header-list", ""), "q-header-list"),
        param_list=_names(found.get("q-url-param-list", ""), "q-url-param-list"),
        signature=found["q-signature"],
        in_query=in_query,
    )


def parse_authorization(value: str) -> AuthFields:
    """The header form: ``q-sign-algorithm=sha1&q-ak=...&q-signature=...``
    (docs/tencent/cos-signing.md §1, step 6).

    Names other than the seven are ignored; a repeated one is malformed.
    """
    found: dict[str, str] = {}
    for part in value.split("&"):
        name, sep, text = part.partition("=")
        if not sep:
            raise MalformedAuthorization("an Authorization item is not name=value")
        if name in found:
            raise MalformedAuthorization(f"{name} appears twice")
        found[name] = text
    return _fields(found, in_query=False)


def query_fields(pairs: Sequence[tuple[str, str]]) -> Optional[AuthFields]:
    """The pre-signed URL form: the same fields among the DECODED query pairs
    (so ``%3B`` already reads ``;``). None when the query carries no signature."""
    found: dict[str, str] = {}
    for name, value in pairs:
        if name in SIGN_FIELDS:
            if name in found:
                raise MalformedAuthorization(f"{name} appears twice in the query")
            found[name] = value
    if "q-sign-algorithm" not in found:
        return None
    return _fields(found, in_query=True)


def parse_window(text: str) -> tuple[int, int]:
    """``"<start>;<end>"`` in Unix seconds; MalformedAuthorization unless start <= end."""
    match = _WINDOW.fullmatch(text)
    if match is None:
        raise MalformedAuthorization("a time window is not <start>;<end> in Unix seconds")
    start, end = int(match[1]), int(match[2])
    if start > end:
        raise MalformedAuthorization("a time window starts after it ends")
    return start, end


def sign_key(secret_key: str, key_time: str) -> str:
    """Step 2: lower-hex HMAC-SHA1(SecretKey, KeyTime)."""
    return hmac.new(
        secret_key.encode("utf-8", "surrogatepass"), key_time.encode("utf-8"), hashlib.sha1
    ).hexdigest()


def _canonical(items: Iterable[tuple[str, str]], names: Iterable[str], kind: str) -> str:
    # Keys are UrlEncoded THEN lower-cased (so "a/b" -> "a%2fb"), values UrlEncoded
    # from their decoded form; sorted by encoded key (docs/tencent/cos-signing.md §2).
    wanted = {name.lower() for name in names}
    chosen: dict[str, str] = {}
    for name, value in items:
        key = encode(name).lower()
        if key in wanted:
            if key in chosen:
                raise UnsignedName(f"the signed {kind} {key} appears more than once")
            chosen[key] = encode(value)
    absent = sorted(wanted - chosen.keys())
    if absent:
        raise UnsignedName(f"the signed {kind} {', '.join(absent)} is absent from the request")
    return "&".join(f"{key}={chosen[key]}" for key in sorted(chosen))


def http_parameters(pairs: Sequence[tuple[str, str]], names: Iterable[str]) -> str:
    """Step 3, HttpParameters: the decoded query `pairs` that `names` list (any order).

    UnsignedName when a listed parameter is absent or repeated.
    """
    return _canonical(pairs, names, "parameter")


def http_headers(headers: Mapping[str, str], names: Iterable[str]) -> str:
    """Step 3, HttpHeaders: the `headers` that `names` list, values without the
    surrounding whitespace HTTP drops anyway (docs/tencent/cos-signing.md §2). UnsignedName as
    above."""
    items = ((name.lower(), value.strip(" \t")) for name, value in headers.items())
    return _canonical(items, names, "header")


def http_string(method: str, path: str, parameters: str, headers: str) -> str:
    """Step 3: empty parts keep their newline (``get\\n/key\\n\\n\\n``)."""
    return f"{method.lower()}\n{path}\n{parameters}\n{headers}\n"


def string_to_sign(sign_time: str, http_string: str) -> str:
    """Step 4: ``sha1\\n<q-sign-time>\\n<sha1 hex of HttpString>\\n``."""
    # SHA-1 is COS's protocol, not a choice made here.
    digest = hashlib.sha1(http_string.encode("utf-8", "surrogatepass")).hexdigest()  # noqa: S324
    return f"{ALGORITHM}\n{sign_time}\n{digest}\n"


def signature(sign_key_hex: str, string_to_sign: str) -> str:
    """Step 5: keyed with the 40-character hex TEXT of the SignKey, not its bytes."""
    return hmac.new(
        sign_key_hex.encode("ascii"), string_to_sign.encode("utf-8"), hashlib.sha1
    ).hexdigest()


def _without_port(host: str) -> list[str]:
    """The names PY may have signed for `host` (``urlparse(url).hostname``: no port,
    IPv6 without brackets); never `host` itself. Only for a well-formed Host:
    "a.example/x" or "u@a.example" get no variant."""
    match = _HOST.fullmatch(host)
    if match is None:
        return []
    name = match["name"]
    variants = [name, name[1:-1]] if name.startswith("[") else [name]
    return [variant for variant in variants if variant != host]


def _redact(canonical: str) -> str:
    # The canonical strings are k=v joined by '&', both sides URL-encoded, so a
    # split on '&' and '=' is exact.
    items = []
    for item in canonical.split("&") if canonical else ():
        key = item.partition("=")[0]
        items.append(f"{key}={REDACTED}" if key in TOKEN_NAMES else item)
    return "&".join(items)


def _time_problem(fields: AuthFields, now: float, start_tolerance: float) -> Optional[str]:
    # q-key-time normally equals q-sign-time (docs/tencent/cos-signing.md §1); when they differ,
    # both windows
    # must hold (docs/tencent/cos-api.md §9 (open point 2) leaves COS's own choice open).
    for start, end in (parse_window(fields.sign_time), parse_window(fields.key_time)):
        if now > end:
            return "expired"
        if now < start - start_tolerance:
            return "not_yet_valid"
    return None


def verify(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    fields: AuthFields,
    secret_key: str,
    now: float,
    *,
    start_tolerance: float = START_TOLERANCE,
) -> Verification:
    """Check `fields` against the request: structure, then the HMAC, then the time.

    `path` is the URL-DECODED path with its leading ``/``; `query` the decoded
    pairs as received; `headers` keyed by lower-case name. The signature is
    compared in constant time. A request signed for its Host without the port
    (or with it) verifies either way; the Verification then shows the variant
    that matched.
    """
    if fields.algorithm != ALGORITHM:
        return Verification("malformed", "", "", f"q-sign-algorithm is not {ALGORITHM}")
    try:
        problem = _time_problem(fields, now, start_tolerance)
    except MalformedAuthorization as exc:
        return Verification("malformed", "", "", str(exc))

    signable = [(name, value) for name, value in query if name not in SIGN_FIELDS]
    try:
        parameters = http_parameters(signable, fields.param_list)
        candidates = [http_headers(headers, fields.header_list)]
    except UnsignedName as exc:
        return Verification("mismatch", "", "", str(exc))
    lowered = {name.lower(): value for name, value in headers.items()}
    if "host" in {name.lower() for name in fields.header_list} and "host" in lowered:
        for host in _without_port(lowered["host"]):
            candidates.append(http_headers({**lowered, "host": host}, fields.header_list))

    key = sign_key(secret_key, fields.key_time)
    given = fields.signature.encode("utf-8", "surrogatepass")
    tried = []
    for signed_headers in candidates:
        text = http_string(method, path, parameters, signed_headers)
        to_sign = string_to_sign(fields.sign_time, text)
        logged = http_string(method, path, _redact(parameters), _redact(signed_headers))
        if hmac.compare_digest(signature(key, to_sign).encode("ascii"), given):
            # Authentic: only now does the time window speak, so "expired" never
            # vouches for a request nobody with the key signed.
            detail = f"q-sign-time: request {problem.replace('_', ' ')}" if problem else ""
            return Verification(problem, logged, to_sign, detail)
        tried.append((logged, to_sign))
    logged, to_sign = tried[0]  # the Host as received: what the client most likely signed
    return Verification("mismatch", logged, to_sign, "the signature differs")
