"""Keyed hashes of identifiers the store must look up but must not hold in plaintext.

A 277CA or 835 names the claims it answers by the provider's patient control number (CLM01),
which often embeds a medical record number or the patient's name. The store matches responses
by it, so it needs an equality lookup -- but a column of plaintext CLM01s is PHI at rest, and a
plain SHA-256 of a short number is reversed by trying every number. An HMAC-SHA256 under a
secret key kept outside the database gives the lookup (same value, same digest) without either:
a copy of the database alone tells nothing.

The key comes, like the payload master keys, from the environment (``EDI_LOOKUP_KEY``: base64 of
32 bytes) or a file (``EDI_LOOKUP_KEY_FILE``), else from ``lookup.key`` in the data directory,
created on first use (mode 0600). It cannot rotate the way payload keys do: every stored digest
depends on it. Changing it means recomputing the digests from the stored requests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ENV_KEY", "ENV_KEY_FILE", "KEY_BYTES", "LookupKey", "LookupKeyError"]

ENV_KEY = "EDI_LOOKUP_KEY"
ENV_KEY_FILE = "EDI_LOOKUP_KEY_FILE"
KEY_BYTES = 32
FILE_NAME = "lookup.key"


class LookupKeyError(ValueError):
    """The lookup key is missing or malformed (the message never holds key bytes)."""


class LookupKey:
    """HMAC-SHA256 digests of identifiers, each kind in its own domain."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise LookupKeyError(f"the lookup key must be {KEY_BYTES} bytes, not {len(key)}")
        self._key = key

    def __repr__(self) -> str:
        return "LookupKey(<hidden>)"

    def digest(self, kind: str, value: str) -> str:
        """64 hex digits; ``kind`` keeps equal values of different identifiers apart."""
        return hmac.new(self._key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def clm01(self, value: str) -> str:
        return self.digest("clm01", value)

    @classmethod
    def decode(cls, text: str, source: str) -> LookupKey:
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise LookupKeyError(f"{source}: the lookup key is not valid base64") from None
        if len(raw) != KEY_BYTES:
            raise LookupKeyError(f"{source}: the lookup key must decode to {KEY_BYTES} bytes, not {len(raw)}")
        return cls(raw)

    @classmethod
    def generate(cls) -> str:
        return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")

    @classmethod
    def load(cls, data_dir: Path, environ: Mapping[str, str] | None = None) -> LookupKey:
        """From the environment, its file, or ``data_dir/lookup.key`` (made once, atomically: two
        processes starting together end up with the same key)."""
        env = os.environ if environ is None else environ
        inline, named = env.get(ENV_KEY), env.get(ENV_KEY_FILE)
        if inline and named:
            raise LookupKeyError(f"set only one of {ENV_KEY} and {ENV_KEY_FILE}")
        if inline:
            return cls.decode(inline, ENV_KEY)
        path = Path(named) if named else data_dir / FILE_NAME
        if not named and not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            draft = data_dir / f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(cls.generate() + "\n")
            try:
                os.link(draft, path)  # complete or absent, never half-written; the first one wins
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        try:
            return cls.decode(path.read_text(encoding="ascii"), str(path))
        except OSError as error:
            raise LookupKeyError(f"cannot read the lookup key file {path}: {error.strerror or error}") from None
