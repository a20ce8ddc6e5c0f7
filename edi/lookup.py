"""Keyed hashes of identifiers the store must look up but must not hold in plaintext.

A 277CA or 835 names the claims it answers by the provider's patient control number (CLM01),
which often embeds a medical record number or the patient's name. The store matches responses
by it, so it needs an equality lookup -- but a column of plaintext CLM01s is PHI at rest, and a
plain SHA-256 of a short number is reversed by trying every number. An HMAC-SHA256 under a
secret key kept outside the database gives the lookup (same value, same digest) without either:
a copy of the database alone tells nothing.

The keys form a ring like the payload master keys (``edi.keys.KeyRing``: ids, one current):
new digests are made under the current key and the store records which key made each, while
a lookup computes the digest under every key of the ring, so rows digested under an older key
still match until ``edi lookup-keys rotate`` has recomputed them (``edi.pipeline.lookup_rotation``)
and the old key can be retired.

The ring comes from the environment (``EDI_LOOKUP_KEY``) or a file (``EDI_LOOKUP_KEY_FILE``),
else from ``lookup.key`` in the data directory, created on first use (mode 0600). Each holds
either the key ring JSON of ``edi.keys`` or -- the format from before rotation, still read --
one base64 key, which is then the ring's only key, with the id ``l1``: the id migration 0008
gave every digest stored until then.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from edi.keys import KEY_BYTES, KeyRing, KeyRingError, decode_key, generate_key

__all__ = ["ENV_KEY", "ENV_KEY_FILE", "KEY_BYTES", "LEGACY_KEY_ID", "LookupKey", "LookupKeyError"]

ENV_KEY = "EDI_LOOKUP_KEY"
ENV_KEY_FILE = "EDI_LOOKUP_KEY_FILE"
FILE_NAME = "lookup.key"
LEGACY_KEY_ID = "l1"  # a single-key lookup.key, and every digest stored before key ids were
_WHAT = "lookup key"


class LookupKeyError(KeyRingError):
    """The lookup key ring is missing or malformed (the message never holds key bytes)."""


class LookupKey:
    """The lookup key ring: HMAC-SHA256 digests of identifiers, each kind in its own domain,
    made under the current key and looked up under every key."""

    __slots__ = ("ring",)

    def __init__(self, keys: bytes | KeyRing) -> None:
        """One raw key (the ring of just ``l1``) or a ring."""
        if isinstance(keys, bytes):
            if len(keys) != KEY_BYTES:
                raise LookupKeyError(f"the lookup key must be {KEY_BYTES} bytes, not {len(keys)}")
            keys = KeyRing({LEGACY_KEY_ID: keys}, LEGACY_KEY_ID)
        self.ring = keys

    def __repr__(self) -> str:
        return f"LookupKey(ids={sorted(self.ring.keys)!r}, current={self.ring.current!r})"

    @property
    def current(self) -> str:
        """The id of the key new digests are made with."""
        return self.ring.current

    def digest(self, kind: str, value: str) -> str:
        """64 hex digits under the current key; ``kind`` keeps equal values of different
        identifiers apart."""
        return self.digest_with(self.ring.current, kind, value)

    def digest_with(self, key_id: str, kind: str, value: str) -> str:
        return hmac.new(self.ring.key(key_id), f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def digests(self, kind: str, value: str) -> list[str]:
        """The digest under every key of the ring, current first: what a lookup must try while
        stored rows are on different keys."""
        ids = [self.ring.current, *sorted(k for k in self.ring.keys if k != self.ring.current)]
        return [self.digest_with(key_id, kind, value) for key_id in ids]

    def clm01(self, value: str) -> str:
        return self.digest("clm01", value)

    def clm01_all(self, value: str) -> list[str]:
        return self.digests("clm01", value)

    # -- loading and saving ----------------------------------------------------------------

    @classmethod
    def parse(cls, text: str, source: str) -> LookupKey:
        """Key ring JSON, or one base64 key (the ring of just ``l1``); ``source`` names it in errors."""
        try:
            if text.lstrip().startswith("{"):
                return cls(KeyRing.from_json(text, source=source, what=_WHAT))
            return cls(decode_key(LEGACY_KEY_ID, text, what=f"{source}: {_WHAT}"))
        except LookupKeyError:
            raise
        except KeyRingError as error:
            raise LookupKeyError(str(error)) from None

    @classmethod
    def generate(cls) -> str:
        return generate_key()

    @classmethod
    def load(cls, data_dir: Path, environ: Mapping[str, str] | None = None) -> LookupKey:
        """From the environment, its file, or ``data_dir/lookup.key`` (made once, atomically: two
        processes starting together end up with the same key)."""
        env = os.environ if environ is None else environ
        inline, named = env.get(ENV_KEY), env.get(ENV_KEY_FILE)
        if inline and named:
            raise LookupKeyError(f"set only one of {ENV_KEY} and {ENV_KEY_FILE}")
        if inline:
            return cls.parse(inline, ENV_KEY)
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
        return cls.from_file(path)

    @classmethod
    def from_file(cls, path: Path) -> LookupKey:
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not ASCII text"
            raise LookupKeyError(f"cannot read the lookup key file {path}: {reason or error}") from None
        return cls.parse(text, f"lookup key file {str(path)!r}")

    def save(self, path: Path) -> None:
        """Write the ring as key ring JSON, readable by its owner only, replacing it atomically."""
        self.ring.save(path)
