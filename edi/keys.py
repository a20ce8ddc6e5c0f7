"""The master key ring: which AES-256 keys protect stored payloads, and which one is current.

Payloads are encrypted with a fresh data key each, and that data key is wrapped by a master key
(envelope encryption, see ``edi.payloads``). Master keys never live in code or in the database:
they come from the environment or from a file the operator controls, as JSON::

    {"keys": {"k1": "<base64 of 32 random bytes>", "k2": "..."}, "current": "k2"}

``EDI_MASTER_KEYS`` holds that document itself; ``EDI_MASTER_KEYS_FILE`` names a file holding it.
Every stored payload records the id of the key that wrapped it, so rotation is: add a new key,
make it current (new payloads use it, old ones still decrypt with theirs), run the payload store's
``rotate()`` to rewrite old payloads under the current key, then drop the old key from the ring.

Errors here name key ids and sources, never key material.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

__all__ = [
    "ENV_KEYS",
    "ENV_KEYS_FILE",
    "KEY_BYTES",
    "KeyRing",
    "KeyRingError",
    "UnknownKeyError",
    "decode_key",
    "generate_key",
]

ENV_KEYS = "EDI_MASTER_KEYS"
ENV_KEYS_FILE = "EDI_MASTER_KEYS_FILE"
KEY_BYTES = 32  # AES-256
KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # stored in every payload header and row


class KeyRingError(ValueError):
    """The key ring configuration is missing or malformed (the message never holds key bytes)."""


class UnknownKeyError(KeyError):
    """A payload names a master key id that the ring does not hold (retired too early?)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(key_id)
        self.key_id = key_id

    def __str__(self) -> str:
        return f"master key {self.key_id!r} is not in the key ring"


def generate_key() -> str:
    """A new random master key, base64-encoded, ready for the key ring JSON."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def decode_key(key_id: str, text: object, *, what: str = "master key") -> bytes:
    """The 32 bytes of one base64 key; ``what`` names the kind of key in errors (the lookup key
    ring of ``edi.lookup`` reads its keys here too)."""
    if not isinstance(text, str):
        raise KeyRingError(f"{what} {key_id!r} must be a base64 string")
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError(f"{what} {key_id!r} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyRingError(f"{what} {key_id!r} must decode to {KEY_BYTES} bytes, not {len(raw)}")
    return raw


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Master keys by id and the id of the one new payloads are wrapped with."""

    keys: Mapping[str, bytes] = field(repr=False)
    current: str

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("the key ring holds no keys")
        for key_id, key in self.keys.items():
            if not isinstance(key_id, str) or not KEY_ID.fullmatch(key_id):
                raise KeyRingError("key ids are 1-64 characters: letters, digits, '.', '_' or '-'")
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise KeyRingError(f"master key {key_id!r} must be {KEY_BYTES} bytes")
        if self.current not in self.keys:
            raise KeyRingError(f"the current key {self.current!r} is not in the key ring")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    def __repr__(self) -> str:
        return f"KeyRing(ids={sorted(self.keys)!r}, current={self.current!r})"

    @property
    def current_key(self) -> bytes:
        return self.keys[self.current]

    def key(self, key_id: str) -> bytes:
        """The master key with this id; ``UnknownKeyError`` if the ring does not hold it."""
        try:
            return self.keys[key_id]
        except KeyError:
            raise UnknownKeyError(key_id) from None

    def with_key(self, key_id: str, key: bytes | str, *, current: bool = True) -> KeyRing:
        """A new ring with one more key (base64 text or raw bytes), current unless told otherwise."""
        raw = decode_key(key_id, key) if isinstance(key, str) else key
        if key_id in self.keys and self.keys[key_id] != raw:
            raise KeyRingError(f"key id {key_id!r} is already used by another key")
        return KeyRing({**self.keys, key_id: raw}, key_id if current else self.current)

    def without_key(self, key_id: str) -> KeyRing:
        """A new ring without a retired key (never the current one)."""
        if key_id == self.current:
            raise KeyRingError(f"cannot remove the current key {key_id!r}")
        return KeyRing({k: v for k, v in self.keys.items() if k != key_id}, self.current)

    # -- loading and saving ----------------------------------------------------------------

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "key ring", what: str = "master key") -> KeyRing:
        """Parse ``{"keys": {id: base64}, "current": id}``; ``source`` and ``what`` (the kind of
        key) name it in errors."""
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise KeyRingError(f"{source} is not valid JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), dict):
            raise KeyRingError(f'{source} must be an object with "keys" and "current"')
        current = document.get("current")
        if not isinstance(current, str):
            raise KeyRingError(f'{source} must name its "current" key id')
        keys = {str(key_id): decode_key(str(key_id), value, what=what) for key_id, value in document["keys"].items()}
        try:
            return cls(keys, current)
        except KeyRingError as error:
            raise KeyRingError(f"{source}: {error}") from None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> KeyRing:
        """Load the JSON key ring from a file."""
        try:
            text = Path(path).read_bytes()
        except OSError as error:
            raise KeyRingError(f"cannot read the key file {os.fspath(path)!r}: {error.strerror}") from None
        return cls.from_json(text, source=f"key file {os.fspath(path)!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KeyRing:
        """Load from ``EDI_MASTER_KEYS`` (the JSON itself) or ``EDI_MASTER_KEYS_FILE`` (its path)."""
        env = os.environ if environ is None else environ
        if env.get(ENV_KEYS):
            if env.get(ENV_KEYS_FILE):
                raise KeyRingError(f"set only one of {ENV_KEYS} and {ENV_KEYS_FILE}")
            return cls.from_json(env[ENV_KEYS], source=ENV_KEYS)
        if env.get(ENV_KEYS_FILE):
            return cls.from_file(env[ENV_KEYS_FILE])
        raise KeyRingError(f"no master keys: set {ENV_KEYS} (key ring JSON) or {ENV_KEYS_FILE} (its path)")

    def to_json(self) -> str:
        """The ring as key ring JSON (secret: write it only where keys belong)."""
        keys = {key_id: base64.b64encode(key).decode("ascii") for key_id, key in self.keys.items()}
        return json.dumps({"keys": keys, "current": self.current}, indent=2)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the ring to a file readable by its owner only, replacing it atomically."""
        target = Path(path)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(self.to_json())
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
