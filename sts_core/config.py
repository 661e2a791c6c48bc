"""Configuration: one YAML file plus the environment, validated once per instance.

Validation is strict and fails closed: an unknown key, a wrong type or a value
that could widen a grant stops the function with a message naming the key.
Secrets never live in the file; only their presence is checked here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional
from urllib.parse import urlsplit

from .cos_actions import (
    CREATE_ACTIONS,
    LENGTH_ACTIONS,
    action_problem,
)
from .roots import TemplateError, check_areas, check_template, collect_areas
from .sts_client import (
    ASSUME_ROLE,
    DEFAULT_ENDPOINT,
    GET_FEDERATION_TOKEN,
    MAX_DURATION,
    parse_endpoint,
)

BUCKET_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?-(\d{5,12})$")
REGION_RE = re.compile(r"^[a-z]{2,}(?:-[a-z0-9]+)+$")
CI_ACTION_RE = re.compile(r"^name/ci:[A-Z][A-Za-z]{2,63}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,128}$")
PROFILE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
CONTENT_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/(?:\*|[a-z0-9][a-z0-9.+-]*)$")
ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?$")
ROLE_ARN_RE = re.compile(r"^qcs::cam::uin/\d+:(?:role|roleName)/\S+$")
# Every Redis key this function writes starts with the prefix; no braces (the rate
# limits' keys carry their own Redis Cluster hash tag) and no spaces.
KEY_PREFIX_RE = re.compile(r"^[A-Za-z0-9:_./-]{0,64}$")
MIN_CACHE_KEY_BYTES = 32
# RFC 7518 §3.2: an HMAC key at least as long as the hash output.
HS_ALGORITHMS = {"HS256": 32, "HS384": 48, "HS512": 64}
# With a JWKS, only public-key algorithms: an HMAC "verified" with a public key
# is the classic algorithm-confusion forgery.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                         "ES256", "ES384", "ES512")  # fmt: skip
HMAC = "hmac"
JWKS = "jwks"
# COS storage classes (docs/tencent/cam-policy.md §2); uploads default to STANDARD.
STORAGE_CLASSES = (
    "STANDARD", "MAZ_STANDARD", "STANDARD_IA", "MAZ_STANDARD_IA", "INTELLIGENT_TIERING",
    "MAZ_INTELLIGENT_TIERING", "ARCHIVE", "DEEP_ARCHIVE",
)  # fmt: skip
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
# user:password@ in a URL: redacted from every configuration message.
_URL_CREDENTIALS = re.compile(r"(?<=//)[^/@\s]*@")


class ConfigError(Exception):
    """A configuration problem, naming the key. Credentials in a quoted URL are
    redacted: the message reaches the startup log and every request's log line."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {_URL_CREDENTIALS.sub('***@', problem)}")
        self.key = key


class GrantTemplate(NamedTuple):
    """Actions on one root template: ``users/{uid}/``, ``public/``, ..."""

    root: str
    actions: tuple[str, ...]

    @property
    def per_user(self) -> bool:
        return "{uid}" in self.root


class Profile(NamedTuple):
    name: str
    actions: tuple[str, ...]  # every action of every grant
    max_content_length: Optional[int] = None
    content_types: tuple[str, ...] = ()
    max_duration: Optional[int] = None
    bind_ip: bool = False
    # Empty: the actions on the user's root (prefix.template), the shorthand.
    grants: tuple[GrantTemplate, ...] = ()
    bucket: Optional[str] = None  # None: the config's bucket and region
    region: Optional[str] = None
    fresh_folder: bool = False  # each credential gets a new folder under the user's root
    ci_actions: tuple[str, ...] = ()  # Cloud Infinite actions on the user's root
    storage_classes: tuple[str, ...] = ("STANDARD",)  # what an upload may ask for


