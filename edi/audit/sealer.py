"""Sealing: giving unsealed audit entries their position in the chain and their hash.

Why a separate sealer: chaining needs each entry to know the hash of the one before, which is a
global order. Computing it while writing would make every pipeline transaction that audits
something queue behind every other one (a lock on the chain's tail held until commit). Instead
writers insert unsealed entries freely (``edi.audit.record``) and one sealer at a time chains
them afterwards, in batches, off the hot path.

One sealer at a time: on PostgreSQL a transaction-scoped advisory lock, taken before the chain's
tail is read (so under READ COMMITTED each sealer sees the previous one's commit); on SQLite the
store's ``BEGIN IMMEDIATE`` is already the single-writer lock. A unique constraint on
``position`` backs this up: two sealers could never both commit the same position.

Which entries, in which order -- concurrent commits out of id order: on PostgreSQL an entry's
id comes from a sequence when it is inserted, but the entry becomes visible only when its
transaction commits, so id 10 may commit after id 11 (on SQLite, ids are handed out and
committed under the one write lock, so this cannot happen there). Sealing in id order up to the
highest visible id would then have to either skip 10 forever or insert it before 11 and rewrite
the chain. A visibility horizon (seal only ids below the oldest running transaction) does not
rescue id order either: PostgreSQL assigns a transaction id after the sequence value is taken,
so a horizon on transaction ids does not bound entry ids, and one long transaction would stall
all sealing. So the chain order is not the id order: it is the order of sealing. The sealer
seals only what is committed (what its snapshot sees), in id order within a batch, and always
appends at the tail. An entry that commits late simply gets the next position when it becomes
visible; a sealed entry can never be preceded by a later one, and no writer is ever waited for.
Causality is preserved: if entry B was written after entry A had committed, any sealer that sees
B also sees A, and A's id is lower, so A gets the lower position. Entries of transactions that
were in flight together have no order between them to preserve.

Pending entries are found through a partial index on ``position IS NULL``, so a batch costs
what the backlog holds, not what the whole trail holds.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from edi.audit.chain import GENESIS, row_hash
from edi.audit.models import CHAINED_FIELDS, AuditEntry
from edi.store.repository import rows_json, update_from_json

__all__ = ["DEFAULT_BATCH", "SEAL_LOCK", "seal", "seal_all"]

SEAL_LOCK = int.from_bytes(b"EDIAUDIT", "big") & 0x7FFFFFFFFFFFFFFF  # bigint advisory lock key
DEFAULT_BATCH = 500  # keeps each sealing transaction (and SQLite's write lock) short

_table = AuditEntry.__table__
_ID = CHAINED_FIELDS.index("id")


def seal(engine: Engine, *, batch_size: int = DEFAULT_BATCH) -> int:
    """Seal up to ``batch_size`` committed, unsealed entries; returns how many were sealed."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    c = _table.c
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(SEAL_LOCK)))
        tail = connection.execute(
            select(c.position, c.hash).where(c.position.is_not(None)).order_by(c.position.desc()).limit(1)
        ).first()
        position, previous = (int(tail.position), str(tail.hash)) if tail is not None else (0, GENESIS)
        pending = connection.execute(  # rows, not mappings: row_hash reads the values in CHAINED_FIELDS order
            select(*(c[name] for name in CHAINED_FIELDS)).where(c.position.is_(None)).order_by(c.id).limit(batch_size)
        ).all()
        ids, positions, prevs, hashes = [], [], [], []
        for row in pending:
            position += 1
            digest = row_hash(row, position, previous)
            ids.append(row[_ID])
            positions.append(position)
            prevs.append(previous)
            hashes.append(digest)
            previous = digest
        if ids:
            _write(connection, ids, positions, prevs, hashes)
    return len(ids)


# PostgreSQL: one statement for the whole batch, its rows as one JSON parameter. An executemany
# of UPDATEs costs a statement per entry in the sealer and in PostgreSQL (about seven entries per
# claim); one array parameter per column cost psycopg an adaptation per element.
_PG_UPDATE = update_from_json(_table, "id", ("position", "prev_hash", "hash"))
_UPDATE = update(_table).where(_table.c.id == bindparam("entry_id")).values(
    position=bindparam("new_position"), prev_hash=bindparam("new_prev"), hash=bindparam("new_hash")
)


def _write(connection: Connection, ids: list[int], positions: list[int], prevs: list[str], hashes: list[str]) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(_PG_UPDATE, {"rows": rows_json([
            {"id": i, "position": p, "prev_hash": v, "hash": h}
            for i, p, v, h in zip(ids, positions, prevs, hashes, strict=True)
        ])})
    else:
        connection.execute(_UPDATE, [
            {"entry_id": i, "new_position": p, "new_prev": v, "new_hash": h}
            for i, p, v, h in zip(ids, positions, prevs, hashes, strict=True)
        ])


def seal_all(engine: Engine, *, batch_size: int = DEFAULT_BATCH) -> int:
    """Seal batch after batch until nothing committed is left unsealed; returns the total."""
    total = 0
    while True:
        sealed = seal(engine, batch_size=batch_size)
        total += sealed
        if sealed < batch_size:
            return total
