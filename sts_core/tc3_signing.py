"""TC3-HMAC-SHA256 request signing for Tencent Cloud API 3.0, standard library only.

The signer is split the way the algorithm is specified (canonical request, string
to sign, derived key, signature) so each step can be checked against the published
test vectors on its own. Nothing here performs I/O or reads a clock: the caller
passes the timestamp, which keeps signing a pure function.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import NamedTuple, Optional

from .utc_time import utc_date

ALGORITHM = "TC3-HMAC-SHA256"
TERMINATOR = "tc3_request"
JSON_CONTENT_TYPE = "application/json"
# The official SDK signs exactly these two headers; the service requires both.
DEFAULT_SIGNED_HEADERS = ("content-type", "host")


class Credentials(NamedTuple):
    """A Tencent Cloud API key. `token` is set for temporary (role) credentials."""

    secret_id: str
    secret_key: str
    token: Optional[str] = None

    def __repr__(self) -> str:  # the key and token never reach a log or traceback
        return f"Credentials(secret_id={self.secret_id!r})"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


class TC3Signer:
    """Signs requests for one service (e.g. ``sts``)."""

    def __init__(self, service: str) -> None:
        self.service = service

    @staticmethod
    def canonical_headers(headers: Mapping[str, str], signed_headers: Sequence[str]) -> str:
        # `headers` must be keyed by lower-case name; values are trimmed and lower-cased
        # as the specification says (the official SDK's values are lower-case anyway).
        return "".join(f"{name}:{headers[name].strip().lower()}\n" for name in signed_headers)

    def canonical_request(
        self,
        method: str,
        canonical_query: str,
        headers: Mapping[str, str],
        signed_headers: Sequence[str],
        payload: bytes,
    ) -> str:
        return "\n".join(
            (
                method,
                "/",
                canonical_query,
                self.canonical_headers(headers, signed_headers),
                ";".join(signed_headers),
                sha256_hex(payload),
            )
        )

    def credential_scope(self, date: str) -> str:
        return f"{date}/{self.service}/{TERMINATOR}"

    def string_to_sign(self, timestamp: int, canonical_request: str) -> str:
        return "\n".join(
            (
                ALGORITHM,
                str(timestamp),
                self.credential_scope(utc_date(timestamp)),
                sha256_hex(canonical_request.encode("utf-8")),
            )
        )

    def signing_key(self, secret_key: str, date: str) -> bytes:
        k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
        k_service = _hmac(k_date, self.service)
        return _hmac(k_service, TERMINATOR)

    @staticmethod
    def signature(signing_key: bytes, string_to_sign: str) -> str:
        return hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()

    def authorization(
        self, secret_id: str, timestamp: int, signed_headers: Sequence[str], signature: str
    ) -> str:
        scope = self.credential_scope(utc_date(timestamp))
        return (
            f"{ALGORITHM} Credential={secret_id}/{scope}, "
            f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
        )

    def sign(
        self,
        credentials: Credentials,
        *,
        method: str,
        headers: Mapping[str, str],
        payload: bytes,
        timestamp: int,
        canonical_query: str = "",
        signed_headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
    ) -> str:
        """Return the Authorization header value for a request with these headers."""
        lowered = {name.lower(): value for name, value in headers.items()}
        names = sorted(name.lower() for name in signed_headers)
        canonical = self.canonical_request(method, canonical_query, lowered, names, payload)
        key = self.signing_key(credentials.secret_key, utc_date(timestamp))
        signature = self.signature(key, self.string_to_sign(timestamp, canonical))
        return self.authorization(credentials.secret_id, timestamp, names, signature)


def api_headers(
    signer: TC3Signer,
    credentials: Credentials,
    *,
    host: str,
    action: str,
    version: str,
    region: str,
    payload: bytes,
    timestamp: int,
    language: Optional[str] = None,
    signed_headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
) -> dict[str, str]:
    """All headers of a signed API 3.0 JSON POST whose body is exactly `payload`.

    The session token goes in ``X-TC-Token`` and, as in the official SDK, is not
    part of the signature.
    """
    headers = {
        "Content-Type": JSON_CONTENT_TYPE,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Version": version,
        "X-TC-Region": region,
    }
    if language:
        headers["X-TC-Language"] = language
    if credentials.token:
        headers["X-TC-Token"] = credentials.token
    headers["Authorization"] = signer.sign(
        credentials,
        method="POST",
        headers=headers,
        payload=payload,
        timestamp=timestamp,
        signed_headers=signed_headers,
    )
    return headers