class AuthSettings(NamedTuple):
    algorithms: tuple[str, ...]
    issuer: Optional[str]
    audience: Optional[str]
    user_id_claim: str
    leeway: int
    max_token_bytes: int
    max_age: Optional[int]
    mode: str = HMAC  # or JWKS
    # How far in the future a token's exp may lie: a ten-year token is a leaked
    # credential for ten years. 30 days admits every common IdP's longest tokens.
    max_lifetime: int = 30 * 86400
    jwks_url: Optional[str] = None
    discovery: bool = False
    jwks_ttl: int = 600
    jwks_refetch_interval: int = 10
    jwks_timeout: float = 2.0


class RedisSettings(NamedTuple):
    """Shared state for all instances; on when STS_REDIS_URL is set (the URL and
    STS_CACHE_KEY are secrets: read from the environment by the service, never kept here)."""

    enabled: bool = False
    timeout: float = 0.1  # seconds per socket operation, and never past the deadline
    cooldown: float = 5.0  # seconds an instance leaves Redis alone after a failure
    key_prefix: str = "cos-sts:"


class Bucket(NamedTuple):
    rate: float  # tokens added per second
    burst: int  # the bucket's size: calls allowed at once


class RateLimitSettings(NamedTuple):
    """Token buckets in front of STS (see rate_limit.py); checked only before a call."""

    enabled: bool = True
    per_user: Bucket = Bucket(2.0, 120)
    overall: Bucket = Bucket(500.0, 500)


class StsSettings(NamedTuple):
    action: str  # GetFederationToken, or AssumeRole when STS_ROLE_ARN is set
    role_arn: Optional[str]
    endpoint: str
    region: str
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    base_delay: float
    max_delay: float
    deadline_margin: float
    default_time_limit: float
    # AssumeRole's ExternalId (STS_EXTERNAL_ID), sent only when set: the role's
    # trust policy may require it (a confused-deputy guard).
    external_id: Optional[str] = None


class Config(NamedTuple):
    bucket: str
    region: str
    appid: str
    path: str
    prefix_template: str
    user_id_pattern: re.Pattern
    max_user_id_length: int
    profiles: Mapping[str, Profile]
    default_profile: str
    default_duration: int
    min_duration: int
    max_duration: int
    auth: AuthSettings
    cors_origins: tuple[str, ...]
    cors_max_age: int
    max_body_bytes: int
    max_scope_entries: int
    max_policy_chars: int
    sts: StsSettings
    log_raw_user_id: bool
    cache_enabled: bool = True
    cache_max_entries: int = 1000
    cache_min_remaining: Optional[int] = None
    cache_shared: bool = True
    redis: RedisSettings = RedisSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    shared_roots: tuple[str, ...] = ()
    listing_on_bucket: bool = False
    trust_function_url_address: bool = False


