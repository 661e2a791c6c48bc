"""Percent-encoding as Tencent's services expect it: UTF-8, every byte but the RFC 3986
unreserved characters ``A-Z a-z 0-9 - _ . ~`` (and any in `safe`) as ``%XX`` in
upper case. STS's Policy parameter, COS's UrlEncode (docs/tencent/cos-signing.md §2),
CAM's ``cos:prefix`` values and ticket URLs all use it."""

from __future__ import annotations

import string
from urllib.parse import quote

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "_.-~")
# quote(text, safe="") as one str.translate for ASCII text: STS's policy is ASCII JSON
# (json.dumps escapes everything else), and it is encoded on every request.
_QUOTE_TABLE = {c: chr(c) if chr(c) in _UNRESERVED else f"%{c:02X}" for c in range(128)}


def url_encode(text: str, safe: str = "") -> str:
    """`text` percent-encoded; `safe` names extra characters kept as they are (``/``)."""
    if not safe and text.isascii():
        return text.translate(_QUOTE_TABLE)
    return quote(text, safe="-_.~" + safe)
