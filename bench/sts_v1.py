"""Signature v1 (HmacSHA1/HmacSHA256 over sorted parameters, form-encoded): what
qcloud-python-sts, one of the benchmark's contenders, still sends. Only the
benchmark needs it, so it lives here and plugs into the local STS as a scheme:
``StsEmulator(schemes=V1_SCHEMES)`` (docs/tencent/sts.md §7)."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # run as a script by bench.py: the project on the path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from sts_tools.emulators.sts.backend import StsBackend
from sts_tools.emulators.sts.protocol import (
    Refusal,
    Signed,
    check_clock,
    check_token,
    key_for,
)

FORM = "application/x-www-form-urlencoded"
COMMON_PARAMS = (
    "Action", "Version", "Region", "Nonce", "SecretId", "Timestamp", "Signature",
    "SignatureMethod", "Token", "Language", "RequestClient",
)  # fmt: skip


def v1_string_to_sign(method: str, host: str, params: Mapping[str, Any]) -> str:
    """Sorted ``k=v`` over raw values, Signature excluded."""
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    return f"{method}{host}/?" + "&".join(f"{k}={v}" for k, v in pairs)


def v1_signature(secret_key: str, string_to_sign: str, method: str = "HmacSHA1") -> str:
    digest = hashlib.sha256 if method == "HmacSHA256" else hashlib.sha1
    mac = hmac.new(secret_key.encode("utf-8"), string_to_sign.encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def verify_v1(backend: StsBackend, headers: Mapping[str, str], body: bytes) -> Signed:
    try:
        params: dict[str, Any] = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        timestamp = int(params.get("Timestamp", ""))
    except (UnicodeDecodeError, ValueError):
        raise Refusal("AuthFailure.InvalidAuthorization", "Bad v1 parameters.") from None
    check_clock(backend, timestamp)
    secret_id = str(params.get("SecretId", ""))
    key = key_for(backend, secret_id)
    source = v1_string_to_sign("POST", headers.get("host", ""), params)
    expected = v1_signature(key.secret_key, source, params.get("SignatureMethod", "HmacSHA1"))
    if not secrets.compare_digest(expected, str(params.get("Signature", ""))):
        raise Refusal("AuthFailure.SignatureFailure", "The v1 signature is invalid.")
    check_token(key, params.get("Token"))
    common = {name: params.pop(name, "") for name in COMMON_PARAMS}
    if str(params.get("DurationSeconds", "")).isdigit():
        params["DurationSeconds"] = int(params["DurationSeconds"])  # form values are text
    return Signed(
        secret_id=secret_id,
        key=key,
        action=str(common["Action"]),
        version=str(common["Version"]),
        region=str(common["Region"]),
        params=params,
        token_sent=bool(common["Token"]),
    )


V1_SCHEMES = {FORM: verify_v1}

if __name__ == "__main__":
    from sts_tools.emulators.sts.server import main

    main(schemes=V1_SCHEMES)
