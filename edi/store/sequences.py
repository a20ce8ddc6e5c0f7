"""Envelope control numbers (ISA13, GS06, ST02) per trading partner, never handed out twice.

A partner rejects or, worse, silently drops an interchange whose control number it has already
seen, so numbers must be unique per partner across restarts, crashes and concurrent workers.
Each number is one atomic ``UPDATE control_sequences SET last_value = last_value + n ...
RETURNING last_value``: the row lock held by that statement (PostgreSQL) or the database write
lock (SQLite, whose transactions here all start with ``BEGIN IMMEDIATE``) serializes allocators,
so no two callers ever read the same value.

**Allocate, then commit, then use.** ``SequenceAllocator.allocate`` commits the increment in a
transaction of its own before it returns; only a committed number ever reaches a caller. So:

* a process killed *before* that commit has handed out nothing: the database rolls the
  increment back and the same number goes to the next caller, which is safe because nobody
  could have put it in an interchange;
* a process killed *after* the commit (it got the number, then died before or while using it)
  leaves the number consumed forever: the next caller gets the one after. Crashes leave gaps,
  never duplicates.

Callers must therefore never allocate inside a database transaction whose commit they would
wait for before using the number (``allocate_in`` exists for tests and for callers that commit
before sending). At 999,999,999 a sequence wraps around to 1.

**Reserved blocks.** ``allocate_envelope(..., reserve=n)`` commits n numbers of each kind at once
and hands them out from memory, one envelope per call: the API's real-time path would otherwise
pay a commit per 270 for its numbers. The rule above holds (every number handed out was committed
first); numbers a process reserved and did not use when it stops are skipped -- gaps, never
duplicates -- and two processes' numbers interleave, which partners accept (they require unique
numbers, not consecutive ones).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, case, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from edi.store.models import READ_ONLY, ControlKind, ControlSequence, utcnow

__all__ = [
    "MAX_CONTROL_NUMBER",
    "ControlKind",
    "EnvelopeNumbers",
    "SequenceAllocator",
    "allocate_in",
]

MAX_CONTROL_NUMBER = 999_999_999  # nine digits: ISA13 is N0 9/9, GS06 N0 1/9, ST02 AN 4/9

_table = ControlSequence.__table__


@dataclass(frozen=True, slots=True)
class EnvelopeNumbers:
    """Everything one outbound interchange needs: ISA13, GS06 and one ST02 per transaction set."""

    isa13: int
    gs06: int
    st02: range


def _check(partner_id: str, count: int) -> None:
    if not partner_id or len(partner_id) > 64:
        raise ValueError("partner ids are 1 to 64 characters")
    if not 1 <= count <= MAX_CONTROL_NUMBER:
        raise ValueError(f"allocate between 1 and {MAX_CONTROL_NUMBER} numbers at a time")


def _ensure_row(connection: Connection, partner_id: str, kind: ControlKind) -> None:
    values = {"partner_id": partner_id, "kind": kind.value, "last_value": 0, "updated_at": utcnow()}
    if connection.dialect.name == "postgresql":
        statement = postgresql_insert(_table).values(values).on_conflict_do_nothing()
    elif connection.dialect.name == "sqlite":
        statement = sqlite_insert(_table).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported databases
        raise NotImplementedError(f"control sequences on {connection.dialect.name}")
    connection.execute(statement)


def allocate_in(connection: Connection, partner_id: str, kind: ControlKind | str, count: int = 1) -> range:
    """Take ``count`` consecutive numbers inside the caller's transaction, without committing.

    The numbers are not safe to use until that transaction has committed (see the module).
    """
    kind = ControlKind(kind)
    _check(partner_id, count)
    column = _table.c.last_value
    increment = (
        update(_table)
        .where(_table.c.partner_id == partner_id, _table.c.kind == kind.value)
        .values(last_value=case((column + count > MAX_CONTROL_NUMBER, count), else_=column + count),
                updated_at=utcnow())
        .returning(column)
    )
    last = connection.execute(increment).scalar_one_or_none()
    if last is None:  # the partner's first number of this kind
        _ensure_row(connection, partner_id, kind)
        last = connection.execute(increment).scalar_one()
    return range(last - count + 1, last + 1)


class SequenceAllocator:
    """Hands out committed control numbers from the store's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._reserved: dict[str, deque[tuple[int, int, int]]] = {}

    def allocate(self, partner_id: str, kind: ControlKind | str, count: int = 1) -> range:
        """``count`` consecutive numbers, committed before they are returned."""
        with self.engine.begin() as connection:
            numbers = allocate_in(connection, partner_id, kind, count)
        return numbers

    def next(self, partner_id: str, kind: ControlKind | str) -> int:
        """One committed number."""
        return self.allocate(partner_id, kind, 1)[0]

    def allocate_envelope(self, partner_id: str, transaction_sets: int = 1, *, reserve: int = 1) -> EnvelopeNumbers:
        """ISA13, GS06 and ``transaction_sets`` ST02 numbers, all in one commit; with ``reserve`` > 1
        (one transaction set only) from a block of that many envelopes committed at once."""
        if reserve > 1 and transaction_sets == 1:
            with self._lock:
                block = self._reserved.get(partner_id)
                if not block:
                    with self.engine.begin() as connection:
                        isa13 = allocate_in(connection, partner_id, ControlKind.ISA13, reserve)
                        gs06 = allocate_in(connection, partner_id, ControlKind.GS06, reserve)
                        st02 = allocate_in(connection, partner_id, ControlKind.ST02, reserve)
                    block = self._reserved[partner_id] = deque(zip(isa13, gs06, st02, strict=True))
                isa, gs, st = block.popleft()
            return EnvelopeNumbers(isa, gs, range(st, st + 1))
        with self.engine.begin() as connection:
            isa13 = allocate_in(connection, partner_id, ControlKind.ISA13)[0]
            gs06 = allocate_in(connection, partner_id, ControlKind.GS06)[0]
            st02 = allocate_in(connection, partner_id, ControlKind.ST02, transaction_sets)
        return EnvelopeNumbers(isa13, gs06, st02)

    def last(self, partner_id: str, kind: ControlKind | str) -> int:
        """The last number handed out (0 before the first)."""
        kind = ControlKind(kind)
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            value = connection.execute(
                select(_table.c.last_value).where(_table.c.partner_id == partner_id, _table.c.kind == kind.value)
            ).scalar_one_or_none()
        return value or 0

    def advance_to(self, partner_id: str, kind: ControlKind | str, last_value: int) -> int:
        """Move a sequence forward so the next number follows ``last_value`` (never backwards).

        For taking over from another system: numbers it already used are skipped. Returns the
        sequence's last value afterwards.
        """
        kind = ControlKind(kind)
        _check(partner_id, 1)
        if not 0 <= last_value < MAX_CONTROL_NUMBER:
            raise ValueError(f"control numbers run from 1 to {MAX_CONTROL_NUMBER}")
        column = _table.c.last_value
        with self.engine.begin() as connection:
            _ensure_row(connection, partner_id, kind)
            return connection.execute(
                update(_table)
                .where(_table.c.partner_id == partner_id, _table.c.kind == kind.value)
                .values(last_value=case((column < last_value, last_value), else_=column), updated_at=utcnow())
                .returning(column)
            ).scalar_one()
