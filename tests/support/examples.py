"""How many examples a property test runs: its own count under the default
profile (`make test`), scaled down under `--hypothesis-profile=fast` (`make test-fast`).

A `@settings(max_examples=N)` on a test overrides any profile, so a test that needs
more (or fewer) examples than the default says so through `examples(N)`: the
loaded profile's `max_examples` over Hypothesis's default of 100 is the scale.
"""

from __future__ import annotations

from hypothesis import settings

HYPOTHESIS_DEFAULT = 100
FLOOR = 10  # even the quick loop tries a property on a handful of cases


def examples(count: int) -> int:
    """`count` under the full profile; proportionally fewer under a smaller one."""
    scaled = count * settings.default.max_examples // HYPOTHESIS_DEFAULT
    return min(count, max(FLOOR, scaled))
