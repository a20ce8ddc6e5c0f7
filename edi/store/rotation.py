"""Re-encrypting every stored payload under the current master key, while the pipeline runs.

The database, not a listing of the object store, says what is left to do: every ``payloads``
and ``inbound_documents`` row records the key id its object is wrapped with, so a rotation
that was stopped or killed resumes where it was by asking for rows not yet on the current
key -- no progress file to lose or trust.

Each object is rewritten in place (``PayloadStore.reseal``: write the new version, then replace
atomically -- a rename on disk, a single PUT on S3), so a reader never sees a missing or
half-written object; it sees the old or the new version, and both open while the old key is in
the ring. The rows are updated in one short transaction per batch right after their objects.
If the process dies in between, those rows still name the old key while their objects are
already on the new one: harmless (an object's own header names its key), and the next run
finds such objects already current and only corrects the rows.

A door's reply address (``transactions.reply_to``) is sealed under the same key ring
(``edi.sealed_text``): it is counted per key id with the objects, and rewritten after them, one
compare-and-set update per row (a row changed meanwhile is left for the next run); addresses
stored before sealing existed are sealed by the same pass.

Payloads written meanwhile use whatever key ring the writing process holds: roll out the ring
with the new current key to every process first, then rotate (``edi keys status`` shows any
stragglers; another rotation picks them up). An object whose rows ``edi purge`` removed while it
was being rewritten is deleted again rather than left behind. Progress reports counts and key
ids, never content.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select, update

from edi.keys import KeyRing, UnknownKeyError
from edi.payloads import EncryptedPayloadStore, PayloadError, PayloadNotFoundError
from edi.sealed_text import PREFIX, REPLY_TO, SealedTextError, key_id_of, reseal_text
from edi.store.models import READ_ONLY, InboundDocument, Payload, Transaction

__all__ = ["DEFAULT_BATCH", "RotationProgress", "key_usage", "rotate_payloads"]

DEFAULT_BATCH = 100
_TABLES = (Payload, InboundDocument)


@dataclass(slots=True)
class RotationProgress:
    """Counts only: how far a rotation got, and which objects it could not rewrite."""

    key_id: str
    remaining_at_start: int = 0
    rotated: int = 0  # objects rewritten under the current key
    corrected: int = 0  # objects already current whose rows still named an older key
    missing: int = 0  # rows whose object is gone (purged or lost): left as they are
    addresses: int = 0  # reply addresses (transactions.reply_to) sealed under the current key
    failed: list[str] = field(default_factory=list)  # "<uri>: <error class and message>", no content

    @property
    def done(self) -> int:
        return self.rotated + self.corrected + self.missing + self.addresses + len(self.failed)


def key_usage(engine: Engine) -> dict[str, int]:
    """How many stored objects each master key id protects (payload rows and inbound documents,
    counted by distinct object)."""
    counts: dict[str, int] = {}
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection, connection.begin():
        for table in _TABLES:
            rows = connection.execute(
                select(table.key_id, func.count(table.uri.distinct())).group_by(table.key_id)
            ).all()
            for key_id, count in rows:
                counts[key_id] = counts.get(key_id, 0) + int(count)
        # sealed reply addresses, one per row; the key id is in the first characters of each
        heads = connection.execute(select(func.substr(Transaction.reply_to, 1, len(PREFIX) + 65))
                                   .where(Transaction.reply_to.like(f"{PREFIX}%")))
        for (head,) in heads:
            try:
                key_id = key_id_of(head)
            except SealedTextError:
                continue
            if key_id is not None:
                counts[key_id] = counts.get(key_id, 0) + 1
    return counts


def _pending(engine: Engine, table: type[Payload] | type[InboundDocument], current: str, after: str,
             limit: int) -> list[str]:
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection, connection.begin():
        return list(connection.execute(
            select(table.uri).where(table.key_id != current, table.uri > after)
            .group_by(table.uri).order_by(table.uri).limit(limit)
        ).scalars())


def _remaining(engine: Engine, current: str) -> int:
    return sum(count for key_id, count in key_usage(engine).items() if key_id != current)


def rotate_payloads(
    engine: Engine,
    store: EncryptedPayloadStore,
    *,
    batch_size: int = DEFAULT_BATCH,
    pause: float = 0.0,
    progress: Callable[[RotationProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RotationProgress:
    """Rewrite every object whose row names a key other than the store's current one.

    ``pause`` seconds between batches leaves room to the pipeline; ``should_stop`` ends the run
    after the current batch (run it again to resume). Objects that fail to open (a key already
    removed from the ring, an altered object) are listed in ``failed`` and skipped, not raised.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    current = store.keyring.current  # one ring for the whole run
    report = RotationProgress(current, remaining_at_start=_remaining(engine, current))
    for table in _TABLES:
        after = ""
        while not (should_stop is not None and should_stop()):
            uris = _pending(engine, table, current, after, batch_size)
            if not uris:
                break
            after = uris[-1]
            settled: list[str] = []
            for uri in uris:
                try:
                    rewritten = store.reseal(uri)
                except PayloadNotFoundError:
                    report.missing += 1
                    continue
                except (PayloadError, UnknownKeyError) as error:
                    report.failed.append(f"{uri}: {type(error).__name__}: {error}")
                    continue
                if rewritten is not None and rewritten.new_key_id != current:
                    raise RuntimeError("the payload store's key ring changed during the rotation")
                settled.append(uri)
                if rewritten is None:
                    report.corrected += 1
                else:
                    report.rotated += 1
            if settled:
                with engine.begin() as connection:
                    referenced: set[str] = set()
                    for other in _TABLES:
                        connection.execute(
                            update(other).where(other.uri.in_(settled), other.key_id != current).values(key_id=current)
                        )
                        referenced.update(connection.execute(select(other.uri).where(other.uri.in_(settled))).scalars())
                for uri in set(settled) - referenced:
                    store.delete(uri)  # purged while we rewrote it: do not leave the rewrite behind
            if progress is not None:
                progress(report)
            if pause > 0:
                time.sleep(pause)
    _rotate_reply_addresses(engine, store.keyring, report, batch_size=batch_size, pause=pause, progress=progress,
                            should_stop=should_stop)
    return report