class _Section:
    """Reads one mapping, remembering its key path for error messages."""

    def __init__(self, data: Any, path: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(path or "(top level)", "must be a mapping")
        self.data = dict(data)
        self.path = path
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def raw(self, name: str, default: Any = None) -> Any:
        self.used.add(name)
        value = self.data.get(name, default)
        return default if value is None else value

    def section(self, name: str) -> _Section:
        return _Section(self.raw(name), self.key(name))

    def string(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = self.raw(name, default)
        if value is not None and not isinstance(value, str):
            raise ConfigError(self.key(name), "must be a string")
        return value

    def integer(self, name: str, default: Optional[int], low: int, high: int) -> Optional[int]:
        value = self.raw(name, default)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(self.key(name), "must be an integer")
        if not low <= value <= high:
            raise ConfigError(self.key(name), f"must be between {low} and {high}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self.raw(name, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(self.key(name), "must be a number")
        if not low <= value <= high:
            raise ConfigError(self.key(name), f"must be between {low} and {high}")
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise ConfigError(self.key(name), "must be true or false")
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.raw(name, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(self.key(name), "must be a list of strings")
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(str(k) for k in self.data if k not in self.used)
        if unknown:
            raise ConfigError(self.key(unknown[0]), "unknown key (check the spelling)")


def _template(value: Optional[str], key: str) -> str:
    """The user's root template: {uid} exactly once (see _root_template)."""
    if value and value.count("{uid}") != 1:
        raise ConfigError(key, "must contain {uid} exactly once")
    return _root_template(value, key)


def _root_template(value: Optional[str], key: str) -> str:
    """A grant's root: {uid} at most once, {claim:NAME} segments, or neither (a shared
    area). Never the whole bucket (roots.check_template)."""
    try:
        return check_template(value or "")
    except TemplateError as error:
        raise ConfigError(key, str(error)) from None


def _actions(section: _Section, name: str) -> tuple[str, ...]:
    actions = section.strings(name)
    if not actions:
        raise ConfigError(section.key(name), "must list at least one action")
    for index, action in enumerate(actions):
        problem = action_problem(action)
        if problem:
            raise ConfigError(f"{section.key(name)}[{index}]", problem)
    return tuple(dict.fromkeys(actions))


def _grants(
    section: _Section, default_root: str, shared_roots: tuple[str, ...]
) -> tuple[GrantTemplate, ...]:
    """`grants: [{root, actions}]`, or the shorthand `actions:` on the user's root."""
    if "grants" in section.data:
        if "actions" in section.data:
            raise ConfigError(section.key("actions"), "use either actions or grants, not both")
        raw = section.raw("grants")
        if not isinstance(raw, list) or not raw:
            raise ConfigError(section.key("grants"), "must be a non-empty list of {root, actions}")
        grants = []
        for index, item in enumerate(raw):
            grant = _Section(item, f"{section.key('grants')}[{index}]")
            root = _root_template(grant.string("root", default_root), grant.key("root"))
            if "{uid}" not in root and root not in shared_roots:
                raise ConfigError(
                    grant.key("root"),
                    f"{root!r} has no {{uid}}: a shared area, which must be declared in "
                    "shared_roots",
                )
            grants.append(GrantTemplate(root, _actions(grant, "actions")))
            grant.done()
        return tuple(grants)
    return (GrantTemplate(default_root, _actions(section, "actions")),)


def _profile(
    name: str,
    section: _Section,
    duration_bounds: tuple[int, int],
    default_root: str,
    shared_roots: tuple[str, ...],
) -> Profile:
    if not PROFILE_NAME_RE.match(name):
        raise ConfigError(section.path, "profile names are 1-32 of a-z 0-9 _ - (lower case)")
    grants = _grants(section, default_root, shared_roots)
    actions = tuple(dict.fromkeys(a for grant in grants for a in grant.actions))
    max_length = section.integer("max_content_length", None, 1, 5 * 1024**4)
    if max_length is not None and not set(actions) & set(LENGTH_ACTIONS):
        raise ConfigError(
            section.key("max_content_length"), "no action in this profile sends a body it bounds"
        )
    content_types, storage_classes = _upload_pins(section, actions)
    max_duration = section.integer("max_duration", None, *duration_bounds)
    bind_ip = section.boolean("bind_ip", False)
    bucket = section.string("bucket")
    if bucket is not None and not BUCKET_RE.match(bucket):
        raise ConfigError(section.key("bucket"), f"{bucket!r} is not a COS bucket (name-APPID)")
    region = section.string("region")
    if region is not None and not REGION_RE.match(region):
        raise ConfigError(section.key("region"), "must be a COS region such as ap-guangzhou")
    if (bucket is None) != (region is None):
        raise ConfigError(
            section.key("region" if region is None else "bucket"),
            "a profile names its bucket and region together (or neither)",
        )
    fresh_folder = section.boolean("fresh_folder", False)
    if fresh_folder and not grants[0].per_user:
        raise ConfigError(
            section.key("fresh_folder"), "needs the first grant to be on the user's root ({uid})"
        )
    ci_actions = section.strings("ci_actions")
    for index, action in enumerate(ci_actions):
        if not CI_ACTION_RE.match(action):
            raise ConfigError(
                f"{section.key('ci_actions')}[{index}]",
                f"{action!r} is not an explicit Cloud Infinite action (name/ci:Action)",
            )
    if ci_actions and not grants[0].per_user:
        raise ConfigError(section.key("ci_actions"), "needs the first grant on the user's root")
    section.done()
    return Profile(
        name, actions, max_length, content_types, max_duration, bind_ip, grants, bucket,
        region, fresh_folder, tuple(dict.fromkeys(ci_actions)), storage_classes,
    )  # fmt: skip


def _upload_pins(
    section: _Section, actions: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The content types and storage classes a profile's uploads may use."""
    content_types = section.strings("content_types")
    for index, content_type in enumerate(content_types):
        if not CONTENT_TYPE_RE.match(content_type):
            raise ConfigError(
                f"{section.key('content_types')}[{index}]",
                f"{content_type!r} is not a lower-case media type (type/subtype or type/*)",
            )
    if content_types and not set(actions) & set(CREATE_ACTIONS):
        raise ConfigError(section.key("content_types"), "no action in this profile uploads")
    storage_classes = section.strings("storage_classes", ("STANDARD",))
    unknown = [c for c in storage_classes if c not in STORAGE_CLASSES]
    if not storage_classes or unknown:
        where = section.key("storage_classes")
        if unknown:
            where += f"[{storage_classes.index(unknown[0])}]"
        raise ConfigError(where, f"must list COS storage classes ({', '.join(STORAGE_CLASSES)})")
    return content_types, tuple(dict.fromkeys(storage_classes))


def _override(section: _Section, name: str, env: Mapping[str, str], variable: str) -> Optional[str]:
    """The file's value (always read, so it is never 'unknown'), overridden by env."""
    in_file = section.string(name)
    return env.get(variable) or in_file


def _prefix_settings(section: _Section) -> tuple[str, re.Pattern, int]:
    template = _template(section.string("template", "users/{uid}/"), section.key("template"))
    pattern_text = section.string("user_id_pattern", r"^[A-Za-z0-9_.@-]{1,128}$")
    try:
        pattern = re.compile(pattern_text or "")
    except re.error as exc:
        raise ConfigError(section.key("user_id_pattern"), f"is not a valid regex ({exc})") from None
    max_uid = section.integer("max_user_id_length", 128, 1, 128) or 128
    section.done()
    return template, pattern, max_uid


def _durations(section: _Section, sts_max: int) -> tuple[int, int, int]:
    minimum = section.integer("min", 900, 1, sts_max) or 1
    default = section.integer("default", 1800, 1, sts_max) or 1
    maximum = section.integer("max", 3600, 1, sts_max) or 1
    section.done()
    if not minimum <= default <= maximum:
        raise ConfigError("duration", "needs min <= default <= max")
    return minimum, default, maximum


def _profiles(
    section: _Section, bounds: tuple[int, int], template: str, shared_roots: tuple[str, ...]
) -> dict[str, Profile]:
    for name in section.data:
        if not isinstance(name, str):
            raise ConfigError(f"profiles.{name}", "profile names must be strings")
    profiles = {
        name: _profile(name, section.section(name), bounds, template, shared_roots)
        for name in section.data
    }
    if not profiles:
        raise ConfigError("profiles", "must define at least one profile")
    uses: list[tuple[str, str, str, tuple[str, ...]]] = [
        (template, "prefix.template", "prefix.template", ())
    ]
    for name, profile in profiles.items():
        for index, grant in enumerate(profile.grants):
            where = f"profiles.{name}.grants[{index}]"
            if "grants" not in section.data[name]:
                where = f"profiles.{name}"  # the shorthand: actions on the user's root
                uses.append((grant.root, f"{where}.actions", f"{where}.actions", grant.actions))
            else:
                uses.append((grant.root, f"{where}.root", f"{where}.actions", grant.actions))
    uses += [(root, f"shared_roots[{i}]", f"shared_roots[{i}]", ()) for i, root in
             enumerate(shared_roots)]  # fmt: skip
    problem = check_areas(collect_areas(uses))
    if problem is not None:
        raise ConfigError(*problem)
    return profiles


def _shared_roots(top: _Section) -> tuple[str, ...]:
    roots = top.strings("shared_roots")
    for index, root in enumerate(roots):
        key = f"shared_roots[{index}]"
        if "{uid}" in _root_template(root, key):
            raise ConfigError(key, "a shared area has no {uid} (a user's root is not shared)")
    return roots


def _origins(section: _Section) -> tuple[str, ...]:
    origins = section.strings("allowed_origins")
    for index, origin in enumerate(origins):
        if origin != "*" and not ORIGIN_RE.match(origin):
            raise ConfigError(
                f"{section.key('allowed_origins')}[{index}]",
                f"{origin!r} must be '*' or scheme://host[:port] without a path",
            )
    return origins


def parse_config(document: Any, env: Mapping[str, str]) -> Config:
    """Validate a parsed YAML document together with the environment."""
    top = _Section(document, "")
    bucket = _override(top, "bucket", env, "COS_BUCKET")
    if not bucket:
        raise ConfigError("bucket", "must be set (here or with COS_BUCKET)")
    bucket_match = BUCKET_RE.match(bucket)
    if not bucket_match:
        raise ConfigError("bucket", f"{bucket!r} is not a COS bucket name (name-APPID)")
    region = _override(top, "region", env, "COS_REGION")
    if not region or not REGION_RE.match(region):
        raise ConfigError("region", "must be a COS region such as ap-guangzhou (or COS_REGION)")
    path = top.string("path", "/sts") or "/sts"
    if path != "*" and not re.match(r"^/[A-Za-z0-9._~/-]*$", path):
        raise ConfigError("path", "must start with '/' (or be '*' to accept any path)")

    sts = _sts_settings(top.section("sts"), env)
    template, pattern, max_uid = _prefix_settings(top.section("prefix"))
    minimum, default, maximum = _durations(top.section("duration"), MAX_DURATION[sts.action])
    shared_roots = _shared_roots(top)
    profiles = _profiles(top.section("profiles"), (minimum, maximum), template, shared_roots)
    default_profile = top.string("default_profile", next(iter(profiles))) or ""
    if default_profile not in profiles:
        raise ConfigError("default_profile", f"names no profile ({default_profile!r})")
    auth = _auth_settings(top.section("auth"), env)
    cors = top.section("cors")
    origins = _origins(cors)
    cors_max_age = cors.integer("max_age", 600, 0, 86400) or 0
    cors.done()
    limits = top.section("limits")
    max_body = limits.integer("max_body_bytes", 16384, 64, 1 << 20) or 16384
    max_scopes = limits.integer("max_scope_entries", 20, 1, 100) or 20
    max_policy = limits.integer("max_policy_chars", 4096, 256, 6144) or 4096
    limits.done()
    logging_section = top.section("logging")
    raw_user_id = logging_section.boolean("raw_user_id", False)
    logging_section.done()
    cache = top.section("cache")
    cache_enabled = cache.boolean("enabled", True)
    cache_max = cache.integer("max_entries", 1000, 1, 100000) or 1000
    # Never under 5 minutes: client SDKs refresh 60 s before expiry.
    cache_min_remaining = cache.integer("min_remaining", None, 300, 129600)
    cache_shared = cache.boolean("shared", True)
    cache.done()
    redis = _redis_settings(top.section("redis"), env)
    rate_limit = _rate_limit_settings(top.section("rate_limit"))
    listing = top.section("listing")
    listing_on_bucket = listing.boolean("bucket_resource", False)
    listing.done()
    function_url = top.section("function_url")
    trust_address = function_url.boolean("trust_remote_addr", False)
    function_url.done()
    top.done()

    return Config(
        bucket=bucket,
        region=region,
        appid=bucket_match.group(1),
        path=path,
        prefix_template=template,
        user_id_pattern=pattern,
        max_user_id_length=max_uid,
        profiles=profiles,
        default_profile=default_profile,
        default_duration=default,
        min_duration=minimum,
        max_duration=maximum,
        auth=auth,
        cors_origins=origins,
        cors_max_age=cors_max_age,
        max_body_bytes=max_body,
        max_scope_entries=max_scopes,
        max_policy_chars=max_policy,
        sts=sts,
        log_raw_user_id=raw_user_id,
        cache_enabled=cache_enabled,
        cache_max_entries=cache_max,
        cache_min_remaining=cache_min_remaining,
        cache_shared=cache_shared,
        redis=redis,
        rate_limit=rate_limit,
        shared_roots=shared_roots,
        listing_on_bucket=listing_on_bucket,
        trust_function_url_address=trust_address,
    )


def check_redis_url(url: str) -> None:
    """redis:// or rediss:// with a host; the message never repeats the URL (it may
    hold a password)."""
    key = "STS_REDIS_URL"
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - raises ValueError for a malformed [IPv6] host
    except ValueError:
        raise ConfigError(key, "is not a valid URL: redis://[:password@]host[:port][/db]") from None
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigError(key, "must be a redis:// or rediss:// (TLS) URL")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(key, "has a port that is not a number from 0 to 65535") from None
    if not parts.hostname:
        raise ConfigError(key, "must name a host: redis://[:password@]host[:port][/db]")
    if parts.path.strip("/") and not parts.path.strip("/").isdigit():
        raise ConfigError(key, "may only have a database number as its path (/0)")
    if parts.fragment:
        raise ConfigError(key, "must not have a fragment")


def _redis_settings(section: _Section, env: Mapping[str, str]) -> RedisSettings:
    settings = RedisSettings(
        enabled=bool(env.get("STS_REDIS_URL")),
        timeout=section.number("timeout", 0.1, 0.005, 5),
        cooldown=section.number("cooldown", 5.0, 0, 300),
        key_prefix=section.string("key_prefix", "cos-sts:") or "",
    )
    section.done()
    if not KEY_PREFIX_RE.match(settings.key_prefix):
        raise ConfigError(
            section.key("key_prefix"), "must be at most 64 of A-Z a-z 0-9 : _ . / - (no braces)"
        )
    if settings.enabled:
        check_redis_url(env.get("STS_REDIS_URL") or "")
        secret = env.get("STS_CACHE_KEY") or ""
        if len(secret.encode("utf-8")) < MIN_CACHE_KEY_BYTES:
            raise ConfigError(
                "STS_CACHE_KEY",
                f"must be set to at least {MIN_CACHE_KEY_BYTES} random bytes when STS_REDIS_URL "
                "is set (for example: openssl rand -base64 32)",
            )
        if secret == env.get("STS_JWT_SECRET"):
            raise ConfigError("STS_CACHE_KEY", "must not be the same secret as STS_JWT_SECRET")
    return settings


def _bucket(section: _Section, rate: float, burst: int) -> Bucket:
    bucket = Bucket(
        rate=section.number("rate", rate, 0.001, 100000),
        burst=section.integer("burst", burst, 1, 1000000) or burst,
    )
    section.done()
    return bucket


def _rate_limit_settings(section: _Section) -> RateLimitSettings:
    defaults = RateLimitSettings()
    settings = RateLimitSettings(
        enabled=section.boolean("enabled", True),
        per_user=_bucket(section.section("per_user"), *defaults.per_user),
        overall=_bucket(section.section("global"), *defaults.overall),
    )
    section.done()
    return settings


def _sts_settings(section: _Section, env: Mapping[str, str]) -> StsSettings:
    role_arn = env.get("STS_ROLE_ARN") or None
    if role_arn is not None and not ROLE_ARN_RE.match(role_arn):
        raise ConfigError("STS_ROLE_ARN", "must look like qcs::cam::uin/<uin>:roleName/<name>")
    endpoint = _override(section, "endpoint", env, "STS_ENDPOINT")
    region = section.string("region", "ap-guangzhou")
    if not region or not REGION_RE.match(region):
        raise ConfigError(section.key("region"), "must be an STS region such as ap-guangzhou")
    external_id = env.get("STS_EXTERNAL_ID") or None
    if external_id is not None:
        if role_arn is None:
            raise ConfigError(
                "STS_EXTERNAL_ID", "is only sent with AssumeRole: set STS_ROLE_ARN as well"
            )
        if not EXTERNAL_ID_RE.match(external_id):
            raise ConfigError("STS_EXTERNAL_ID", "must be 2-128 of A-Z a-z 0-9 _ + = , . @ : / -")
    settings = StsSettings(
        action=ASSUME_ROLE if role_arn else GET_FEDERATION_TOKEN,
        role_arn=role_arn,
        endpoint=endpoint or DEFAULT_ENDPOINT,
        region=region,
        connect_timeout=section.number("connect_timeout", 1.0, 0.05, 30),
        read_timeout=section.number("read_timeout", 3.0, 0.05, 60),
        max_attempts=section.integer("max_attempts", 3, 1, 10) or 3,
        base_delay=section.number("base_delay", 0.1, 0, 10),
        max_delay=section.number("max_delay", 1.0, 0, 30),
        deadline_margin=section.number("deadline_margin", 0.3, 0, 10),
        default_time_limit=section.number("default_time_limit", 3.0, 0.1, 900),
        external_id=external_id,
    )
    section.done()
    where = "STS_ENDPOINT" if env.get("STS_ENDPOINT") else "sts.endpoint"
    try:
        parse_endpoint(settings.endpoint)
    except ValueError as exc:
        raise ConfigError(where, str(exc)) from None
    parts = urlsplit(settings.endpoint.strip())
    if parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS:
        # Plain HTTP would carry the signed request and the issued keys in clear text.
        raise ConfigError(where, "must be an https URL (plain http only for a loopback host)")
    return settings


def check_https_url(value: str, key: str) -> str:
    """https only (plain http just for a local test IdP)."""
    parts = urlsplit(value)
    local = parts.hostname in LOOPBACK_HOSTS
    if not parts.hostname or (parts.scheme != "https" and not (parts.scheme == "http" and local)):
        raise ConfigError(key, f"must be an https URL, got {value!r}")
    return value


def _auth_settings(section: _Section, env: Mapping[str, str]) -> AuthSettings:
    jwks_url = _override(section, "jwks_url", env, "STS_JWKS_URL")
    discovery = section.boolean("discovery", False)
    mode = JWKS if jwks_url or discovery else HMAC
    default_algorithms = ("RS256", "ES256") if mode == JWKS else ("HS256",)
    algorithms = section.strings("algorithms", default_algorithms)
    if not algorithms:
        raise ConfigError(section.key("algorithms"), "must list at least one algorithm")
    issuer = _override(section, "issuer", env, "STS_JWT_ISSUER")
    audience = _override(section, "audience", env, "STS_JWT_AUDIENCE")
    if mode == JWKS:
        _check_jwks(section, algorithms, issuer, audience, jwks_url, discovery)
    else:
        _check_hmac(section, algorithms, env)
    settings = AuthSettings(
        algorithms=algorithms,
        issuer=issuer,
        audience=audience,
        user_id_claim=section.string("user_id_claim", "sub") or "sub",
        leeway=section.integer("leeway", 30, 0, 300) or 0,
        max_token_bytes=section.integer("max_token_bytes", 8192, 256, 65536) or 8192,
        max_age=section.integer("max_age", None, 1, 30 * 86400),
        mode=mode,
        max_lifetime=section.integer("max_token_lifetime", 30 * 86400, 60, 366 * 86400)
        or 30 * 86400,
        jwks_url=jwks_url,
        discovery=discovery,
        jwks_ttl=section.integer("jwks_ttl", 600, 60, 86400) or 600,
        jwks_refetch_interval=section.integer("jwks_refetch_interval", 10, 1, 3600) or 10,
        jwks_timeout=section.number("jwks_timeout", 2.0, 0.1, 30),
    )
    section.done()
    return settings


def _check_hmac(section: _Section, algorithms: tuple[str, ...], env: Mapping[str, str]) -> None:
    for algorithm in algorithms:
        if algorithm in ASYMMETRIC_ALGORITHMS:
            raise ConfigError(
                section.key("algorithms"),
                f"{algorithm!r} needs a key set: set auth.jwks_url or STS_JWKS_URL",
            )
        if algorithm not in HS_ALGORITHMS:
            raise ConfigError(section.key("algorithms"), f"{algorithm!r} is not supported")
    secret = env.get("STS_JWT_SECRET") or ""
    needed = max(HS_ALGORITHMS[algorithm] for algorithm in algorithms)
    if len(secret.encode("utf-8")) < needed:
        raise ConfigError("STS_JWT_SECRET", f"must be set to at least {needed} random bytes")


def _check_jwks(
    section: _Section,
    algorithms: tuple[str, ...],
    issuer: Optional[str],
    audience: Optional[str],
    jwks_url: Optional[str],
    discovery: bool,
) -> None:
    for algorithm in algorithms:
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            raise ConfigError(
                section.key("algorithms"),
                f"{algorithm!r} cannot be used with a key set (algorithm confusion); "
                "use RS256/PS256/ES256 and relatives",
            )
    if not issuer:
        raise ConfigError(section.key("issuer"), "must be set with a key set (or STS_JWT_ISSUER)")
    if not audience:
        raise ConfigError(
            section.key("audience"), "must be set with a key set (or STS_JWT_AUDIENCE)"
        )
    if jwks_url and discovery:
        raise ConfigError(section.key("discovery"), "use either jwks_url or discovery, not both")
    if jwks_url:
        check_https_url(jwks_url, section.key("jwks_url"))
    else:
        check_https_url(issuer, section.key("issuer"))  # discovery is fetched from the issuer
    # Key-set deployments load cryptography at cold start anyway: check that PyJWT can
    # really use it (its compiled parts must match this Python), or fail closed now.
    from jwt.algorithms import has_crypto

    if not has_crypto:
        raise ConfigError(
            section.key("jwks_url"),
            "a key set needs a working cryptography package: build with `make package JWKS=1`",
        )


def _parse_yaml(raw: bytes, path: str) -> Any:
    import yaml  # only when no up-to-date compiled copy exists (see compile_config)

    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError("STS_CONFIG", f"{path} is not valid YAML{where}") from None


def compiled_path(path: str) -> str:
    return path + ".json"


def _compiled_document(path: str, raw: bytes) -> Any:
    """The compiled copy's document if it was made from exactly these bytes."""
    try:
        with open(compiled_path(path), encoding="utf-8") as handle:
            compiled = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(compiled, dict):
        return None
    if compiled.get("source_sha256") != hashlib.sha256(raw).hexdigest():
        return None  # config.yml was edited after packaging: parse it instead
    return compiled.get("document")


def compile_config(path: str) -> bool:
    """Write ``<path>.json`` so cold starts can skip importing and running PyYAML.

    Skipped (returns False) when the document would not survive JSON unchanged,
    e.g. a non-string key: validation must see exactly what YAML would give it.
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    document = _parse_yaml(raw, path)
    try:
        faithful = json.loads(json.dumps(document)) == document
    except (TypeError, ValueError):
        faithful = False
    if not faithful:
        return False
    compiled = {"source_sha256": hashlib.sha256(raw).hexdigest(), "document": document}
    with open(compiled_path(path), "w", encoding="utf-8") as handle:
        json.dump(compiled, handle, separators=(",", ":"), sort_keys=True)
    return True


def load_config(path: str, env: Mapping[str, str]) -> Config:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError("STS_CONFIG", f"cannot read {path} ({exc.strerror})") from None
    document = _compiled_document(path, raw)
    if document is None:
        document = _parse_yaml(raw, path)
    return parse_config(document, env)
