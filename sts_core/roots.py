"""Root templates, and the rules that keep one caller's roots apart from another's.

A root template is a key prefix of whole segments ending in ``/``: literals,
``{uid}`` and ``{claim:NAME}``. Every placeholder is caller-controlled: a user
picks their ID at sign-up, and an app may let them name their organisation. The
*owner* of a rendered root is the value of each placeholder its template holds
(``users/{uid}/`` for alice: {uid: alice}; ``public/``: nobody, i.e. everyone).

Over every pair of distinct templates in a config (the user's root, each shared
area, each grant's root), two rules, checked at cold start:

1. **No caller-chosen meeting.** Two templates may share keys only where every
   aligned segment is the same literal or the same placeholder. A placeholder
   facing a literal (``{claim:org}/`` vs ``users/...``, ``orgs/{claim:org}/`` vs
   ``orgs/announcements/``) or another placeholder (``{uid}`` vs
   ``{claim:org}``) lets a caller pick a value that lands in someone else's area.
2. **A container of other owners is read-only.** Where one template is a prefix of
   another that has a placeholder it lacks (``protected/`` holds every
   ``protected/{uid}/``), every grant on the outer one only reads.

Together: two roots of different owners overlap only when the outer one is read,
and only where its own placeholders take the same values (tests/test_roots.py
checks this against an oracle that renders roots for many identities).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Callable, NamedTuple, Optional

from .cos_actions import READ_ACTIONS
from .object_keys import key_problem
from .user_prefix import PLACEHOLDER

SAMPLE_VALUE = "x"  # stands for any placeholder value when a template is checked as a key


class TemplateError(ValueError):
    """A template that is unsafe on its own; the message says why."""


def segments(template: str) -> list[str]:
    return template.rstrip("/").split("/")


def placeholders(template: str) -> set[str]:
    return {seg for seg in segments(template) if PLACEHOLDER.fullmatch(seg)}


def check_template(value: str) -> str:
    """A grant's root: whole-segment placeholders, ``{uid}`` at most once, ending in
    ``/``, never the whole bucket, and a key the runtime rules accept (NFKC...)."""
    if not value:
        raise TemplateError("must be set (the whole bucket is never granted)")
    parts = segments(value)
    found = PLACEHOLDER.findall(value)
    problems = (
        (value.count("{uid}") > 1, "must contain {uid} at most once"),
        (any(c in PLACEHOLDER.sub("", value) for c in "{}"),
         "only {uid} and {claim:NAME} may be braced"),
        (not value.endswith("/"), "must end with '/' so one user's root never prefixes another's"),
        (len(found) != sum(bool(PLACEHOLDER.fullmatch(seg)) for seg in parts),
         "{uid} and {claim:NAME} must each be a whole path segment, as in users/{uid}/"),
        (len(set(found)) != len(found), "must name each placeholder at most once"),
        (value.startswith("/"), "must not start with '/' (object keys have no leading slash)"),
        (any(c in value for c in "*?\\$%\"'"), "must not contain * ? \\ $ % or quotes"),
        ("//" in value or "/./" in value or value.startswith("./"),
         "must not have empty or '.' segments"),
        (".." in value, "must not contain '..'"),
        (any(c.isspace() or unicodedata.category(c)[0] == "C" for c in value),
         "must not contain whitespace or control characters"),
    )  # fmt: skip
    for failed, message in problems:
        if failed:
            raise TemplateError(message)
    # The guard holds every rendered root to the object-key rules at request time;
    # a template that can never pass them (e.g. not in NFKC form) fails here instead.
    problem = key_problem(PLACEHOLDER.sub(SAMPLE_VALUE, value))
    if problem:
        raise TemplateError(f"is not a safe object-key prefix: {problem}")
    return value


class Area(NamedTuple):
    """One root template as the whole config uses it."""

    template: str
    key: str  # where the config first names it, for the error message
    actions: frozenset[str]  # every action any grant gives on it
    write_key: Optional[str] = None  # where the config first grants a write on it

    @property
    def read_only(self) -> bool:
        return self.actions <= set(READ_ACTIONS)


def _meeting(first: str, second: str) -> tuple[bool, Optional[tuple[str, str]]]:
    """(could they share keys, the first caller-chosen pair of segments if any)."""
    chosen = None
    for a, b in zip(segments(first), segments(second)):
        if a == b:
            continue
        if PLACEHOLDER.fullmatch(a) or PLACEHOLDER.fullmatch(b):
            chosen = chosen or (a, b)
            continue
        return False, None  # two different literals: never the same key
    return True, chosen


def _chosen_message(first: Area, second: Area, pair: tuple[str, str]) -> str:
    placeholder, other = pair if PLACEHOLDER.fullmatch(pair[0]) else pair[::-1]
    value = other if not PLACEHOLDER.fullmatch(other) else "the same value"
    return (
        f"{second.template!r} and {first.template!r} ({first.key}) could share keys when a "
        f"caller's {placeholder} is {value!r}: keep areas apart by a fixed segment "
        "(placeholders are caller-controlled)"
    )


def check_areas(areas: Sequence[Area]) -> Optional[tuple[str, str]]:
    """(config key, problem) for the first pair of areas breaking a rule, or None."""
    for index, second in enumerate(areas):
        for first in areas[:index]:
            meets, chosen = _meeting(first.template, second.template)
            if not meets:
                continue
            if chosen is not None:
                return second.key, _chosen_message(first, second, chosen)
            outer, inner = sorted((first, second), key=lambda a: len(segments(a.template)))
            if placeholders(inner.template) - placeholders(outer.template) and not outer.read_only:
                writes = sorted(outer.actions - set(READ_ACTIONS))
                return outer.write_key or outer.key, (
                    f"{outer.template!r} holds other callers' roots ({inner.template}), so it "
                    f"may only be read ({', '.join(READ_ACTIONS)}), not {writes[0]}"
                )
    return None


def collect_areas(uses: Iterable[tuple[str, str, str, Iterable[str]]]) -> list[Area]:
    """Merge (template, root's config key, actions' config key, actions) uses into one
    Area per template, in the order first named."""
    merged: dict[str, Area] = {}
    for template, key, actions_key, actions in uses:
        area = merged.get(template) or Area(template, key, frozenset())
        writes = set(actions) - set(READ_ACTIONS)
        merged[template] = area._replace(
            actions=area.actions | frozenset(actions),
            write_key=area.write_key or (actions_key if writes else None),
        )
    return list(merged.values())


class Owner(NamedTuple):
    """Whose root holds an object: the template, the rendered root, and the user
    (None for a shared area)."""

    template: str
    root: str
    user_id: Optional[str]


def owner_of(key: str, templates: Sequence[str], check: Callable[[str], object]) -> Optional[Owner]:
    """The declared root holding `key`, read back by the rules that render roots:
    every literal segment equal, every placeholder one segment that `check` (the
    user-ID rule, `prefix.check_user_id` with the config's pattern) accepts. The
    most specific template wins (``protected/alice/x`` belongs to
    ``protected/{uid}/``, not to the read-only ``protected/``); None when no
    declared root holds the key."""
    parts = key.split("/")
    best: Optional[Owner] = None
    for template in templates:
        wanted = segments(template)
        if len(parts) <= len(wanted):
            continue  # a key shorter than the root is not inside it
        values: dict[str, str] = {}
        for segment, part in zip(wanted, parts):
            if PLACEHOLDER.fullmatch(segment):
                try:
                    check(part)
                except Exception:
                    break
                values[segment] = part
            elif segment != part:
                break
        else:
            if best is None or len(wanted) > len(segments(best.template)):
                root = "/".join(parts[: len(wanted)]) + "/"
                best = Owner(template, root, values.get("{uid}"))
    return best
