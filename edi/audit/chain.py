"""The hash that links each audit entry to the one before it.

``hash = SHA-256(canonical JSON of {the entry's chained fields, position, prev_hash})``, with
``prev_hash`` of position 1 being 64 zeros. Canonical JSON (sorted keys, no whitespace, ASCII,
times as UTC ISO 8601 with microseconds) makes the bytes independent of the database and of the
driver, so an entry sealed on one machine verifies on any other. The format carries a version
number so it can change without making old chains unverifiable.

Covering the position and the previous hash is what makes the chain detect removal, insertion
and reordering, not only edits: moving or dropping any entry changes what some later entry's
hash should have covered.

The text is what ``json.dumps(document, sort_keys=True, separators=(",", ":"),
ensure_ascii=True)`` gives, but built directly: the keys are fixed, so their sorted order is known
once, and the values the columns hold (strings, integers, nulls, times) are encoded one by one
with ``json``'s own C string encoder into a template. Building and sorting a dict per entry was
most of the sealer's CPU (about seven entries per claim). Any other kind of value goes through
``json.dumps`` as before; tests/test_audit_chain.py pins the bytes and hashes of format 1.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]  # json.dumps' ASCII string encoder
from typing import Any

from edi.audit.models import CHAINED_FIELDS

__all__ = ["FORMAT_VERSION", "GENESIS", "canonical", "entry_hash", "row_hash"]

FORMAT_VERSION = 1
GENESIS = "0" * 64

# The document's keys in sorted order, and where each key's encoded value is found in the list
# ``_text`` builds: the chained fields' values in their order, then position, prev_hash and v.
_KEYS = sorted((*CHAINED_FIELDS, "v", "position", "prev_hash"))
_TEMPLATE = "{" + ",".join(f"{json.dumps(key)}:%s" for key in _KEYS) + "}"
_SORTED = operator.itemgetter(*((*CHAINED_FIELDS, "position", "prev_hash", "v").index(key) for key in _KEYS))
_VERSION = json.dumps(FORMAT_VERSION)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("audit times must be timezone-aware")
        return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat(timespec="microseconds")
    return value


def _json(value: Any) -> str:
    """``value`` as ``json.dumps`` writes it inside the canonical document."""
    kind = value.__class__
    if kind is str:
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if isinstance(value, datetime):
        return encode_basestring_ascii(_value(value))
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _text(values: Sequence[Any], position: int, prev_hash: str) -> str:
    # strings and nulls, most of the values, without a call each
    encoded = [encode_basestring_ascii(v) if v.__class__ is str else "null" if v is None else _json(v) for v in values]
    encoded += (_json(position), _json(prev_hash), _VERSION)
    return _TEMPLATE % _SORTED(encoded)


def canonical(entry: Mapping[str, Any], position: int, prev_hash: str) -> bytes:
    """The bytes an entry's hash is computed over."""
    return _text([entry[field] for field in CHAINED_FIELDS], position, prev_hash).encode("ascii")


def entry_hash(entry: Mapping[str, Any], position: int, prev_hash: str) -> str:
    return row_hash([entry[field] for field in CHAINED_FIELDS], position, prev_hash)


def row_hash(values: Sequence[Any], position: int, prev_hash: str) -> str:
    """``entry_hash`` of an entry given as its chained fields' values, in ``CHAINED_FIELDS`` order
    (a row of a ``select`` of those columns: the sealer's, with no mapping built per entry)."""
    return hashlib.sha256(_text(values, position, prev_hash).encode("ascii")).hexdigest()
