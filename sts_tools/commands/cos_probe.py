"""check-deployment's COS side: the official cos-python-sdk-v5 (an optional extra,
requirements-check.txt) with a set of keys, each call reduced to an outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import urlsplit


@dataclass
class CosOutcome:
    status: int  # HTTP status; 0 for a network failure
    code: str = ""
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def describe(self) -> str:
        if self.status == 0:
            return f"no answer ({self.code})"
        return f"{self.status}{' ' + self.code if self.code else ''}"


def cos_client(keys: Mapping[str, Any], endpoint: Optional[str], timeout: float) -> Any:
    from qcloud_cos import CosConfig, CosS3Client  # optional: requirements-check.txt

    credentials = keys["credentials"]
    settings: dict[str, Any] = {
        "Region": keys["region"],
        "SecretId": credentials["tmpSecretId"],
        "SecretKey": credentials["tmpSecretKey"],
        "Token": credentials["sessionToken"],
        "Timeout": timeout,
        "Scheme": "https",
    }
    if endpoint:
        parts = urlsplit(endpoint)
        settings.update(IP=parts.hostname, Port=parts.port, Scheme=parts.scheme or "http")
    return CosS3Client(CosConfig(**settings), retry=1)


class CosProbe:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def _call(self, run: Callable[[], Any]) -> CosOutcome:
        from qcloud_cos.cos_exception import CosClientError, CosServiceError

        try:
            return run()
        except CosServiceError as exc:
            return CosOutcome(int(exc.get_status_code() or 0), str(exc.get_error_code() or ""))
        except CosClientError as exc:
            return CosOutcome(0, type(exc).__name__ + ": " + str(exc)[:200])

    def put(self, key: str, body: bytes, content_type: str, **extra: str) -> CosOutcome:
        def run() -> CosOutcome:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **extra
            )
            return CosOutcome(200)

        return self._call(run)

    def get(self, key: str) -> CosOutcome:
        def run() -> CosOutcome:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return CosOutcome(200, body=response["Body"].get_raw_stream().read())

        return self._call(run)

    def delete(self, key: str) -> CosOutcome:
        def run() -> CosOutcome:
            self.client.delete_object(Bucket=self.bucket, Key=key)
            return CosOutcome(204)

        return self._call(run)
