"""Configuration: one YAML file plus the environment, validated once per instance.

Validation is strict and fails closed: an unknown key, a wrong type or a value
that could widen a grant stops the function with a message naming the key.
Secrets never live in the file; only their presence is checked here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Optional
from urllib.parse import urlsplit

from .config_model import (
    DEFAULT_USER_ID_PATTERN,
    HMAC,
    JWKS,
    SIGNER_MARGIN,
    AuthSettings,
    Bucket,
    Config,
    GrantTemplate,
    Profile,
    QuotaSettings,
    RateLimitSettings,
    RedisSettings,
    StsSettings,
    TicketSettings,
    defaults,
)
from .config_section import ConfigError, Section
from .config_validation_login import login_settings, revocation_settings
from .cos_actions import (
    CI_ACTION_RE,
    CREATE_ACTIONS,
    LENGTH_ACTIONS,
    TICKET_ACTIONS,
    action_problem,
)
from .function_key import action_for
from .jwt_algorithms import ASYMMETRIC_ALGORITHMS, HS_ALGORITHMS, KEY_SET_ALGORITHMS
from .roots import TemplateError, check_areas, check_template, collect_areas
from .rotation import rotating_secrets
from .sts_client import MAX_DURATION, parse_endpoint
from .url_rules import https_or_loopback

DEFAULTS = defaults(Config)  # the top-level defaults: written once, in the model
PROFILE = defaults(Profile)

BUCKET_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?-(\d{5,12})$")
REGION_RE = re.compile(r"^[a-z]{2,}(?:-[a-z0-9]+)+$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,128}$")
PROFILE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
CONTENT_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/(?:\*|[a-z0-9][a-z0-9.+-]*)$")
ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?$")
# Exactly one role (docs/tencent/sts.md §3): by name, by ID, or a service role. A
# role name is 1-128 of letters, digits and +=,.@_- (as CAM names): no wildcard, no
# second ARN, no whitespace, so cam-policy can only ever grant AssumeRole on it.
ROLE_NAME = r"[A-Za-z0-9_+=,.@-]{1,128}"
ROLE_ARN_RE = re.compile(
    r"qcs::cam::uin/(?P<uin>[0-9]+):(?:roleName/" + ROLE_NAME + r"|role/[0-9]+"
    r"|role/tencentcloudServiceRole/[0-9]+|role/tencentcloudServiceRoleName/" + ROLE_NAME + r")"
)
# Every Redis key this function writes starts with the prefix; no braces (the rate
# limits' keys carry their own Redis Cluster hash tag) and no spaces.
KEY_PREFIX_RE = re.compile(r"^[A-Za-z0-9:_./-]{0,64}$")
MIN_CACHE_KEY_BYTES = 32
# COS storage classes (docs/tencent/cam-policy.md §2); uploads default to STANDARD.
STORAGE_CLASSES = (
    "STANDARD", "MAZ_STANDARD", "STANDARD_IA", "MAZ_STANDARD_IA", "INTELLIGENT_TIERING",
    "MAZ_INTELLIGENT_TIERING", "ARCHIVE", "DEEP_ARCHIVE",
)  # fmt: skip
EXTENSION_RE = re.compile(r"^[a-z0-9]{1,16}$")


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


def _actions(section: Section, name: str) -> tuple[str, ...]:
    actions = section.strings(name)
    if not actions:
        raise ConfigError(section.key(name), "must list at least one action")
    for index, action in enumerate(actions):
        problem = action_problem(action)
        if problem:
            raise ConfigError(f"{section.key(name)}[{index}]", problem)
    return tuple(dict.fromkeys(actions))


def _grants(
    section: Section, default_root: str, shared_roots: tuple[str, ...]
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
            grant = Section(item, f"{section.key('grants')}[{index}]")
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
    section: Section,
    duration_bounds: tuple[int, int],
    default_root: str,
    shared_roots: tuple[str, ...],
) -> Profile:
    if not PROFILE_NAME_RE.match(name):
        raise ConfigError(section.path, "profile names are 1-32 of a-z 0-9 _ - (lower case)")
    grants = _grants(section, default_root, shared_roots)
    actions = tuple(dict.fromkeys(a for grant in grants for a in grant.actions))
    max_length = section.optional_integer("max_content_length", 1, 5 * 1024**4)
    if max_length is not None and not set(actions) & set(LENGTH_ACTIONS):
        raise ConfigError(
            section.key("max_content_length"), "no action in this profile sends a body it bounds"
        )
    content_types, storage_classes = _upload_pins(section, actions)
    max_duration = section.optional_integer("max_duration", *duration_bounds)
    bind_ip = section.boolean("bind_ip", PROFILE.bind_ip)
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
    fresh_folder = section.boolean("fresh_folder", PROFILE.fresh_folder)
    if fresh_folder and not grants[0].per_user:
        raise ConfigError(
            section.key("fresh_folder"), "needs the first grant to be on the user's root ({uid})"
        )
    ci_actions = _matching(
        section,
        "ci_actions",
        CI_ACTION_RE,
        "is not an explicit Cloud Infinite action (name/ci:Action)",
    )
    if ci_actions and not grants[0].per_user:
        raise ConfigError(section.key("ci_actions"), "needs the first grant on the user's root")
    tickets = _tickets(section.section("tickets"), grants, max_length, content_types)
    # Tickets only: the function never hands this profile's keys out (a keys request is 403).
    tickets_only = section.boolean("tickets_only", PROFILE.tickets_only)
    if tickets_only and tickets is None:
        raise ConfigError(section.key("tickets_only"), "a ticket-only profile needs tickets")
    section.done()
    return Profile(
        name=name,
        actions=actions,
        max_content_length=max_length,
        content_types=content_types,
        max_duration=max_duration,
        bind_ip=bind_ip,
        grants=grants,
        bucket=bucket,
        region=region,
        fresh_folder=fresh_folder,
        ci_actions=tuple(dict.fromkeys(ci_actions)),
        storage_classes=storage_classes,
        tickets=tickets,
        tickets_only=tickets_only,
    )


def _tickets(
    section: Section,
    grants: tuple[GrantTemplate, ...],
    max_length: Optional[int],
    content_types: tuple[str, ...],
) -> Optional[TicketSettings]:
    """`profiles.<p>.tickets`: which tickets the profile hands out (sts_core/tickets.py)."""
    if not section.data:
        return None
    d = defaults(TicketSettings)
    methods = section.strings("methods")
    if not methods:
        raise ConfigError(section.key("methods"), "must list post, put and/or get")
    first = grants[0]
    for index, method in enumerate(methods):
        action = TICKET_ACTIONS.get(method)
        if action is None:
            raise ConfigError(f"{section.key('methods')}[{index}]", "must be post, put or get")
        if not first.per_user or action not in first.actions:
            raise ConfigError(
                f"{section.key('methods')}[{index}]",
                f"{method} tickets need {action} granted on the user's root (the first grant)",
            )
    if not first.fixed_part:
        # The function's signing key covers <fixed part>*: never the whole bucket.
        raise ConfigError(section.key("methods"), "tickets need a root with a fixed first segment")
    types = section.raw("types", {})
    if not isinstance(types, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in types.items()
    ):
        raise ConfigError(section.key("types"), "must map extensions to content types")
    for extension, content_type in types.items():
        if not EXTENSION_RE.match(extension):
            raise ConfigError(
                f"{section.key('types')}.{extension}", "is not an extension (a-z 0-9)"
            )
        if not CONTENT_TYPE_RE.match(content_type) or "*" in content_type:
            raise ConfigError(f"{section.key('types')}.{extension}", "must be an exact media type")
        if content_types and content_type not in content_types:
            raise ConfigError(
                f"{section.key('types')}.{extension}", "is not one of the profile's content_types"
            )
    if {"post", "put"} & set(methods) and not types:
        raise ConfigError(section.key("types"), "upload tickets need extension: type pairs")
    ceiling = max_length or 5 * 1024**3
    max_size = section.integer("max_size", min(d.max_size, ceiling), 1, ceiling)
    settings = TicketSettings(
        methods=tuple(dict.fromkeys(methods)),
        types=dict(types),
        max_size=max_size,
        min_size=section.integer("min_size", d.min_size, 0, max_size),
        ttl=section.integer("ttl", d.ttl, 30, 3600),
        caller_names=section.boolean("caller_names", d.caller_names),
    )
    section.done()
    return settings


def _matching(section: Section, name: str, pattern: re.Pattern, problem: str) -> tuple[str, ...]:
    """A list of strings, each matching `pattern`; the first that does not is named."""
    values = section.strings(name)
    for index, value in enumerate(values):
        if not pattern.match(value):
            raise ConfigError(f"{section.key(name)}[{index}]", f"{value!r} {problem}")
    return values


def _upload_pins(
    section: Section, actions: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The content types and storage classes a profile's uploads may use."""
    content_types = _matching(
        section, "content_types", CONTENT_TYPE_RE,
        "is not a lower-case media type (type/subtype or type/*)",
    )  # fmt: skip
    if content_types and not set(actions) & set(CREATE_ACTIONS):
        raise ConfigError(section.key("content_types"), "no action in this profile uploads")
    storage_classes = section.strings("storage_classes", PROFILE.storage_classes)
    unknown = [c for c in storage_classes if c not in STORAGE_CLASSES]
    if not storage_classes or unknown:
        where = section.key("storage_classes")
        if unknown:
            where += f"[{storage_classes.index(unknown[0])}]"
        raise ConfigError(where, f"must list COS storage classes ({', '.join(STORAGE_CLASSES)})")
    return content_types, tuple(dict.fromkeys(storage_classes))


