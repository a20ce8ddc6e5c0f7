"""Sealed column texts (``edi.sealed_text``): opened by the ring that sealed them, for the column
they were sealed for; older plaintext values read as stored; a changed text refuses to open."""

from __future__ import annotations

import base64
import os

import pytest

from edi.keys import KeyRing, UnknownKeyError
from edi.sealed_text import REPLY_TO, SealedTextError, key_id_of, open_text, reseal_text, seal_text

RING = KeyRing({"k1": os.urandom(32)}, "k1")
ADDRESS = '{"channel":"folder","file":"smith_john_19800101_MBR123.csv.responses.jsonl","target":"/drop/out"}'


def test_a_sealed_text_opens_to_itself_and_shows_nothing() -> None:
    sealed = seal_text(RING, ADDRESS, purpose=REPLY_TO)
    assert key_id_of(sealed) == "k1" and "smith" not in sealed and "19800101" not in sealed
    assert sealed != seal_text(RING, ADDRESS, purpose=REPLY_TO)  # a fresh nonce each time
    assert open_text(RING, sealed, purpose=REPLY_TO) == ADDRESS
    assert open_text(RING, ADDRESS, purpose=REPLY_TO) == ADDRESS  # stored before sealing: as it is
    assert key_id_of(ADDRESS) is None


def test_a_changed_moved_or_orphaned_text_refuses_to_open() -> None:
    sealed = seal_text(RING, ADDRESS, purpose=REPLY_TO)
    head, body = sealed.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(SealedTextError, match="failed authentication") as caught:
        open_text(RING, f"{head}:{base64.urlsafe_b64encode(bytes(raw)).decode()}", purpose=REPLY_TO)
    assert "smith" not in str(caught.value)
    with pytest.raises(SealedTextError):
        open_text(RING, sealed, purpose="another.column")
    with pytest.raises(UnknownKeyError):
        open_text(KeyRing({"k2": os.urandom(32)}, "k2"), sealed, purpose=REPLY_TO)


def test_reseal_moves_a_text_to_the_current_key_once() -> None:
    ring = RING.with_key("k2", base64.b64encode(os.urandom(32)).decode())
    old = seal_text(RING, ADDRESS, purpose=REPLY_TO)
    new = reseal_text(ring, old, purpose=REPLY_TO)
    assert new is not None and key_id_of(new) == "k2"
    assert open_text(ring.without_key("k1"), new, purpose=REPLY_TO) == ADDRESS
    assert reseal_text(ring, new, purpose=REPLY_TO) is None
    assert key_id_of(reseal_text(ring, ADDRESS, purpose=REPLY_TO) or "") == "k2"  # plaintext gets sealed
