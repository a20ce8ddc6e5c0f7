"""Reading a transaction set by guide loop ids, for the X12-to-JSON mappers.

The generic JSON form (`edi.x12.generic_json`) already places every segment in its loop; this
module gives mappers a small typed view over it (loops by id, segments by id and qualifier,
element and component values by position), so that no mapper re-implements X12 parsing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from edi.x12.delimiters import Delimiters
from edi.x12.generic_json import read_document, split_elements
from edi.x12.grammar import LoopRule
from edi.x12.reader import Source

__all__ = ["Seg", "Loop", "Transaction", "read_transactions"]


@dataclass(slots=True)
class Seg:
    id: str
    elements: list[Any]  # str | list[str] (composite) | list[list[str]] (repetition)

    def get(self, pos: int, comp: int | None = None, default: str = "") -> str:
        """Element `pos` (1-based); with `comp`, that component (1-based). First repetition only."""
        elements = self.elements
        if pos < 1 or pos > len(elements):
            return default
        v = elements[pos - 1]
        if type(v) is str:  # the common case, first: mappers read thousands of elements a file
            if comp is not None and comp > 1:
                return default
            return v if v != "" else default
        if isinstance(v, list) and v and isinstance(v[0], list):
            v = v[0]
        if isinstance(v, list):
            if comp is None:
                comp = 1
            return v[comp - 1] if comp <= len(v) else default
        if comp is not None and comp > 1:
            return default
        return v if v != "" else default

    def components(self, pos: int) -> list[str]:
        """All components of element `pos` (a simple value gives a one-item list)."""
        if pos < 1 or pos > len(self.elements):
            return []
        v = self.elements[pos - 1]
        if isinstance(v, list) and v and isinstance(v[0], list):
            v = v[0]
        return list(v) if isinstance(v, list) else ([v] if v else [])

    def repeats(self, pos: int) -> list[list[str]]:
        """Every repetition of element `pos`, each as its list of components."""
        if pos < 1 or pos > len(self.elements):
            return []
        v = self.elements[pos - 1]
        if isinstance(v, list) and v and isinstance(v[0], list):
            return [list(r) for r in v]
        if isinstance(v, list):
            return [list(v)]
        return [[v]] if v else []

    @property
    def qualifier(self) -> str:
        return self.get(1)


_NONE: list = []  # no segments (never changed: every caller gets a copy or reads it)


@dataclass(slots=True)
class Loop:
    id: str
    items: list[Any]  # Seg | Loop in document order; not changed once read
    # Direct segments and direct child loops by id, in order: built together on the first
    # look-up of either (a mapper asks each loop for a dozen ids, each a scan of every item
    # otherwise; a 2000A holding a thousand 2000B loops made reading a set quadratic).
    _by_id: dict[str, list[Seg]] | None = field(default=None, init=False, repr=False, compare=False)
    _loops_by_id: dict[str, list[Loop]] | None = field(default=None, init=False, repr=False, compare=False)

    def _index(self) -> None:
        segs: dict[str, list[Seg]] = {}
        loops: dict[str, list[Loop]] = {}
        for it in self.items:
            if isinstance(it, Seg):
                segs.setdefault(it.id, []).append(it)
            elif isinstance(it, Loop):
                loops.setdefault(it.id, []).append(it)
        self._by_id, self._loops_by_id = segs, loops

    def _found(self, seg_id: str) -> list[Seg]:
        by_id = self._by_id
        if by_id is None:
            self._index()
            by_id = self._by_id
        return by_id.get(seg_id, _NONE)  # type: ignore[union-attr]

    def segments(self, seg_id: str | None = None, qualifier: str | tuple[str, ...] | None = None) -> list[Seg]:
        """Direct segments of this loop, optionally filtered by id and first-element qualifier."""
        found = [it for it in self.items if isinstance(it, Seg)] if seg_id is None else self._found(seg_id)
        if qualifier is None:
            return list(found)
        if isinstance(qualifier, tuple):
            return [it for it in found if it.get(1) == qualifier or it.get(1) in qualifier]
        return [it for it in found if it.get(1) == qualifier]

    def first(self, seg_id: str, qualifier: str | tuple[str, ...] | None = None) -> Seg | None:
        """`segments(seg_id, qualifier)[0]`, or None, without building the list."""
        found = self._found(seg_id)
        if qualifier is None:
            return found[0] if found else None
        if isinstance(qualifier, tuple):
            for it in found:
                q = it.get(1)
                if q == qualifier or q in qualifier:
                    return it
            return None
        for it in found:
            if it.get(1) == qualifier:
                return it
        return None

    def loops(self, loop_id: str | None = None) -> list[Loop]:
        if loop_id is None:
            return [it for it in self.items if isinstance(it, Loop)]
        by_id = self._loops_by_id
        if by_id is None:
            self._index()
            by_id = self._loops_by_id
        return list(by_id.get(loop_id, ()))  # type: ignore[union-attr]

    def loop(self, loop_id: str) -> Loop | None:
        by_id = self._loops_by_id
        if by_id is None:
            self._index()
            by_id = self._loops_by_id
        found = by_id.get(loop_id)  # type: ignore[union-attr]
        return found[0] if found else None

    def walk(self, loop_id: str) -> Iterator[Loop]:
        """Every loop with `loop_id` at any depth below, in document order."""
        for it in self.items:
            if isinstance(it, Loop):
                if it.id == loop_id:
                    yield it
                yield from it.walk(loop_id)


@dataclass(slots=True)
class Transaction:
    transaction_set_id: str  # ST01
    control_number: str  # ST02
    version: str  # ST03 or GS08
    functional_id: str  # GS01
    group_control_number: str  # GS06
    interchange_control_number: str  # ISA13
    sender_id: str  # ISA06 (trimmed)
    receiver_id: str  # ISA08 (trimmed)
    body: Loop  # loop id "" holds the header segments and the top loops
    isa: list[str]
    gs: list[Any]


def _segment(seg: list[str], d: Delimiters) -> Seg:
    return Seg(seg[0], split_elements(seg, d))


def _loop(rule: LoopRule, content: list[Any]) -> Loop:
    return Loop(rule.id, content)


def read_transactions(source: Source) -> list[Transaction]:
    """Every transaction set of every interchange in `source`, as loop trees."""
    doc = read_document(source, make_segment=_segment, make_loop=_loop)
    out = []
    for isa in doc["interchanges"]:
        for g in isa["groups"]:
            gs = g.get("GS") or []
            gseg = Seg("GS", gs)
            for t in g["transactions"]:
                st = Seg("ST", t["ST"])
                out.append(
                    Transaction(
                        transaction_set_id=st.get(1),
                        control_number=st.get(2),
                        version=st.get(3) or gseg.get(8),
                        functional_id=gseg.get(1),
                        group_control_number=gseg.get(6),
                        interchange_control_number=isa["ISA"][12],
                        sender_id=isa["ISA"][5].strip(),
                        receiver_id=isa["ISA"][7].strip(),
                        body=Loop("", t["body"]),
                        isa=isa["ISA"],
                        gs=gs,
                    )
                )
    return out
