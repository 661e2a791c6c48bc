"""The token-signing algorithms this function verifies: the one list of each kind.

With a shared secret, only HMAC; with a key set, only public-key algorithms. An
HMAC "verified" with a public key anyone can read is the classic
algorithm-confusion forgery, so the two lists never mix.
"""

from __future__ import annotations

# RFC 7518 §3.2: an HMAC key at least as long as the hash output (bytes).
HS_ALGORITHMS = {"HS256": 32, "HS384": 48, "HS512": 64}
# Every algorithm a key set may verify, with the key type (and curve) each needs.
# EdDSA is Ed25519 only (JWK kty OKP), as OIDC providers publish it.
KEY_TYPES = {
    "RS256": ("RSA", None), "RS384": ("RSA", None), "RS512": ("RSA", None),
    "PS256": ("RSA", None), "PS384": ("RSA", None), "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"), "ES384": ("EC", "P-384"), "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", "Ed25519"),
}  # fmt: skip
ASYMMETRIC_ALGORITHMS = tuple(KEY_TYPES)
KEY_SET_ALGORITHMS = ("RS256", "ES256")  # the default with a key set
