"""Checking the audit chain: is every sealed entry as it was sealed, and where is it not?

The walk goes through sealed entries by position and recomputes each hash from the stored
fields, its position and the previous entry's hash. Each kind of tampering shows as:

* an edited entry: its recomputed hash differs from the stored one (``altered`` at its position);
* a removed entry: a gap in the positions (``removed`` at the first missing position);
* a reordered entry (positions swapped, or contents swapped between rows): the hash covers the
  position, so the first moved entry no longer matches (``altered`` at that position);
* an inserted entry: a position claimed twice (``inserted``), or, when the following positions
  were shifted to make room, the first shifted entry no longer matches its position.

After a problem the walk resynchronises on the stored hashes, so one tampering gives one report
and later, independent ones are reported too (up to ``max_problems``).

After ``edi purge`` removed the oldest entries, the walk starts from the latest anchor
(``audit_anchors``: position and hash of the last removed entry) instead of position 1.

What a chain alone cannot show: someone with write access who rewrites every hash from the
tampered entry to the end, or drops entries at the tail. Against that, keep the head (position
and hash, printed by ``edi audit verify``) somewhere the database's administrators cannot write,
and pass it back as ``expect``: a chain that no longer contains that head is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from edi.audit.chain import GENESIS, entry_hash
from edi.audit.models import CHAINED_FIELDS, AuditAnchor, AuditEntry
from edi.store.models import READ_ONLY

__all__ = ["ChainProblem", "ChainReport", "verify_chain"]

_table = AuditEntry.__table__


@dataclass(frozen=True, slots=True)
class ChainProblem:
    position: int
    kind: str  # altered, removed, inserted, broken-link, anchor
    message: str

    def __str__(self) -> str:
        return f"position {self.position}: {self.kind}: {self.message}"


@dataclass(frozen=True, slots=True)
class ChainReport:
    sealed: int
    unsealed: int
    head_position: int
    head_hash: str
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> ChainProblem | None:
        return self.problems[0] if self.problems else None


def verify_chain(
    engine: Engine, *, expect: tuple[int, str] | None = None, max_problems: int = 20, batch: int = 2000
) -> ChainReport:
    """Walk the whole chain (streamed) and report every problem found, earliest first."""
    c = _table.c
    problems: list[ChainProblem] = []
    expected, previous, sealed = 1, GENESIS, 0
    anchor_seen = expect is None
    columns = [c[name] for name in CHAINED_FIELDS] + [c.position, c.prev_hash, c.hash]
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection, connection.begin():
        anchor = connection.execute(
            select(AuditAnchor.position, AuditAnchor.hash).order_by(AuditAnchor.position.desc()).limit(1)
        ).first()
        if anchor is not None:
            expected, previous = int(anchor.position) + 1, str(anchor.hash)
        unsealed = connection.execute(select(func.count()).where(c.position.is_(None))).scalar_one()
        result = connection.execution_options(yield_per=batch).execute(
            select(*columns).where(c.position.is_not(None)).order_by(c.position, c.id)
        ).mappings()
        for entry in result:
            if len(problems) >= max_problems:
                break
            sealed += 1
            position = int(entry["position"])
            resynced = False
            if position < expected:
                problems.append(ChainProblem(position, "inserted", "a second record claims this position"))
                continue
            if position > expected:
                missing = str(expected) if position == expected + 1 else f"{expected} to {position - 1}"
                problems.append(ChainProblem(expected, "removed", f"the record(s) at position {missing} are missing"))
                resynced = True
            if entry_hash(entry, position, entry["prev_hash"]) != entry["hash"]:
                problems.append(ChainProblem(
                    position, "altered", "the record does not match its hash (edited, or moved here from another position)"
                ))
            elif entry["prev_hash"] != previous and not resynced:
                problems.append(ChainProblem(
                    position, "broken-link",
                    "the record does not follow the one before it (a record before it was inserted, removed or moved)",
                ))
            if expect is not None and position == expect[0]:
                anchor_seen = True
                if entry["hash"] != expect[1]:
                    problems.append(ChainProblem(position, "anchor", "the record's hash differs from the expected head"))
            previous, expected = entry["hash"], position + 1
    if not anchor_seen and len(problems) < max_problems:
        assert expect is not None
        problems.append(ChainProblem(expect[0], "anchor", "the chain no longer reaches the expected head (truncated?)"))
    problems.sort(key=lambda p: p.position)
    return ChainReport(sealed, unsealed, expected - 1, previous, problems)
