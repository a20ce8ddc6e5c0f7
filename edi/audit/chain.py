"""The hash that links each audit entry to the one before it.

``hash = SHA-256(canonical JSON of {the entry's chained fields, position, prev_hash})``, with
``prev_hash`` of position 1 being 64 zeros. Canonical JSON (sorted keys, no whitespace, ASCII,
times as UTC ISO 8601 with microseconds) makes the bytes independent of the database and of the
driver, so an entry sealed on one machine verifies on any other. The format carries a version
number so it can change without making old chains unverifiable.

Covering the position and the previous hash is what makes the chain detect removal, insertion
and reordering, not only edits: moving or dropping any entry changes what some later entry's
hash should have covered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from edi.audit.models import CHAINED_FIELDS

__all__ = ["FORMAT_VERSION", "GENESIS", "canonical", "entry_hash"]

FORMAT_VERSION = 1
GENESIS = "0" * 64


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("audit times must be timezone-aware")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def canonical(entry: Mapping[str, Any], position: int, prev_hash: str) -> bytes:
    """The bytes an entry's hash is computed over."""
    document = {field: _value(entry[field]) for field in CHAINED_FIELDS}
    document.update(v=FORMAT_VERSION, position=position, prev_hash=prev_hash)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def entry_hash(entry: Mapping[str, Any], position: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical(entry, position, prev_hash)).hexdigest()
