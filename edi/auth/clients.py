"""OAuth2 clients: who may ask the token endpoint for a token, for which submitter and scopes.

A client belongs to exactly one submitter (the token's ``sub``), so a compromised client
secret exposes one submitter's traffic, and a submitter can rotate secrets by running two
clients side by side. Secrets are never stored: configuration holds a self-describing scrypt
hash (``scrypt$<n>$<r>$<p>$<salt>$<key>``, base64url), made by `hash_client_secret`. scrypt
(RFC 7914, in the standard library) is memory-hard, so a leaked configuration file does not let
an attacker test guesses cheaply; the per-secret random salt defeats precomputed tables. The
parameters travel with each hash so they can be raised later without invalidating old hashes.

Verification compares in constant time and spends the same scrypt work on unknown client ids,
so response times do not tell which client ids exist.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from edi.auth.scopes import Scope

__all__ = [
    "ClientRegistry",
    "OAuthClient",
    "RegisteredClient",
    "generate_client_secret",
    "hash_client_secret",
    "verify_client_secret",
]

# 2**15 * 8 * 128 bytes = 32 MiB and ~0.1 s per hash: OWASP's minimum for scrypt is N=2**17 with
# r=8 for passwords; client secrets here are 256-bit random values (no dictionary to try), so a
# lower N keeps the token endpoint responsive while still making bulk guessing expensive.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
_MAX_N = 2**20
_HASH = re.compile(r"scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)")
CLIENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES, maxmem=256 * n * r * p + 2**20
    )


def generate_client_secret() -> str:
    """A new client secret: 256 random bits, URL-safe (hand it to the client once, store its hash)."""
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """The value to put in configuration for ``secret``."""
    if not secret:
        raise ValueError("a client secret cannot be empty")
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_scrypt(secret, salt, n, r, p))}"


def _parse(hashed: str) -> tuple[int, int, int, bytes, bytes]:
    match = _HASH.fullmatch(hashed)
    if match is None:
        raise ValueError("not a client secret hash: expected scrypt$<n>$<r>$<p>$<salt>$<key>")
    n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    if n < 2 or n & (n - 1) or n > _MAX_N or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise ValueError("client secret hash parameters out of range (n a power of two <= 2**20, r <= 32, p <= 16)")
    return n, r, p, _unb64(match.group(4)), _unb64(match.group(5))


def verify_client_secret(secret: str, hashed: str) -> bool:
    """Does ``secret`` match the configured hash? (constant-time comparison)"""
    n, r, p, salt, key = _parse(hashed)
    return hmac.compare_digest(_scrypt(secret, salt, n, r, p), key)


class OAuthClient(BaseModel):
    """One client as configured under a submitter (``oauth_clients`` in the partners file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: Annotated[str, StringConstraints(pattern=CLIENT_ID)]
    secret_hash: str = Field(description="hash_client_secret(secret): scrypt$n$r$p$salt$key")
    scopes: list[Scope] = Field(min_length=1, description="the scopes this client may be granted")

    @field_validator("secret_hash")
    @classmethod
    def _well_formed(cls, value: str) -> str:
        _parse(value)  # the message names the expected form, never the value
        return value


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    client_id: str
    submitter_id: str
    scopes: frozenset[str]
    secret_hash: str


@functools.cache
def _dummy_hash() -> str:
    """A hash to spend the same work on for unknown client ids (made on first use, not at import)."""
    return hash_client_secret(secrets.token_urlsafe(16))


class ClientRegistry:
    """The clients the token endpoint accepts, by client id."""

    def __init__(self, clients: Iterable[RegisteredClient] = ()) -> None:
        by_id: dict[str, RegisteredClient] = {}
        for client in clients:
            if client.client_id in by_id:
                raise ValueError(f"client id {client.client_id!r} is configured twice")
            by_id[client.client_id] = client
        self._clients: Mapping[str, RegisteredClient] = MappingProxyType(by_id)

    @classmethod
    def from_submitters(cls, clients_by_submitter: Mapping[str, Iterable[OAuthClient]]) -> ClientRegistry:
        """From ``{submitter id: [OAuthClient, ...]}`` (e.g. the partners file's submitters)."""
        return cls(
            RegisteredClient(c.client_id, submitter_id, frozenset(s.value for s in c.scopes), c.secret_hash)
            for submitter_id, clients in clients_by_submitter.items()
            for c in clients
        )

    def __len__(self) -> int:
        return len(self._clients)

    def authenticate(self, client_id: str, secret: str) -> RegisteredClient | None:
        """The client if the id is known and the secret matches, else None (same cost either way)."""
        client = self._clients.get(client_id)
        ok = verify_client_secret(secret, client.secret_hash if client else _dummy_hash())
        return client if ok and client is not None else None
