"""Our validator's verdict, in the same terms as the pyx12 oracle.

The 999 segments our acknowledgment builder writes for each functional group are reduced by the
oracle's own `parse_999`, so the comparison covers the 999 we would send, not an internal shortcut.
Unlike `edi.x12.ack.acknowledge` (which sends only a TA1 when the envelope is rejected), every
group is reduced here, so that per-transaction verdicts stay comparable with pyx12's, which
always writes its 999.
"""

from __future__ import annotations

from edi.x12.ack import build_999_segments, build_ta1_segment
from edi.x12.validator import validate
from edi.x12.writer import FunctionalGroup, InterchangeHeader, TransactionSet, write_interchange

from .pyx12_oracle import GroupVerdict, Verdict, parse_999


def ours(data: bytes) -> Verdict:
    report = validate(data)
    ta1: str | None = None
    groups: list[GroupVerdict] = []
    for isa in report.interchanges:
        if ta1 is None and isa.envelope_errors:
            ta1 = isa.ta1_note
        fgs = [
            FunctionalGroup("FA", "R", "S", i + 1, "005010X231A1",
                            [TransactionSet("999", i + 1, build_999_segments(g), "005010X231A1")])
            for i, g in enumerate(isa.groups)
            if g.functional_id != "FA"
        ]
        header = InterchangeHeader("ZZ", "R", "ZZ", "S", 1)
        leading = [build_ta1_segment(isa)] if isa.envelope_errors else []
        groups.extend(parse_999(write_interchange(header, fgs, leading=leading)).groups)
    return Verdict(ta1, tuple(groups))
