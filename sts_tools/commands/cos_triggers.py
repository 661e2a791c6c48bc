"""The COS triggers a deployment needs (docs/tencent/cos-events.md §5): for every
declared root, its fixed part as a prefix filter, once for created and once for
removed objects, on the config's bucket(s). The deploy preflight checks
serverless.yml's ``cos`` events against this; `cam-policy` names the deployer's
bucket-notification rights for them (cam_policy.NOTIFICATION_ACTIONS)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sts_core.config_model import Config, fixed_part_of
from sts_core.uploads import declared_roots

EVENT_TYPES = ("cos:ObjectCreated:*", "cos:ObjectRemove:*")
MAX_COS_TRIGGERS = 10  # per function


def prefixes(config: Config) -> list[str]:
    """The fewest prefixes covering every declared root (``protected/`` covers
    ``protected/{uid}/``; a root starting with a placeholder needs the whole bucket)."""
    fixed = sorted({fixed_part_of(root) for root in declared_roots(config)}, key=len)
    kept: list[str] = []
    for prefix in fixed:
        if not any(prefix.startswith(other) for other in kept):
            kept.append(prefix)
    return kept


def bucket_host(bucket: str, region: str) -> str:
    return f"{bucket}.cos.{region}.myqcloud.com"


def wanted(config: Config) -> set[tuple[str, str, str]]:
    """(bucket host, event type, prefix) for every trigger the deployment needs."""
    hosts = {bucket_host(config.bucket, config.region)}
    hosts |= {bucket_host(p.bucket, p.region) for p in config.profiles.values()
              if p.bucket and p.region}  # fmt: skip
    return {(h, e, p) for h in hosts for e in EVENT_TYPES for p in prefixes(config)}


def declared(events: Sequence[Any]) -> list[tuple[str, str, str]]:
    """The ``cos`` entries of serverless.yml's ``events``, as (host, event, prefix)."""
    found = []
    for entry in events:
        if not isinstance(entry, Mapping) or "cos" not in entry:
            continue
        parameters = (entry.get("cos") or {}).get("parameters") or {}
        filters = parameters.get("filter") or {}
        found.append((str(parameters.get("bucket", "")), str(parameters.get("events", "")),
                      str(filters.get("prefix", "") or "")))  # fmt: skip
    return found


def problems(config: Config, events: Sequence[Any]) -> list[str]:
    """What is wrong with serverless.yml's COS triggers for this config (empty: fine)."""
    have = declared(events)
    if not have:
        if config.quota is not None or config.webhook:
            return ["the config counts usage or sends a webhook from COS events, but "
                    "serverless.yml declares no cos trigger"]  # fmt: skip
        return []
    issues = []
    if len(have) > MAX_COS_TRIGGERS:
        issues.append(f"{len(have)} cos triggers: a function takes at most {MAX_COS_TRIGGERS}")
    for host, event, prefix in sorted(wanted(config) - set(have)):
        issues.append(f"no cos trigger for {event} with prefix {prefix!r} on {host}")
    for host, event, prefix in sorted(set(have) - wanted(config)):
        issues.append(f"the cos trigger for {event} with prefix {prefix!r} on {host} matches "
                      "no declared root (objects there would be ignored)")  # fmt: skip
    return issues
