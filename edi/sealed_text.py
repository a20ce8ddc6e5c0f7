"""Short texts kept in a database column, sealed under the master key ring.

Some values the store must give back as they were, not just match on, carry PHI by accident: a
door's reply address names the file a submitter dropped (``smith_john_19800101.csv``), and the
answers must go to a file of that name in the submitter's own folder. A keyed digest
(``edi.lookup``) cannot give the name back, so such a value is sealed with AES-256-GCM instead,
under the key ring that protects the payloads (``edi.keys``): it rotates with them (``edi keys
rotate`` rewrites these texts too, ``edi keys status``/``retire`` count them).

Stored form: ``enc1:<key id>:<base64url of nonce | ciphertext and tag>``. The key is derived from
the master key with HKDF for one purpose (``purpose``, e.g. ``transactions.reply_to``), so a
sealed text cannot be moved to another column, or read as a payload key. Text without the
``enc1:`` prefix is returned as it is: rows written before sealing stay readable.
"""

from __future__ import annotations

import base64
import binascii
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from edi.keys import KEY_BYTES, KeyRing

__all__ = ["PREFIX", "REPLY_TO", "SealedTextError", "is_sealed", "key_id_of", "open_text", "reseal_text", "seal_text"]

PREFIX = "enc1:"
#: The purpose of ``transactions.reply_to``: a door's reply address, which may name the submitter's file.
REPLY_TO = "transactions.reply_to"
NONCE_BYTES = 12


class SealedTextError(ValueError):
    """A sealed text is malformed or fails authentication (the message never holds the text)."""


@lru_cache(maxsize=64)
def _derived(master: bytes, key_id: str, purpose: str) -> AESGCM:
    info = f"edi-sealed-text\x00{purpose}\x00{key_id}".encode()
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(master))


def _aad(purpose: str, key_id: str) -> bytes:
    return f"{PREFIX}{purpose}\x00{key_id}".encode()


def seal_text(keyring: KeyRing, text: str, *, purpose: str) -> str:
    """``text`` sealed under the ring's current key, in its stored form."""
    key_id = keyring.current
    nonce = os.urandom(NONCE_BYTES)
    sealed = _derived(keyring.current_key, key_id, purpose).encrypt(nonce, text.encode(), _aad(purpose, key_id))
    return f"{PREFIX}{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def key_id_of(stored: str) -> str | None:
    """The master key id a stored text is sealed with; None for a plaintext (older) value."""
    if not is_sealed(stored):
        return None
    key_id, colon, _rest = stored[len(PREFIX):].partition(":")
    if not colon or not key_id:
        raise SealedTextError("a sealed text without its key id")
    return key_id


def open_text(keyring: KeyRing, stored: str, *, purpose: str) -> str:
    """The text of a stored value: opened when sealed, as it is when written before sealing.

    ``UnknownKeyError`` (``edi.keys``) when its key was retired from the ring."""
    key_id = key_id_of(stored)
    if key_id is None:
        return stored
    try:
        blob = base64.urlsafe_b64decode(stored[len(PREFIX) + len(key_id) + 1:].encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SealedTextError(f"a sealed text under key {key_id!r} is not valid base64") from None
    if len(blob) < NONCE_BYTES + 16:
        raise SealedTextError(f"a sealed text under key {key_id!r} is truncated")
    try:
        plain = _derived(keyring.key(key_id), key_id, purpose).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(purpose, key_id))
    except InvalidTag:
        raise SealedTextError(f"a sealed text under key {key_id!r} failed authentication "
                              "(altered, moved from another column, or a different key under that id)") from None
    return plain.decode()


def reseal_text(keyring: KeyRing, stored: str, *, purpose: str) -> str | None:
    """The value sealed under the current key, or None when it already is."""
    if key_id_of(stored) == keyring.current:
        return None
    return seal_text(keyring, open_text(keyring, stored, purpose=purpose), purpose=purpose)
