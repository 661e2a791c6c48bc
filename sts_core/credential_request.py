"""What the app asked for: profile, scope and lifetime, parsed from the JSON body.

The body is a JSON object, or a bare array as shorthand for ``{"scope": [...]}``
(what the Android SDK's scope credential provider sends). An empty body means all
defaults. Unknown fields are refused so a typo fails loudly instead of silently
getting the default grant.

The profile may also come from the URL (``/sts?profile=download``), for clients
whose body is fixed (a bare scope array names no profile); a profile the body
names wins. A repeated or unknown profile is refused (400); other parameters are
ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional

from .config_model import Config, Profile
from .cos_actions import LISTING_ACTIONS
from .errors import BadRequest
from .policy import ScopeEntry
from .tickets import TicketRequest, parse_ticket

FIELDS = ("profile", "scope", "durationSeconds", "ticket")
SCOPE_FIELDS = ("action", "prefix", "bucket", "region")


class CredentialRequest(NamedTuple):
    profile: Profile
    duration: int
    scope: Optional[tuple[ScopeEntry, ...]]
    ticket: Optional[TicketRequest] = None  # one signed request instead of keys


def _document(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("invalid_body", "the body must be JSON (or empty)") from None
    except RecursionError:  # [[[[...]]]]: the body limit still admits thousands of levels
        raise BadRequest("invalid_body", "the body is nested too deeply") from None


def _is_text(value: Any) -> bool:
    """A JSON string that is real Unicode text: JSON's "\ud800" escapes decode to lone
    surrogates, which no key, log line or response could carry."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scope(value: Any, limit: int) -> tuple[ScopeEntry, ...]:
    if not isinstance(value, list):
        raise BadRequest("invalid_field", "scope must be a list of {action, prefix}")
    if not value:
        raise BadRequest("invalid_field", "scope must not be empty (omit it for the whole profile)")
    if len(value) > limit:
        raise BadRequest("too_many_scopes", f"scope may list at most {limit} entries")
    entries = []
    for index, raw in enumerate(value):
        where = f"scope[{index}]"
        if not isinstance(raw, Mapping):
            raise BadRequest("invalid_field", f"{where} must be an object")
        unknown = sorted(str(k) for k in raw if k not in SCOPE_FIELDS)
        if unknown:
            raise BadRequest("invalid_field", f"{where} has an unknown field {unknown[0][:64]!r}")
        item = dict(raw)
        if "prefix" not in item and item.get("action") in LISTING_ACTIONS:
            # Android drops a listing's absent prefix: a listing of the whole bucket,
            # which check_scope refuses (403) rather than a malformed body (400).
            item["prefix"] = ""
        for name in SCOPE_FIELDS:
            field_value = item.get(name)
            required = name in ("action", "prefix")
            if (required or field_value is not None) and not _is_text(field_value):
                raise BadRequest("invalid_field", f"{where}.{name} must be a string")
        entries.append(
            ScopeEntry(item["action"], item["prefix"], item.get("bucket"), item.get("region"))
        )
    return tuple(entries)


def _query_profile(query: Mapping[str, tuple[str, ...]]) -> Optional[str]:
    # Other parameters are left alone: gateways and clients add their own (cache
    # busters, the published samples' ?foo=bar); only `profile` means something here.
    values = query.get("profile", ())
    if len(values) > 1:
        raise BadRequest("invalid_field", "the profile query parameter is repeated")
    return values[0] if values else None


def parse_credential_request(
    body: bytes, config: Config, query: Optional[Mapping[str, tuple[str, ...]]] = None
) -> CredentialRequest:
    in_url = _query_profile(query or {})
    document = _document(body)
    if isinstance(document, list):
        document = {"scope": document}
    if not isinstance(document, Mapping):
        raise BadRequest("invalid_body", "the body must be a JSON object or a scope array")
    unknown = sorted(str(k) for k in document if k not in FIELDS)
    if unknown:
        raise BadRequest(
            "invalid_field", f"unknown field {unknown[0][:64]!r} (expected {', '.join(FIELDS)})"
        )

    name = document.get("profile", in_url if in_url is not None else config.default_profile)
    if not _is_text(name):
        raise BadRequest("invalid_field", "profile must be a string")
    profile = config.profiles.get(name)
    if profile is None:
        raise BadRequest(
            "unknown_profile",
            f"there is no profile named {name[:64]!r} (profiles: {', '.join(config.profiles)})",
        )

    maximum = profile.max_duration or config.max_duration
    duration = document.get("durationSeconds", min(config.default_duration, maximum))
    if not isinstance(duration, int) or isinstance(duration, bool):
        raise BadRequest("invalid_field", "durationSeconds must be an integer")
    if not config.min_duration <= duration <= maximum:
        raise BadRequest(
            "invalid_duration",
            f"durationSeconds must be between {config.min_duration} and {maximum}",
        )

    if "ticket" in document:
        if "scope" in document or "durationSeconds" in document:
            raise BadRequest("invalid_field", "a ticket request takes no scope or durationSeconds")
        return CredentialRequest(profile, duration, None, parse_ticket(document["ticket"]))
    scope = document.get("scope")
    entries = None if scope is None else _scope(scope, config.max_scope_entries)
    return CredentialRequest(profile, duration, entries)