def _rotate_reply_addresses(engine: Engine, ring: KeyRing, report: RotationProgress, *, batch_size: int,
                            pause: float, progress: Callable[[RotationProgress], None] | None,
                            should_stop: Callable[[], bool] | None) -> None:
    """Seal every reply address not yet under the current key (older keys, or stored in plaintext)."""
    current = f"{PREFIX}{ring.current}:".replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    after = ""
    while not (should_stop is not None and should_stop()):
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection, connection.begin():
            rows = connection.execute(
                select(Transaction.id, Transaction.reply_to)
                .where(Transaction.reply_to.is_not(None), Transaction.reply_to.not_like(f"{current}%", escape="\\"),
                       Transaction.id > after)
                .order_by(Transaction.id).limit(batch_size)
            ).all()
        if not rows:
            return
        after = rows[-1][0]
        changes = []
        for transaction_id, stored in rows:
            try:
                sealed = reseal_text(ring, stored, purpose=REPLY_TO)
            except (SealedTextError, UnknownKeyError) as error:
                report.failed.append(f"transaction {transaction_id} reply address: {type(error).__name__}: {error}")
                continue
            if sealed is not None:
                changes.append((transaction_id, stored, sealed))
        if changes:
            with engine.begin() as connection:
                for transaction_id, stored, sealed in changes:
                    done = connection.execute(update(Transaction).where(
                        Transaction.id == transaction_id, Transaction.reply_to == stored).values(reply_to=sealed))
                    report.addresses += done.rowcount
        if progress is not None:
            progress(report)
        if pause > 0:
            time.sleep(pause)
