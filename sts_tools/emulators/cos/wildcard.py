"""The one '*' matcher of the local COS: actions, resources and string_like.

CAM wildcards (docs/tencent/cam-policy.md §4, docs/tencent/cos-api.md §5): '*' matches any run of
characters, '/' and the empty run included. Nothing else is syntax, so '?', '['
and '.' in a key or a policy are plain characters; that is why neither `re` nor
`fnmatch` is used.
"""

from __future__ import annotations


def match(pattern: str, text: str) -> bool:
    """True when `text` is `pattern` with each '*' replaced by some string.

    The literal pieces between the stars must appear in order: the first one at
    the start, the last one at the end, the others as early as possible (taking
    the earliest place never loses a match, it leaves the most room for the
    rest). No recursion, no backtracking: O(len(pattern) * len(text)) at worst.
    """
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return pattern == text
    first, middle, last = pieces[0], pieces[1:-1], pieces[-1]
    # The prefix and the suffix must not overlap: "ab*ba" does not match "aba".
    if len(first) + len(last) > len(text):
        return False
    if not (text.startswith(first) and text.endswith(last)):
        return False
    position, end = len(first), len(text) - len(last)
    for piece in middle:
        found = text.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True
