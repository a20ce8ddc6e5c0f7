"""The keys the pipeline signs its access tokens with, and the JWKS that publishes them.

Like the payload master keys (``edi.keys``), signing keys never live in code or in the database:
``EDI_AUTH_SIGNING_KEYS`` holds, or ``EDI_AUTH_SIGNING_KEYS_FILE`` names a file holding, JSON::

    {"keys": {"2026-12": "-----BEGIN PRIVATE KEY-----\\n...", "2027-06": "..."}, "current": "2027-06"}

Each key is a PKCS#8 PEM private key: EC P-256 (signs ES256) or RSA of at least 2048 bits
(RS256); the algorithm follows from the key, so a token's ``alg`` header can never choose it.
The key id becomes the token's ``kid``. Rotation: add a new key and make it current (new tokens
use it; the JWKS still publishes the old public key so unexpired tokens keep verifying), wait
for the token lifetime, then drop the old key. Errors name key ids and sources, never key bytes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

__all__ = [
    "ENV_SIGNING_KEYS",
    "ENV_SIGNING_KEYS_FILE",
    "SigningKey",
    "SigningKeyError",
    "SigningKeys",
    "generate_signing_key_pem",
]

ENV_SIGNING_KEYS = "EDI_AUTH_SIGNING_KEYS"
ENV_SIGNING_KEYS_FILE = "EDI_AUTH_SIGNING_KEYS_FILE"
KID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_RSA_BITS = 2048


class SigningKeyError(ValueError):
    """The signing key configuration is missing or malformed (never quotes key material)."""


def generate_signing_key_pem(kind: str = "EC") -> str:
    """A new private key as PKCS#8 PEM: ``EC`` (P-256, ES256) or ``RSA`` (3072 bits, RS256)."""
    if kind == "EC":
        key: Any = ec.generate_private_key(ec.SECP256R1())
    elif kind == "RSA":
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    else:
        raise ValueError("kind is EC or RSA")
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: str  # ES256 or RS256, fixed by the key type
    private_key: Any = field(repr=False)

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK (RFC 7517) with its ``kid``, ``alg`` and ``use``."""
        algorithm = ECAlgorithm if self.algorithm == "ES256" else RSAAlgorithm
        document = dict(algorithm.to_jwk(self.public_key, as_dict=True))
        document.update(kid=self.kid, alg=self.algorithm, use="sig")
        return document


def _load_key(kid: str, pem: object, source: str) -> SigningKey:
    if not isinstance(kid, str) or not KID.fullmatch(kid):
        raise SigningKeyError(f"{source}: key ids are 1-64 characters: letters, digits, '.', '_' or '-'")
    if not isinstance(pem, str):
        raise SigningKeyError(f"{source}: key {kid!r} must be a PEM string")
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise SigningKeyError(f"{source}: key {kid!r} is not an unencrypted PEM private key") from None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise SigningKeyError(f"{source}: key {kid!r} must be on curve P-256 (ES256)")
        return SigningKey(kid, "ES256", key)
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise SigningKeyError(f"{source}: RSA key {kid!r} must have at least {MIN_RSA_BITS} bits")
        return SigningKey(kid, "RS256", key)
    raise SigningKeyError(f"{source}: key {kid!r} must be an EC P-256 or RSA key")


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """Signing keys by kid and the kid new tokens are signed with."""

    keys: Mapping[str, SigningKey] = field(repr=False)
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise SigningKeyError(f"the current signing key {self.current!r} is not among the keys")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    def __repr__(self) -> str:
        return f"SigningKeys(kids={sorted(self.keys)!r}, current={self.current!r})"

    @property
    def current_key(self) -> SigningKey:
        return self.keys[self.current]

    def jwks(self) -> dict[str, Any]:
        """The JWK Set of every public key (``GET /.well-known/jwks.json``)."""
        return {"keys": [self.keys[kid].jwk() for kid in sorted(self.keys)]}

    @classmethod
    def from_pems(cls, pems: Mapping[str, str], current: str, *, source: str = "signing keys") -> SigningKeys:
        if not pems:
            raise SigningKeyError(f"{source}: no keys")
        return cls({kid: _load_key(kid, pem, source) for kid, pem in pems.items()}, current)

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "signing keys") -> SigningKeys:
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SigningKeyError(f"{source} is not valid JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), dict):
            raise SigningKeyError(f'{source} must be an object with "keys" and "current"')
        current = document.get("current")
        if not isinstance(current, str):
            raise SigningKeyError(f'{source} must name its "current" key id')
        return cls.from_pems(document["keys"], current, source=source)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SigningKeys:
        """From ``EDI_AUTH_SIGNING_KEYS`` (the JSON) or ``EDI_AUTH_SIGNING_KEYS_FILE`` (its path)."""
        env = os.environ if environ is None else environ
        if env.get(ENV_SIGNING_KEYS):
            if env.get(ENV_SIGNING_KEYS_FILE):
                raise SigningKeyError(f"set only one of {ENV_SIGNING_KEYS} and {ENV_SIGNING_KEYS_FILE}")
            return cls.from_json(env[ENV_SIGNING_KEYS], source=ENV_SIGNING_KEYS)
        path = env.get(ENV_SIGNING_KEYS_FILE)
        if path:
            try:
                text = Path(path).read_bytes()
            except OSError as error:
                raise SigningKeyError(f"cannot read the signing key file {path!r}: {error.strerror}") from None
            return cls.from_json(text, source=f"signing key file {path!r}")
        raise SigningKeyError(
            f"no token signing keys: set {ENV_SIGNING_KEYS} (JSON) or {ENV_SIGNING_KEYS_FILE} (its path)"
        )
