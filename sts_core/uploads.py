"""A COS event, top to bottom: each record read, placed, attributed, counted,
reported, logged. Loaded only when an event arrives (handler.py).

For each record (cos_events.py): the object must be in a configured bucket and
inside a declared root (roots.owner_of, the rules that render roots), else it is
ignored and logged. Then who uploaded it:

- a user's temporary key: the event's ``q-ak`` is a key the function issued to
  that user (key_owners.py);
- an upload ticket: the ticket id signed into the object's metadata, trusted only
  when no user's key signed the request (a key holder could set that header on
  their own upload; they cannot make their key someone else's).

Then the owner's usage (quota.py, idempotent), then the webhook (webhook.py). A
Redis failure or a failed delivery fails the invocation after every record was
tried, so SCF retries it: everything above is safe to repeat, and the webhook-id
repeats with the event.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Optional, Union

from .access_log import log_event
from .config_model import Config
from .config_section import ConfigError
from .cos_events import BadRecord, ObjectEvent, is_cos_event, parse_record
from .roots import Owner, owner_of
from .service import Service
from .user_digest import user_digest
from .user_prefix import check_user_id
from .utc_time import iso8601

TYPES = {"created": "object.created", "removed": "object.removed"}
DEFAULT_TIME_LIMIT = 3.0


class EventFailed(Exception):
    """Some records could not be counted or reported: SCF retries the event."""


def declared_roots(config: Config) -> tuple[str, ...]:
    """Every root template the config declares: the user's, each grant's, each shared area."""
    roots = [config.prefix_template, *config.shared_roots]
    roots += [grant.root for profile in config.profiles.values() for grant in profile.grants]
    return tuple(dict.fromkeys(roots))


def buckets(config: Config) -> set[str]:
    return {config.bucket} | {p.bucket for p in config.profiles.values() if p.bucket}


def handle_cos_event(
    service: Union[Service, ConfigError], event: Any, context: Mapping[str, Any]
) -> dict[str, Any]:
    started = time.monotonic()
    if not isinstance(service, Service):
        raise EventFailed(f"the function is misconfigured: {service}")  # retried once fixed
    if not is_cos_event(event):
        log_event("cos-event", outcome="not_cos_event")
        return {"handled": 0, "ignored": 0}
    limit = context.get("time_limit_in_ms")
    seconds = float(limit) / 1000 if isinstance(limit, (int, float)) else DEFAULT_TIME_LIMIT
    deadline = started + seconds - service.config.sts.deadline_margin
    # Every record (only COS can send one): Redis calls and the webhook are bounded by
    # the deadline, and a record that runs out of time fails the event, to be retried.
    results = [handle_record(service, record, deadline) for record in event["Records"]]
    outcomes = [fields["outcome"] for fields in results]
    if "failed" in outcomes:
        failed = outcomes.count("failed")
        raise EventFailed(f"{failed} of the event's records failed; SCF will retry")
    # SCF ignores what an asynchronous invocation returns; the local tools show it.
    return {"handled": outcomes.count("handled"), "ignored": outcomes.count("ignored"),
            "records": results}  # fmt: skip


def handle_record(service: Service, record: Mapping[str, Any], deadline: float) -> dict[str, Any]:
    """One record, logged once; its log fields (with `outcome`) are returned."""
    config = service.config
    fields: dict[str, Any] = {}
    try:
        item = parse_record(record, config.event_keys_encoded)
    except (BadRecord, KeyError, UnicodeDecodeError) as error:
        return logged("ignored", fields, detail=f"unreadable record: {error}"[:200])
    fields.update(eventName=item.event_name, bucket=item.bucket, key=item.key)
    if item.bucket not in buckets(config):
        return logged("ignored", fields, detail="not a configured bucket")
    owner = owner_of(item.key, declared_roots(config), lambda value: check_user_id(
        value, config.user_id_pattern, config.max_user_id_length))  # fmt: skip
    if owner is None:
        return logged("ignored", fields, detail="outside every declared root")
    shown = (lambda u: u) if config.log_raw_user_id else user_digest
    fields.update(root=owner.root, owner=shown(owner.user_id) if owner.user_id else None)
    try:
        uploader, ticket_id = attribute(service, item, owner, deadline)
        fields.update(uploader=shown(uploader) if uploader else None, ticketId=ticket_id,
                      accessKey=item.access_key)  # fmt: skip
        usage = count(service, item._replace(ticket_id=ticket_id), owner, deadline, fields)
        if service.webhook is not None:
            payload = webhook_payload(item, owner, uploader, ticket_id, usage)
            from .webhook import message_id

            msg_id = message_id(item.identity)
            fields["webhookId"] = msg_id
            service.webhook.deliver(msg_id, payload, time.time(), deadline - time.monotonic())
            fields["webhook"] = "delivered"
    except Exception as error:  # Redis, the webhook: fail the invocation, retry all of it
        kind = getattr(error, "kind", None) or type(error).__name__
        return logged("failed", fields, detail=str(error)[:200], failure=kind)
    return logged("handled", fields)


def logged(outcome: str, fields: dict[str, Any], **more: Any) -> dict[str, Any]:
    line = {"outcome": outcome, **more, **fields}
    log_event("cos-event", **line)
    return line


def attribute(
    service: Service, item: ObjectEvent, owner: Owner, deadline: float
) -> tuple[Optional[str], Optional[str]]:
    """(uploader's user ID, ticket id): a user's key first; a ticket only without one."""
    owners = service.key_owners
    signer = None
    if item.access_key and owners is not None:
        signer = owners.owner(item.access_key, deadline)
    if signer is not None or item.kind != "created":
        return signer, None
    if item.ticket_id:
        # A ticket writes only inside its user's root, so its user owns the root.
        return owner.user_id, item.ticket_id
    return None, None


def count(
    service: Service, item: ObjectEvent, owner: Owner, deadline: float, fields: dict[str, Any]
) -> Optional[dict[str, Any]]:
    """The owner's usage after this event (users' own roots only, with a quota)."""
    quota = service.quota
    if quota is None or owner.user_id is None or owner.template != service.config.prefix_template:
        return None
    usage, applied = quota.apply(owner.user_id, item, deadline)
    fields.update(counted=applied, usageBytes=usage.bytes, usageFiles=usage.files)
    limits = quota.settings
    return {"bytes": usage.bytes, "files": usage.files, "limitBytes": limits.bytes,
            "limitFiles": limits.files}  # fmt: skip


def webhook_payload(
    item: ObjectEvent,
    owner: Owner,
    uploader: Optional[str],
    ticket_id: Optional[str],
    usage: Optional[dict[str, Any]],
) -> dict[str, Any]:
    """The body the app receives (docs/uploads.md); unknown fields are null."""
    data: dict[str, Any] = {
        "bucket": item.bucket,
        "key": item.key,
        "size": item.size,
        "etag": item.etag,
        "contentType": item.content_type,
        "userId": owner.user_id,
        "root": owner.root,
        "uploadedBy": uploader,
        "ticketId": ticket_id,
        "eventName": item.event_name,
    }
    if usage is not None:
        data["usage"] = usage
    return {"type": TYPES[item.kind], "timestamp": iso8601(item.time), "data": data}
