"""Everything a stage handler needs, in one value passed explicitly (no globals)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from edi.keys import KeyRing
from edi.partners import PartnersConfig
from edi.payloads import PayloadStore, StoredPayload
from edi.sealed_text import REPLY_TO, open_text, seal_text
from edi.store import ALL_SUBMITTERS, PayloadRecord, Repository, SequenceAllocator
from edi.store.models import PayloadKind, utcnow

__all__ = ["Pipeline", "Timings"]


@dataclass(frozen=True, slots=True)
class Timings:
    """How long things may take and how retries spread out (seconds)."""

    realtime_budget: float = 20.0  # CAQH CORE: the whole 270/271 round trip
    transport_retry_base: float = 2.0  # backoff after a partner could not be reached
    transport_retry_cap: float = 300.0
    transport_max_attempts: int = 0  # 0: keep trying (a partner outage is waited out)
    transport_give_up_after: float = 24 * 3600.0  # then the transaction fails
    stale_after: float = 300.0  # a non-terminal transaction untouched this long is re-queued
    delivery_max_attempts: int = 8
    delivery_retry_base: float = 1.0
    delivery_retry_cap: float = 600.0
    delivery_lease: float = 30.0  # a delivery worker's hold on a transaction's callbacks (renewed while sending)
    delivery_busy_retry: float = 1.0  # a transaction another worker is delivering is looked at again then


@dataclass(slots=True)
class Pipeline:
    repository: Repository
    payloads: PayloadStore
    partners: PartnersConfig
    sequences: SequenceAllocator
    timings: Timings = field(default_factory=Timings)
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)

    def now(self) -> datetime:
        return self.clock()

    def later(self, seconds: float) -> datetime:
        return self.clock() + timedelta(seconds=seconds)

    def backoff(self, attempt: int, base: float, cap: float) -> float:
        """Full-jitter exponential backoff for retry number ``attempt`` (1 = after the first failure)."""
        ceiling = min(cap, base * 2.0 ** min(max(attempt - 1, 0), 60))
        return ceiling / 2 + self.rng.random() * ceiling / 2

    # payloads ------------------------------------------------------------------------------

    def put_json(self, data: Any) -> StoredPayload:
        return self.payloads.put(canonical_json(data))

    def read(self, record: PayloadRecord | StoredPayload) -> bytes:
        return self.payloads.get(record.uri, sha256=record.sha256)

    def payload_of(
        self, transaction_id: str, kind: PayloadKind, document_type: str | None = None
    ) -> PayloadRecord | None:
        """The latest payload of that kind (and type) recorded for the transaction."""
        found = [
            p for p in self.repository.payloads(transaction_id, submitter_id=ALL_SUBMITTERS)
            if p.kind is kind and (document_type is None or p.document_type == document_type)
        ]
        return found[-1] if found else None

    # reply addresses -------------------------------------------------------------------------

    @property
    def keyring(self) -> KeyRing:
        ring = getattr(self.payloads, "keyring", None)
        if not isinstance(ring, KeyRing):
            raise TypeError("the payload store has no key ring: reply addresses cannot be sealed")
        return ring

    def seal_reply_to(self, address: str | None) -> str | None:
        """A door's reply address as it is stored: sealed, since it may name the submitter's file
        (``transactions.reply_to`` must not hold a name like ``smith_john_19800101.csv``)."""
        return None if address is None else seal_text(self.keyring, address, purpose=REPLY_TO)

    def reply_to(self, record: Any) -> str | None:
        """The reply address (JSON text) of a transaction; rows from before sealing read as stored."""
        stored = record.reply_to
        return None if stored is None else open_text(self.keyring, stored, purpose=REPLY_TO)


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
