"""COS request signatures (``q-sign-algorithm=sha1``), made by the function itself
for upload tickets (docs/tencent/cos-signing.md). Pure: the caller passes the
key, the window and every header to sign; nothing here reads a clock.

One function per step of §1 (`key_time`, `sign_key`, `http_string`,
`string_to_sign`, `signature`), then where the result travels: `Signed`
(the seven ``q-*`` fields, for a header or a query) and `post_policy_signature`
(§6, a PostObject form's policy). The local COS's verifier is written apart from
this (sts_tools/emulators/cos/signature.py), and tests check both against the
official SDK's signer and the published vectors.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import NamedTuple

from .url_encoding import url_encode  # COS's UrlEncode (§2)

ALGORITHM = "sha1"


def key_time(start: int, end: int) -> str:
    return f"{start};{end}"


def sign_key(secret_key: str, window: str) -> str:
    """Step 2: hex(HMAC-SHA1(SecretKey, KeyTime))."""
    return hmac.new(secret_key.encode("utf-8"), window.encode("utf-8"), hashlib.sha1).hexdigest()


def canonical(pairs: Mapping[str, str]) -> tuple[str, str]:
    """(the ``k=v&...`` string, the ``;``-joined name list) of parameters or headers:
    names lower-cased after encoding, values encoded, sorted by encoded name."""
    encoded = sorted((url_encode(name).lower(), url_encode(value)) for name, value in pairs.items())
    return "&".join(f"{k}={v}" for k, v in encoded), ";".join(k for k, _ in encoded)


def http_string(
    method: str, path: str, params: Mapping[str, str], headers: Mapping[str, str]
) -> str:
    """Step 3: `path` is the decoded object path with its leading '/'."""
    return f"{method.lower()}\n{path}\n{canonical(params)[0]}\n{canonical(headers)[0]}\n"


def string_to_sign(window: str, text: str) -> str:
    """Step 4."""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()  # noqa: S324 - COS's algorithm
    return f"{ALGORITHM}\n{window}\n{digest}\n"


def signature(key: str, message: str) -> str:
    """Step 5: the key is SignKey's hex text."""
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha1).hexdigest()


class Signed(NamedTuple):
    """The seven fields of step 6, in the order the SDKs write them."""

    secret_id: str
    window: str
    header_list: str
    param_list: str
    signature: str

    def fields(self) -> list[tuple[str, str]]:
        return [
            ("q-sign-algorithm", ALGORITHM),
            ("q-ak", self.secret_id),
            ("q-sign-time", self.window),
            ("q-key-time", self.window),
            ("q-header-list", self.header_list),
            ("q-url-param-list", self.param_list),
            ("q-signature", self.signature),
        ]

    @property
    def header(self) -> str:
        """The ``Authorization`` header value."""
        return "&".join(f"{name}={value}" for name, value in self.fields())

    @property
    def query(self) -> str:
        """The same fields as a presigned URL's query (values encoded)."""
        return "&".join(f"{name}={url_encode(value)}" for name, value in self.fields())


def sign_request(
    secret_id: str,
    secret_key: str,
    window: str,
    method: str,
    path: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
) -> Signed:
    """Sign exactly `params` and `headers` (names as sent; the client must send
    every signed header with exactly this value)."""
    key = sign_key(secret_key, window)
    text = http_string(method, path, params, headers)
    return Signed(
        secret_id,
        window,
        canonical(headers)[1],
        canonical(params)[1],
        signature(key, string_to_sign(window, text)),
    )


def post_policy_signature(secret_key: str, window: str, policy_text: str) -> str:
    """§6 steps 4-6: the signature of a PostObject form's policy (the JSON text)."""
    digest = hashlib.sha1(policy_text.encode("utf-8")).hexdigest()  # noqa: S324 - COS's
    return signature(sign_key(secret_key, window), digest)
