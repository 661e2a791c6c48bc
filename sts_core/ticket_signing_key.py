"""The function's own temporary key, which signs every ticket (tickets.py).

Never the permanent key: at the first ticket, and again before this key runs
out, the function asks STS (through the same issuer as for callers: AssumeRole
with the role, or GetFederationToken with the configured key) for a key whose
policy covers only what tickets can do:

- per profile with tickets, the fixed part of the user's root template plus
  ``*`` (``users/{uid}/`` gives ``users/*``): every user's root, and anything else
  under that fixed part (a shared area declared there, e.g. ``users/shared/``);
- only the ticket actions, and never writing and reading with one key: upload
  tickets (post, put) are signed by an upload key without GetObject, download
  tickets (get) by a download key that can only read. One key holding both would
  let a PUT ticket's request, with an unsigned ``x-cos-copy-source`` header added
  (COS signs only the headers the signature lists), copy another user's object
  into the ticket's key;
- uploads pinned to a private ACL and the profile's storage classes;
- for bind_ip profiles, one key per caller address, each usable only from there.

That is this key's blast radius: were it to leak (it never leaves the function;
only its SecretId and token travel in tickets, which cannot sign without the
SecretKey), the upload key could write, and the download key read, objects in
any user's root, within those actions and pins, until it expires. Each is reused
until it has less life left than a ticket needs, and, with Redis, shared by all
instances encrypted as the keys for callers are.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional

from .config_model import SIGNER_MARGIN as MARGIN
from .config_model import Config
from .cos_actions import CREATE_ACTIONS, TICKET_ACTIONS
from .issued_credentials import IssuedCredentials
from .policy import PIN, PRIVATE_ACLS, PolicyViolation, render

if TYPE_CHECKING:
    from .issuer import Issuer
    from .shared_cache import SharedCache

SIGNER = "ticket-signer"  # the reuse key's name (no user digest is spelled so)
# The STS session's name. Users' sessions are cos-sts-<digest of the user ID>, so no
# user ID, not even "ticket-signer", can name a session as the signing key's.
SESSION = "cos-ticket-signer"
MAX_BOUND_KEYS = 256  # bind_ip signing keys one instance keeps (the least recent go)
# Which signing key signs which ticket method (see the module's docstring: never both).
KINDS = {"upload": ("post", "put"), "download": ("get",)}


def kind_of(method: str) -> str:
    """The signing key a ticket method needs: "upload" or "download"."""
    return "download" if method in KINDS["download"] else "upload"


def signer_policy(
    config: Config, address: Optional[str] = None, kind: str = "upload"
) -> dict[str, Any]:
    """The `kind` signing key's policy ("upload" or "download"): one statement per
    ticket profile with such tickets; with `address` (a CIDR, for bind_ip profiles)
    every statement holds only from there, as a bound key does. Empty when no profile
    gives that kind of ticket (the key is then never asked for)."""
    statements = []
    for profile in config.profiles.values():
        methods = [m for m in KINDS[kind] if profile.tickets and m in profile.tickets.methods]
        if not methods:
            continue
        resource = [config.location(profile).resource(profile.grants[0].fixed_part + "*")]
        actions = [TICKET_ACTIONS[m] for m in methods]
        creates = [a for a in actions if a in CREATE_ACTIONS]
        if creates:
            statements.append({
                "effect": "allow", "action": creates, "resource": resource,
                "condition": {PIN: {"cos:x-cos-acl": list(PRIVATE_ACLS),
                                    "cos:x-cos-storage-class": list(profile.storage_classes)}},
            })  # fmt: skip
        reads = [a for a in actions if a not in CREATE_ACTIONS]
        if reads:
            statements.append({"effect": "allow", "action": reads, "resource": resource})
    if address is not None:
        for statement in statements:
            statement.setdefault("condition", {})["ip_equal"] = {"qcs:ip": [address]}
    return {"version": "2.0", "statement": statements}


def check_signer_policy(policy: Mapping[str, Any], config: Config) -> None:
    """The signing key's policy, re-checked on its own terms (PolicyViolation)."""
    allowed: set[str] = set()
    for profile in config.profiles.values():
        if profile.tickets is not None:
            allowed.add(config.location(profile).resource(profile.grants[0].fixed_part))
    statements = policy.get("statement")
    if not isinstance(statements, list) or not statements:
        raise PolicyViolation("the signing key's policy has no statements")
    every = {a for s in statements for a in s.get("action", [])}
    if every & set(CREATE_ACTIONS) and every - set(CREATE_ACTIONS):
        raise PolicyViolation("a signing key may not both upload and read")
    for statement in statements:
        actions = statement.get("action", [])
        if not actions or not set(actions) <= set(TICKET_ACTIONS.values()):
            raise PolicyViolation("the signing key may only post, put or get objects")
        for resource in statement.get("resource", []):
            fixed = resource[:-1] if resource.endswith("*") else resource
            if "*" in fixed or not any(fixed == a for a in allowed):
                raise PolicyViolation("a signing-key resource lies outside the ticket roots")
        if set(actions) & set(CREATE_ACTIONS):
            pins = (statement.get("condition") or {}).get(PIN, {})
            if not set(pins.get("cos:x-cos-acl", ["public-read"])) <= set(PRIVATE_ACLS):
                raise PolicyViolation("the signing key's uploads must be pinned private")
            if not pins.get("cos:x-cos-storage-class"):
                raise PolicyViolation("the signing key's uploads must pin the storage class")


