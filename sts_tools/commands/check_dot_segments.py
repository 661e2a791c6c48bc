"""check-deployment's probe of keys with dot segments: which reading does this bucket have?

Whether COS keeps `users/alice/../bob/x` as typed, collapses it before CAM sees it,
refuses it, or checks the raw key and stores the collapsed one (then a key limited to
`users/alice/` writes into bob's folder) is not settled by any source
(docs/security.md#keys-with-dot-segments). So the probe asks COS, with the user's keys:

1. PUT through ``<prefix>../../<neighbour root><name>``: the raw key starts with the
   prefix, the collapsed one lies in another user's root (the one the other
   outside-the-prefix checks use).
2. GET through ``<prefix>./../../<neighbour root><name>``: another spelling of the
   same collapsed key, so only a COS that stores collapsed keys finds the object.

403 or 400 means refused; a 404 on the read after a written PUT means the key was
stored as typed, inside the prefix; the probe's bytes coming back mean it landed in
the neighbour's folder.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sts_tools.commands.cos_probe import CosOutcome, CosProbe

# `checker` below is check_deployment.Checker (its rows and expectation), as in check_tickets.
Checker = Any

DOT_WRITE = "a dot-segment write stays in the prefix or is refused by COS"
DOT_READ = "a dot-segment read stays in the prefix or is refused by COS"
ADVICE = "set object_keys.deny_dot_segments: true, deploy, and run this check again"


class DotKeys(NamedTuple):
    written: str  # the raw key of the PUT
    reread: str  # another raw spelling of the same collapsed key, for the GET
    collapsed: str  # where a collapsing COS puts it: the neighbour's folder


def dot_keys(prefix: str, neighbour_root: str, name: str) -> DotKeys:
    """Keys that climb from `prefix` to the bucket root and down into `neighbour_root`."""
    up = "../" * prefix.count("/")
    collapsed = neighbour_root + name
    return DotKeys(prefix + up + collapsed, prefix + "./" + up + collapsed, collapsed)


def verdict(keys: DotKeys, wrote: CosOutcome, read: CosOutcome, body: bytes) -> tuple[str, str]:
    """(reading, sentence) from the two answers; reading is "refused", "literal",
    "crossed" or "unknown". Only "refused" and "literal" are safe."""
    if wrote.status in (400, 403):
        how = "COS refuses such keys"
        if wrote.status == 403:
            how = "COS checks the collapsed key, or the policy's dot-segment deny held"
        return "refused", f"{keys.written}: {wrote.describe()} ({how})"
    if not wrote.ok:
        return "unknown", f"{keys.written}: {wrote.describe()}"
    if read.ok and read.body == body:
        return "crossed", (
            f"{keys.written}: {wrote.describe()}, and {keys.reread} read it back: it LANDED "
            f"IN ANOTHER USER'S FOLDER as {keys.collapsed} (COS checks the raw key and stores "
            f"the collapsed one); {ADVICE}"
        )
    if read.status == 404:
        return "literal", (
            f"{keys.written}: {wrote.describe()}, stored as typed inside the prefix "
            f"({keys.reread}: 404, nothing at {keys.collapsed})"
        )
    return "unknown", (
        f"{keys.written}: {wrote.describe()}, but where it landed is unknown ({keys.reread}: "
        f"{read.describe()}; a profile that may read tells); {ADVICE}"
    )


def check_dot_segments(
    checker: Checker, probe: CosProbe, prefix: str, neighbour_root: str, run_id: str
) -> None:
    actions = checker.expect.actions
    if actions is not None and not {"name/cos:PutObject", "name/cos:GetObject"} <= actions:
        for check in (DOT_WRITE, DOT_READ):
            checker.skip(check, "needs a profile that may write and read (--profile)")
        return
    keys = dot_keys(prefix, neighbour_root, f"cos-sts-check-dot-{run_id}.txt")
    body = f"cos-sts check-deployment dot-segment probe {run_id}\n".encode()
    wrote = probe.put(keys.written, body, checker.expect.content_type)
    read = probe.get(keys.reread)
    reading, sentence = verdict(keys, wrote, read, body)
    if wrote.ok:
        deleted = probe.delete(keys.written)
        sentence += "; deleted again" if deleted.ok else f"; LEFT IN THE BUCKET: {keys.written}"
    checker.add(DOT_WRITE, reading in ("refused", "literal"), sentence)
    read_detail = f"{keys.reread}: {read.describe()}"
    if reading == "crossed":
        checker.add(DOT_READ, False, f"{read_detail}: read {keys.collapsed}; {ADVICE}")
    elif read.status in (400, 403):
        checker.add(DOT_READ, True, f"{read_detail} (refused)")
    elif read.status == 404:
        checker.add(DOT_READ, True, f"{read_detail} (looked up; nothing there)")
    else:
        checker.add(DOT_READ, False, read_detail)
