"""Recomputing the stored CLM01 digests under the current lookup key, while the pipeline runs.

The store keeps no CLM01 in plaintext, so a digest can be recomputed only from the claim's own
request, which the payload store holds encrypted: each claim still digested under another key
has its request read, its CLM01 taken out in memory and digested under the current key, and
the row updated -- only if it still names the key it was read with, so a concurrent change
wins. The database says what is left (rows whose key id is not the current one), so a stopped
or killed rotation resumes by running again; no progress file to lose or trust.

Meanwhile lookups try every key of the ring (``Repository.pcn_digests``), so a 277CA or 835 for
a claim not yet recomputed still finds it. Roll out the ring holding the new key to every
process before making it current, and the ring with it current before rotating: a process
without the new key neither matches the claims digested under it nor writes them.

A claim whose request is gone (``edi purge`` removed the payloads of a finished transaction)
cannot be recomputed; its digest is forgotten (``forgotten``), or the old key could never be
retired. Such a claim is finished, and a late answer still finds it by the payer's claim
control number. A request that cannot be opened (its master key gone, an altered object) is
reported in ``failed`` and left as it is. Progress holds counts and key ids, never content.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edi.keys import UnknownKeyError
from edi.payloads import PayloadError, PayloadNotFoundError, PayloadStore
from edi.pipeline.intake import correlation_of
from edi.store import PayloadRecord, Repository, TransactionRecord
from edi.store.models import PayloadKind

__all__ = ["DEFAULT_BATCH", "LookupRotationProgress", "rotate_lookup_digests"]

DEFAULT_BATCH = 100


@dataclass(slots=True)
class LookupRotationProgress:
    """Counts only: how far a rotation got, and which claims it could not recompute."""

    key_id: str
    remaining_at_start: int = 0
    redigested: int = 0  # digests recomputed under the current key
    forgotten: int = 0  # finished claims whose request is gone: digest cleared
    changed: int = 0  # rows someone else changed meanwhile: left to them
    failed: list[str] = field(default_factory=list)  # "<transaction id>: <reason>", no content

    @property
    def done(self) -> int:
        return self.redigested + self.forgotten + self.changed + len(self.failed)


def _clm01(payloads: PayloadStore, record: TransactionRecord, requests: dict[str, list[PayloadRecord]]) -> str | None:
    """The CLM01 of a claim's latest stored request; None when it has no request any more."""
    stored = requests.get(record.id) or []
    if not stored:
        return None
    latest = stored[-1]
    data = json.loads(payloads.get(latest.uri, sha256=latest.sha256))
    return correlation_of(data).patient_control_number


def rotate_lookup_digests(
    repository: Repository,
    payloads: PayloadStore,
    *,
    batch_size: int = DEFAULT_BATCH,
    pause: float = 0.0,
    progress: Callable[[LookupRotationProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> LookupRotationProgress:
    """Recompute every CLM01 digest not made under the repository's current lookup key.

    ``pause`` seconds between batches leaves room to the pipeline; ``should_stop`` ends the run
    after the current batch (run it again to resume).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    ring = repository.lookup_key  # one ring for the whole run
    current = ring.current
    usage = repository.lookup_key_usage()
    report = LookupRotationProgress(current, sum(n for key_id, n in usage.items() if key_id != current))
    after = ""
    while not (should_stop is not None and should_stop()):
        batch = repository.digested_under_other_keys(current, after=after, limit=batch_size)
        if not batch:
            break
        after = batch[-1].id
        requests = repository.payloads_of([r.id for r in batch], PayloadKind.REQUEST_JSON)
        changes: list[tuple[str, str | None, str | None, str | None]] = []
        forgetting: set[str] = set()
        for record in batch:
            old_key = record.correlation.patient_control_number_key_id
            try:
                pcn = _clm01(payloads, record, requests)
            except PayloadNotFoundError:
                pcn = None
            except (PayloadError, UnknownKeyError, ValueError) as error:  # ValueError: not JSON
                report.failed.append(f"{record.id}: {type(error).__name__}")
                continue
            if pcn is not None:
                changes.append((record.id, old_key, ring.clm01(pcn), current))
            elif record.terminal:
                changes.append((record.id, old_key, None, None))
                forgetting.add(record.id)
            else:
                report.failed.append(f"{record.id}: its request holds no CLM01 to recompute the digest from")
        if changes:
            updated = repository.redigest(changes)
            for transaction_id, *_ in changes:
                if transaction_id not in updated:
                    report.changed += 1
                elif transaction_id in forgetting:
                    report.forgotten += 1
                else:
                    report.redigested += 1
        if progress is not None:
            progress(report)
        if pause > 0:
            time.sleep(pause)
    return report
