"""A local OIDC identity provider for tests: a JWKS and a discovery document over
real HTTP. Keys are made with `cryptography`; tokens are signed with `jwcrypto`,
a JOSE implementation independent of the PyJWT the function uses."""

from __future__ import annotations

import json
import ssl
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Optional

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwk
from jwcrypto import jwt as jose_jwt

from sts_tools.support.loopback import LoopbackServer

AUDIENCE = "photo-app"


class Key:
    def __init__(self, kid: str, kind: str) -> None:
        private: Any
        if kind == "RSA":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"
        elif kind == "OKP":  # Ed25519, as current OIDC providers publish it
            private = ed25519.Ed25519PrivateKey.generate()
            self.alg = "EdDSA"
        else:
            private = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.kid = kid
        self.signer = jwk.JWK.from_pem(pem)
        self.public = {**self.signer.export_public(as_dict=True), "kid": kid, "use": "sig"}
        self.public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class FakeIdP:
    def __init__(self, tls: Optional[ssl.SSLContext] = None) -> None:
        """Plain http on 127.0.0.1, or https with `tls` (a server context)."""
        self.keys: list[Key] = []
        self.extra: list[dict[str, Any]] = []  # raw JWKs served as well (e.g. an 'oct' key)
        self.hits = {"jwks": 0, "discovery": 0}
        self.status = 200
        self.delay = 0.0
        self.discovery_issuer: Optional[str] = None  # to serve a lying document
        self.discovery_jwks_uri: Optional[str] = None  # another key-set URL in the document
        self._server = LoopbackServer(_Handler, self, name="test-idp", tls=tls).start()

    @property
    def issuer(self) -> str:
        return self._server.url

    @property
    def jwks_url(self) -> str:
        return self.issuer + "/jwks.json"

    def stop(self) -> None:
        self._server.stop()

    def token(
        self,
        key: Key,
        sub: str = "alice",
        *,
        alg: Optional[str] = None,
        kid: Any = "same",
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {"sub": sub, "iss": self.issuer, "aud": AUDIENCE, "iat": now, "exp": now + 300}
        payload.update(claims)
        header = {"alg": alg or key.alg}
        if kid == "same":
            header["kid"] = key.kid
        elif kid is not None:
            header["kid"] = kid
        token = jose_jwt.JWT(
            header=header, claims={k: v for k, v in payload.items() if v is not None}
        )
        token.make_signed_token(key.signer)
        return token.serialize()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        idp: FakeIdP = self.server.owner  # type: ignore[attr-defined]
        if self.path == "/jwks.json":
            idp.hits["jwks"] += 1  # counted on arrival, stalled or not
            document: Any = {"keys": [k.public for k in idp.keys] + idp.extra}
        elif self.path == "/.well-known/openid-configuration":
            idp.hits["discovery"] += 1
            document = {
                "issuer": idp.discovery_issuer or idp.issuer,
                "jwks_uri": idp.discovery_jwks_uri or idp.jwks_url,
            }
        else:
            self.send_error(404)
            return
        if idp.delay:
            time.sleep(idp.delay)
        body = json.dumps(document).encode()
        try:
            self.send_response(idp.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the function gave up waiting, as it should


def key_set_env(sts_endpoint: str, idp: FakeIdP, **overrides: Optional[str]) -> dict[str, str]:
    """The function's environment for tokens from `idp`'s key set (None drops a variable)."""
    from tests.support import make_env

    env = make_env(sts_endpoint, STS_JWT_SECRET=None, STS_JWKS_URL=idp.jwks_url,
                   STS_JWT_ISSUER=idp.issuer, STS_JWT_AUDIENCE=AUDIENCE)  # fmt: skip
    env.update(overrides)  # type: ignore[arg-type]
    return {k: v for k, v in env.items() if v is not None}