class TicketSigner:
    """The current signing keys of one warm instance: one for every caller, and one per
    address for bind_ip profiles (each bound to that address, so a ticket it signs
    works only from there, like a bound key)."""

    def __init__(
        self,
        config: Config,
        issuer: Issuer,
        shared: Optional[SharedCache] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy_texts: dict[str, str] = {}  # kind -> the unbound key's policy
        for kind in KINDS:
            policy = signer_policy(config, kind=kind)
            if policy["statement"]:
                check_signer_policy(policy, config)
                self.policy_texts[kind] = render(policy)
        self.config = config
        self.duration = config.ticket_signer_duration
        ttls = [p.tickets.ttl for p in config.profiles.values() if p.tickets is not None]
        self.min_life = max(ttls) + MARGIN
        self.issuer = issuer
        self.shared = shared
        self._clock = clock
        self._current: dict[str, IssuedCredentials] = {}  # kind -> key
        # (kind, address) -> key, the newest last
        self._bound: dict[tuple[str, str], IssuedCredentials] = {}

    def now(self) -> float:
        """The time tickets are signed at: the clock the key's life is measured on."""
        return self._clock()

    def key(
        self,
        env: Mapping[str, str],
        deadline: float,
        note: Callable[..., None],
        address: Optional[str] = None,
        method: str = "post",
    ) -> IssuedCredentials:
        """A key with enough life for any ticket of `method`'s kind: this instance's,
        else (Redis) any instance's, else a new one from STS. `note` records where it
        came from. `address`: a key usable only from there (bind_ip)."""
        kind = kind_of(method)
        if address is None:
            policy_text, current = self.policy_texts[kind], self._current.get(kind)
        else:
            policy = signer_policy(self.config, address, kind)
            check_signer_policy(policy, self.config)
            policy_text, current = render(policy), self._bound.get((kind, address))
        issued = self._fresh(env, deadline, note, policy_text, current)
        if address is None:
            self._current[kind] = issued
        else:
            self._bound.pop((kind, address), None)
            self._bound[(kind, address)] = issued
            while len(self._bound) > MAX_BOUND_KEYS:
                del self._bound[next(iter(self._bound))]
        return issued

    def _fresh(
        self,
        env: Mapping[str, str],
        deadline: float,
        note: Callable[..., None],
        policy_text: str,
        current: Optional[IssuedCredentials],
    ) -> IssuedCredentials:
        now = self._clock()
        if current is not None and current.expired_time - now >= self.min_life:
            note(signer="reused")
            return current
        reuse_key = f"{SIGNER}\n{policy_text}"
        if self.shared is not None:
            try:
                shared = self.shared.get(reuse_key, self.duration, deadline)
            except self.shared.link.Error:
                shared = None
            if shared is not None and shared.expired_time - now >= self.min_life:
                note(signer="shared")
                return shared
        issued = self.issuer.issue(
            env, SIGNER, policy_text, self.duration, deadline, session=SESSION
        )
        if self.shared is not None:
            with contextlib.suppress(self.shared.link.Error):  # Redis trouble: STS next time
                self.shared.put(reuse_key, self.duration, issued, deadline)
        note(signer="issued", stsRequestId=issued.request_id)
        return issued
