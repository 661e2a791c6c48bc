"""The validated configuration as typed values, each default written once, here.

`config_validation.py` builds these from the YAML document and the environment; nothing
else constructs them (tests aside). The parsers read their defaults from these
classes (`defaults(AuthSettings).leeway`), so a default cannot drift between
the model and the validator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, NamedTuple, Optional

from .cam_resources import Location, appid_of
from .sts_client import DEFAULT_ENDPOINT, DEFAULT_REGION, GET_FEDERATION_TOKEN

HMAC = "hmac"
JWKS = "jwks"
DEFAULT_USER_ID_PATTERN = r"^[A-Za-z0-9_.@-]{1,128}$"


def defaults(model: type) -> Any:
    """A settings class's defaults as attributes (`defaults(Config).path`): the one way
    the validator reads a default, even for classes with required fields."""
    return SimpleNamespace(**model._field_defaults)  # type: ignore[attr-defined]


class GrantTemplate(NamedTuple):
    """Actions on one root template: ``users/{uid}/``, ``public/``, ..."""

    root: str
    actions: tuple[str, ...]

    @property
    def per_user(self) -> bool:
        return "{uid}" in self.root

    @property
    def fixed_part(self) -> str:
        return fixed_part_of(self.root)


def fixed_part_of(root: str) -> str:
    """The literal start of a root template, before any placeholder: what every
    rendered root begins with (``users/{uid}/`` -> ``users/``)."""
    return root.split("{", 1)[0]


SIGNER_MARGIN = 60  # seconds the tickets' signing key must outlive the longest ticket


class TicketSettings(NamedTuple):
    """Upload and download tickets for a profile (sts_core/tickets.py): one
    server-signed COS request each, for a key the function chooses."""

    methods: tuple[str, ...]  # of "post" (a form), "put", "get" (a presigned download)
    # extension -> content type: what an uploaded object may be; the key ends with it
    types: Mapping[str, str] = {}
    max_size: int = 20 * 1024 * 1024
    min_size: int = 1
    ttl: int = 300  # seconds a ticket lives (at most the signer key's remaining life)
    caller_names: bool = False  # PUT and GET may name the key inside the root


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
    tickets: Optional[TicketSettings] = None
    tickets_only: bool = False  # no keys leave the function: a keys request is 403


class AuthSettings(NamedTuple):
    algorithms: tuple[str, ...] = ("HS256",)  # with a key set: ("RS256", "ES256")
    issuer: Optional[str] = None
    audience: Optional[str] = None
    user_id_claim: str = "sub"
    leeway: int = 30
    max_token_bytes: int = 8192
    max_age: Optional[int] = None
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


class QuotaSettings(NamedTuple):
    """`quota`: caps on each user's own root, counted from COS events (quota.py);
    None: no cap of that kind."""

    bytes: Optional[int] = None
    files: Optional[int] = None


class Bucket(NamedTuple):
    rate: float  # tokens added per second
    burst: int  # the bucket's size: calls allowed at once


class RateLimitSettings(NamedTuple):
    """Token buckets in front of STS (see rate_limit.py); checked only before a call."""

    enabled: bool = True
    per_user: Bucket = Bucket(2.0, 120)
    overall: Bucket = Bucket(500.0, 500)


WECHAT = "wechat"
QQ = "qq"
LOGIN_PROVIDERS = (WECHAT, QQ)


class LoginSettings(NamedTuple):
    """Sign-in for mini programs (sts_core/login.py): a wx.login / qq.login code in,
    the function's own session token out. Off while `providers` is empty."""

    providers: tuple[str, ...] = ()  # of LOGIN_PROVIDERS
    user_id: str = "openid"  # or "unionid" (refused with 403 when the platform sends none)
    session_ttl: int = 7200  # seconds a session token lives; the app signs in again after
    timeout: float = 2.0  # seconds per jscode2session attempt, never past the deadline
    wechat_endpoint: str = "https://api.weixin.qq.com/sns/jscode2session"
    qq_endpoint: str = "https://api.q.qq.com/sns/jscode2session"
    per_address: Bucket = Bucket(0.2, 10)  # sign-in attempts per client address
    overall: Bucket = Bucket(50.0, 200)  # all sign-ins: the app's WeChat quota is shared


class RevocationSettings(NamedTuple):
    """Users refused at once (sts_core/revocation.py): from the config, and with Redis
    from the list `python -m sts_tools revoke` writes."""

    users: tuple[str, ...] = ()  # refused outright
    not_before: Mapping[str, int] = {}  # user -> Unix time: tokens issued earlier refused
    refresh: int = 30  # seconds an instance keeps Redis's list before reading it again


class StsSettings(NamedTuple):
    action: str = GET_FEDERATION_TOKEN  # or AssumeRole when STS_ROLE_ARN is set
    role_arn: Optional[str] = None
    endpoint: str = DEFAULT_ENDPOINT
    region: str = DEFAULT_REGION
    connect_timeout: float = 1.0
    read_timeout: float = 3.0
    max_attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 1.0
    deadline_margin: float = 0.3  # seconds kept back from SCF's time limit
    default_time_limit: float = 3.0  # when the context has no time_limit_in_ms
    # AssumeRole's ExternalId (STS_EXTERNAL_ID), sent only when set: the role's
    # trust policy may require it (a confused-deputy guard).
    external_id: Optional[str] = None


class Config(NamedTuple):
    bucket: str
    region: str
    profiles: Mapping[str, Profile]
    default_profile: str
    auth: AuthSettings
    sts: StsSettings
    path: str = "/sts"
    prefix_template: str = "users/{uid}/"
    user_id_pattern: re.Pattern = re.compile(DEFAULT_USER_ID_PATTERN)
    max_user_id_length: int = 128
    default_duration: int = 1800
    min_duration: int = 900
    max_duration: int = 3600
    cors_origins: tuple[str, ...] = ()
    cors_max_age: int = 600
    max_body_bytes: int = 16384
    max_scope_entries: int = 20
    max_policy_chars: int = 4096
    log_raw_user_id: bool = False
    cache_enabled: bool = True
    cache_max_entries: int = 1000
    cache_min_remaining: Optional[int] = None  # None: half the duration, never under 300
    cache_shared: bool = True
    redis: RedisSettings = RedisSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    shared_roots: tuple[str, ...] = ()
    listing_on_bucket: bool = False
    deny_dot_segments: bool = False  # a deny for keys COS might collapse elsewhere
    trust_function_url_address: bool = False
    # Where tickets send clients; {bucket} and {region} are filled in.
    cos_endpoint: str = "https://{bucket}.cos.{region}.myqcloud.com"
    ticket_signer_duration: int = 3600  # seconds the function's own signing key lives
    login: LoginSettings = LoginSettings()
    revocation: RevocationSettings = RevocationSettings()
    quota: Optional[QuotaSettings] = None  # needs STS_REDIS_URL
    webhook: bool = False  # STS_WEBHOOK_URL and STS_WEBHOOK_SECRET are set (read by the service)
    # COS events carry object keys percent-encoded (decoded once); a switch because the
    # encoding is unverified (docs/uploads.md).
    event_keys_encoded: bool = True

    @property
    def appid(self) -> str:
        """The APPID of the config's bucket."""
        return appid_of(self.bucket)

    def location(self, profile: Profile) -> Location:
        """Where `profile`'s grants land: its own bucket and region, else the config's."""
        return Location(profile.bucket or self.bucket, profile.region or self.region)