def _prefix_settings(section: Section) -> tuple[str, re.Pattern, int]:
    template = _template(
        section.string("template", DEFAULTS.prefix_template), section.key("template")
    )
    pattern_text = section.string("user_id_pattern", DEFAULT_USER_ID_PATTERN)
    try:
        pattern = re.compile(pattern_text or "")
    except re.error as exc:
        raise ConfigError(section.key("user_id_pattern"), f"is not a valid regex ({exc})") from None
    max_uid = section.integer("max_user_id_length", DEFAULTS.max_user_id_length, 1, 128)
    section.done()
    return template, pattern, max_uid


def _durations(section: Section, sts_max: int) -> tuple[int, int, int]:
    minimum = section.integer("min", DEFAULTS.min_duration, 1, sts_max)
    default = section.integer("default", DEFAULTS.default_duration, 1, sts_max)
    maximum = section.integer("max", DEFAULTS.max_duration, 1, sts_max)
    section.done()
    if not minimum <= default <= maximum:
        raise ConfigError("duration", "needs min <= default <= max")
    return minimum, default, maximum


def _profiles(
    section: Section, bounds: tuple[int, int], template: str, shared_roots: tuple[str, ...]
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


def _shared_roots(top: Section) -> tuple[str, ...]:
    roots = top.strings("shared_roots")
    for index, root in enumerate(roots):
        key = f"shared_roots[{index}]"
        if "{uid}" in _root_template(root, key):
            raise ConfigError(key, "a shared area has no {uid} (a user's root is not shared)")
    return roots


def _cors_settings(section: Section) -> dict[str, Any]:
    """`cors`: the browser origins allowed, and how long a preflight is cached."""
    origins = section.strings("allowed_origins")
    for index, origin in enumerate(origins):
        if origin != "*" and not ORIGIN_RE.match(origin):
            raise ConfigError(
                f"{section.key('allowed_origins')}[{index}]",
                f"{origin!r} must be '*' or scheme://host[:port] without a path",
            )
    max_age = section.integer("max_age", DEFAULTS.cors_max_age, 0, 86400)
    section.done()
    return {"cors_origins": origins, "cors_max_age": max_age}


def _cache_settings(section: Section) -> dict[str, Any]:
    """`cache`: reuse of issued keys within an instance (and across, with Redis)."""
    settings = {
        "cache_enabled": section.boolean("enabled", DEFAULTS.cache_enabled),
        "cache_max_entries": section.integer("max_entries", DEFAULTS.cache_max_entries, 1, 100000),
        # Never under 5 minutes: client SDKs refresh 60 s before expiry.
        "cache_min_remaining": section.optional_integer("min_remaining", 300, 129600),
        "cache_shared": section.boolean("shared", DEFAULTS.cache_shared),
    }
    section.done()
    return settings


def _bucket_and_region(top: Section, env: Mapping[str, str]) -> tuple[str, str]:
    """The top-level `bucket` and `region` (or COS_BUCKET, COS_REGION)."""
    bucket = top.overridden("bucket", env)
    if not bucket:
        raise ConfigError("bucket", "must be set (here or with COS_BUCKET)")
    if not BUCKET_RE.match(bucket):
        raise ConfigError("bucket", f"{bucket!r} is not a COS bucket name (name-APPID)")
    region = top.overridden("region", env)
    if not region or not REGION_RE.match(region):
        raise ConfigError("region", "must be a COS region such as ap-guangzhou (or COS_REGION)")
    return bucket, region


def _path(top: Section) -> str:
    path = top.string("path", DEFAULTS.path) or ""
    if path != "*" and not re.match(r"^/[A-Za-z0-9._~/-]*$", path):
        raise ConfigError("path", "must start with '/' (or be '*' to accept any path)")
    return path


def parse_config(document: Any, env: Mapping[str, str]) -> Config:
    """Validate a parsed YAML document together with the environment: one reader per
    section, in the order a later one needs an earlier one's result."""
    top = Section(document, "")
    bucket, region = _bucket_and_region(top, env)
    path = _path(top)
    sts = _sts_settings(top.section("sts"), env)
    template, pattern, max_uid = _prefix_settings(top.section("prefix"))
    minimum, default, maximum = _durations(top.section("duration"), MAX_DURATION[sts.action])
    shared_roots = _shared_roots(top)
    profiles = _profiles(top.section("profiles"), (minimum, maximum), template, shared_roots)
    default_profile = top.string("default_profile", next(iter(profiles))) or ""
    if default_profile not in profiles:
        raise ConfigError("default_profile", f"names no profile ({default_profile!r})")
    auth = _auth_settings(top.section("auth"), env)
    cors = _cors_settings(top.section("cors"))
    max_body, max_scopes, max_policy = _limits(top.section("limits"))
    raw_user_id = _one_flag(top, "logging", "raw_user_id", DEFAULTS.log_raw_user_id)
    cache = _cache_settings(top.section("cache"))
    redis = _redis_settings(top.section("redis"), env)
    rate_limit = _rate_limit_settings(top.section("rate_limit"))
    listing_on_bucket = _one_flag(top, "listing", "bucket_resource", DEFAULTS.listing_on_bucket)
    deny_dot_segments = _one_flag(
        top, "object_keys", "deny_dot_segments", DEFAULTS.deny_dot_segments
    )
    cos_endpoint, signer_duration = _ticket_settings(top.section("tickets"), maximum)
    _check_ticket_ttls(profiles, signer_duration)
    trust_address = _one_flag(
        top, "function_url", "trust_remote_addr", DEFAULTS.trust_function_url_address
    )
    login = login_settings(top.section("login"), env, template)
    revocation = revocation_settings(top.section("revocation"), pattern, max_uid)
    quota, webhook, keys_encoded = _upload_settings(top, redis, env)
    top.done()

    return Config(
        bucket=bucket,
        region=region,
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
        **cors,
        max_body_bytes=max_body,
        max_scope_entries=max_scopes,
        max_policy_chars=max_policy,
        sts=sts,
        log_raw_user_id=raw_user_id,
        **cache,
        redis=redis,
        rate_limit=rate_limit,
        shared_roots=shared_roots,
        listing_on_bucket=listing_on_bucket,
        deny_dot_segments=deny_dot_segments,
        trust_function_url_address=trust_address,
        cos_endpoint=cos_endpoint,
        ticket_signer_duration=signer_duration,
        login=login,
        revocation=revocation,
        quota=quota,
        webhook=webhook,
        event_keys_encoded=keys_encoded,
    )


def _one_flag(top: Section, name: str, key: str, default: bool) -> bool:
    """A section that holds a single switch (and nothing else)."""
    section = top.section(name)
    value = section.boolean(key, default)
    section.done()
    return value


def _upload_settings(
    top: Section, redis: RedisSettings, env: Mapping[str, str]
) -> tuple[Optional[QuotaSettings], bool, bool]:
    """What COS events drive: the quota, the webhook, how event keys are read."""
    keys_encoded = _one_flag(top, "events", "decode_keys", DEFAULTS.event_keys_encoded)
    return _quota_settings(top.section("quota"), redis), _webhook_settings(env), keys_encoded


def _quota_settings(section: Section, redis: RedisSettings) -> Optional[QuotaSettings]:
    """`quota: {bytes, files}` per user, counted from COS events in Redis."""
    if not section.data:
        section.done()
        return None
    quota = QuotaSettings(
        bytes=section.optional_integer("bytes", 1, 1 << 50),
        files=section.optional_integer("files", 1, 1 << 40),
    )
    section.done()
    if quota.bytes is None and quota.files is None:
        raise ConfigError(section.path, "must set bytes and/or files")
    if not redis.enabled:
        raise ConfigError(
            section.path, "usage is kept in Redis: set STS_REDIS_URL (and STS_CACHE_KEY)"
        )
    return quota


def _webhook_settings(env: Mapping[str, str]) -> bool:
    """STS_WEBHOOK_URL and STS_WEBHOOK_SECRET, together or neither (never echoed)."""
    url, secret = env.get("STS_WEBHOOK_URL") or "", env.get("STS_WEBHOOK_SECRET") or ""
    if not url and not secret:
        return False
    if not url:
        raise ConfigError("STS_WEBHOOK_URL", "must be set with STS_WEBHOOK_SECRET")
    if not secret:
        raise ConfigError("STS_WEBHOOK_SECRET", "must be set with STS_WEBHOOK_URL (whsec_...)")
    if not https_or_loopback(url):
        raise ConfigError("STS_WEBHOOK_URL", "must be an https URL (plain http only for loopback)")
    from .webhook import secret_bytes  # only when a webhook is configured

    try:
        secret_bytes(secret)
    except ValueError as error:
        raise ConfigError("STS_WEBHOOK_SECRET", str(error)) from None
    if secret in (env.get("STS_JWT_SECRET"), env.get("STS_CACHE_KEY")):
        raise ConfigError("STS_WEBHOOK_SECRET", "must be its own secret, not another one reused")
    return True


def _limits(section: Section) -> tuple[int, int, int]:
    limits = (
        section.integer("max_body_bytes", DEFAULTS.max_body_bytes, 64, 1 << 20),
        section.integer("max_scope_entries", DEFAULTS.max_scope_entries, 1, 100),
        section.integer("max_policy_chars", DEFAULTS.max_policy_chars, 256, 6144),
    )
    section.done()
    return limits


def _ticket_settings(section: Section, max_duration: int) -> tuple[str, int]:
    """`tickets`: where tickets send clients, and the signing key's lifetime."""
    endpoint = section.string("cos_endpoint", DEFAULTS.cos_endpoint) or ""
    example = endpoint.replace("{bucket}", "b").replace("{region}", "r")
    parts = urlsplit(example)
    # Nothing but scheme and host: a path, query or fragment would change the signed
    # request, and userinfo (`...myqcloud.com@evil.example`) hides the real host.
    if (
        "{bucket}" not in endpoint
        or parts.path not in ("", "/")
        or any(c in endpoint for c in "?#@\\")
    ):
        raise ConfigError(
            section.key("cos_endpoint"),
            "must be scheme://host with {bucket} (and {region}): no user, path, query or #",
        )
    if not https_or_loopback(example):
        raise ConfigError(section.key("cos_endpoint"), "must be https (http only for loopback)")
    duration = section.integer("signer_duration", DEFAULTS.ticket_signer_duration, 900,
                               max(900, max_duration))  # fmt: skip
    section.done()
    return endpoint.rstrip("/"), duration


def _check_ticket_ttls(profiles: Mapping[str, Profile], signer_duration: int) -> None:
    """A ticket must fit in a fresh signing key with the margin to spare, or every
    ticket would cost an STS call (ticket_signing_key.py reuses a key only while it can)."""
    for name, profile in profiles.items():
        if profile.tickets is not None and profile.tickets.ttl >= signer_duration - SIGNER_MARGIN:
            raise ConfigError(
                f"profiles.{name}.tickets.ttl",
                f"must be below tickets.signer_duration ({signer_duration}) minus the signing "
                f"key's {SIGNER_MARGIN} s refresh margin",
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


def _redis_settings(section: Section, env: Mapping[str, str]) -> RedisSettings:
    d = defaults(RedisSettings)
    settings = RedisSettings(
        enabled=bool(env.get("STS_REDIS_URL")),
        timeout=section.number("timeout", d.timeout, 0.005, 5),
        cooldown=section.number("cooldown", d.cooldown, 0, 300),
        key_prefix=section.string("key_prefix", d.key_prefix) or "",
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


def _bucket(section: Section, rate: float, burst: int) -> Bucket:
    bucket = Bucket(
        rate=section.number("rate", rate, 0.001, 100000),
        burst=section.integer("burst", burst, 1, 1000000),
    )
    section.done()
    return bucket


def _rate_limit_settings(section: Section) -> RateLimitSettings:
    d = defaults(RateLimitSettings)
    settings = RateLimitSettings(
        enabled=section.boolean("enabled", d.enabled),
        per_user=_bucket(section.section("per_user"), *d.per_user),
        overall=_bucket(section.section("global"), *d.overall),
    )
    section.done()
    return settings


def _sts_settings(section: Section, env: Mapping[str, str]) -> StsSettings:
    d = defaults(StsSettings)
    role_arn = env.get("STS_ROLE_ARN") or None
    problem = role_arn_problem(role_arn) if role_arn is not None else None
    if problem:
        raise ConfigError("STS_ROLE_ARN", problem)
    endpoint = section.overridden("endpoint", env)
    region = section.string("region", d.region)
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
        action=action_for(env),
        role_arn=role_arn,
        endpoint=endpoint or d.endpoint,
        region=region,
        connect_timeout=section.number("connect_timeout", d.connect_timeout, 0.05, 30),
        read_timeout=section.number("read_timeout", d.read_timeout, 0.05, 60),
        max_attempts=section.integer("max_attempts", d.max_attempts, 1, 10),
        base_delay=section.number("base_delay", d.base_delay, 0, 10),
        max_delay=section.number("max_delay", d.max_delay, 0, 30),
        deadline_margin=section.number("deadline_margin", d.deadline_margin, 0, 10),
        default_time_limit=section.number("default_time_limit", d.default_time_limit, 0.1, 900),
        external_id=external_id,
    )
    section.done()
    where = "STS_ENDPOINT" if env.get("STS_ENDPOINT") else "sts.endpoint"
    try:
        parse_endpoint(settings.endpoint)
    except ValueError as exc:
        raise ConfigError(where, str(exc)) from None
    if not https_or_loopback(settings.endpoint.strip()):
        # Plain HTTP would carry the signed request and the issued keys in clear text.
        raise ConfigError(where, "must be an https URL (plain http only for a loopback host)")
    return settings


def role_arn_problem(value: str) -> Optional[str]:
    """What is wrong with an STS_ROLE_ARN value, or None for exactly one role."""
    if ROLE_ARN_RE.fullmatch(value):
        return None
    if value != value.strip() or any(c.isspace() for c in value):
        return "has whitespace (a trailing space or line break?): give the ARN alone"
    if "*" in value or "?" in value:
        return "names roles with a wildcard: AssumeRole takes exactly one role"
    if value.count("qcs::") > 1:
        return "names several roles: AssumeRole takes exactly one"
    return (
        "must name one role, as qcs::cam::uin/<uin>:roleName/<name> (letters, digits and "
        "+=,.@_-) or qcs::cam::uin/<uin>:role/<role ID>"
    )


def _check_https_url(value: str, key: str) -> None:
    """https only (plain http just for a local test IdP)."""
    if not https_or_loopback(value):
        raise ConfigError(key, f"must be an https URL, got {value!r}")


def _auth_settings(section: Section, env: Mapping[str, str]) -> AuthSettings:
    d = defaults(AuthSettings)
    jwks_url = section.overridden("jwks_url", env)
    discovery = section.boolean("discovery", d.discovery)
    mode = JWKS if jwks_url or discovery else HMAC
    default_algorithms = KEY_SET_ALGORITHMS if mode == JWKS else d.algorithms
    algorithms = section.strings("algorithms", default_algorithms)
    if not algorithms:
        raise ConfigError(section.key("algorithms"), "must list at least one algorithm")
    issuer = section.overridden("issuer", env)
    audience = section.overridden("audience", env)
    if mode == JWKS:
        _check_jwks(section, algorithms, issuer, audience, jwks_url, discovery)
    else:
        _check_hmac(section, algorithms, env)
    settings = AuthSettings(
        algorithms=algorithms,
        issuer=issuer,
        audience=audience,
        user_id_claim=section.string("user_id_claim", d.user_id_claim) or "",
        leeway=section.integer("leeway", d.leeway, 0, 300),
        max_token_bytes=section.integer("max_token_bytes", d.max_token_bytes, 256, 65536),
        max_age=section.optional_integer("max_age", 1, 30 * 86400),
        mode=mode,
        max_lifetime=section.integer("max_token_lifetime", d.max_lifetime, 60, 366 * 86400),
        jwks_url=jwks_url,
        discovery=discovery,
        jwks_ttl=section.integer("jwks_ttl", d.jwks_ttl, 60, 86400),
        jwks_refetch_interval=section.integer(
            "jwks_refetch_interval", d.jwks_refetch_interval, 1, 3600
        ),
        jwks_timeout=section.number("jwks_timeout", d.jwks_timeout, 0.1, 30),
    )
    section.done()
    return settings


def _algorithm_problem(algorithm: str, key_set: bool) -> Optional[str]:
    """What is wrong with listing `algorithm` for this way of checking tokens, or None."""
    if algorithm in (ASYMMETRIC_ALGORITHMS if key_set else HS_ALGORITHMS):
        return None
    if str(algorithm).lower() == "none":
        return "'none' would accept unsigned tokens: it is never allowed"
    if algorithm in HS_ALGORITHMS:
        return (
            f"{algorithm!r} is a shared-secret (HMAC) algorithm: with a key set it would be "
            "checked against a public key anyone can read (algorithm confusion); list "
            "public-key algorithms such as RS256, ES256 or EdDSA"
        )
    if algorithm in ASYMMETRIC_ALGORITHMS:
        return f"{algorithm!r} needs a key set: set auth.jwks_url or STS_JWKS_URL"
    supported = ASYMMETRIC_ALGORITHMS if key_set else tuple(HS_ALGORITHMS)
    return f"{algorithm!r} is not an algorithm this function verifies; use one of " + (
        ", ".join(supported)
    )


def _check_hmac(section: Section, algorithms: tuple[str, ...], env: Mapping[str, str]) -> None:
    for algorithm in algorithms:
        problem = _algorithm_problem(algorithm, key_set=False)
        if problem:
            raise ConfigError(section.key("algorithms"), problem)
    needed = max(HS_ALGORITHMS[algorithm] for algorithm in algorithms)
    secrets = rotating_secrets(env, "STS_JWT_SECRET") or ("",)
    for index, secret in enumerate(secrets):  # the current one, then any still accepted
        name = "STS_JWT_SECRET" if index == 0 else "STS_JWT_SECRET_PREVIOUS"
        if len(secret.encode("utf-8")) < needed:
            raise ConfigError(name, f"must be set to at least {needed} random bytes")


def _check_jwks(
    section: Section,
    algorithms: tuple[str, ...],
    issuer: Optional[str],
    audience: Optional[str],
    jwks_url: Optional[str],
    discovery: bool,
) -> None:
    for algorithm in algorithms:
        problem = _algorithm_problem(algorithm, key_set=True)
        if problem:
            raise ConfigError(section.key("algorithms"), problem)
    if not issuer:
        raise ConfigError(section.key("issuer"), "must be set with a key set (or STS_JWT_ISSUER)")
    if not audience:
        raise ConfigError(
            section.key("audience"), "must be set with a key set (or STS_JWT_AUDIENCE)"
        )
    if jwks_url and discovery:
        raise ConfigError(section.key("discovery"), "use either jwks_url or discovery, not both")
    if jwks_url:
        _check_https_url(jwks_url, section.key("jwks_url"))
    else:
        _check_https_url(issuer, section.key("issuer"))  # discovery is fetched from the issuer
    # Key-set deployments load cryptography at cold start anyway: check that PyJWT can
    # really use it (its compiled parts must match this Python), or fail closed now.
    from jwt.algorithms import has_crypto

    if not has_crypto:
        raise ConfigError(
            section.key("jwks_url"),
            "a key set needs a working cryptography package: build with `make package JWKS=1`",
        )
