"""999 (005010X231A1) and TA1 acknowledgments built from validation findings.

The acknowledgment goes back to the sender, so its envelope mirrors the one received (sender and
receiver swapped, same usage indicator). One 999 transaction set answers one functional group.
A TA1 is added when ISA14 asks for one, and it replaces the 999s when the interchange envelope
itself is rejected: the groups inside an unreadable envelope are not acknowledged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .delimiters import DEFAULT_DELIMITERS, Delimiters
from .findings import Finding, GroupResult, InterchangeResult, TransactionResult, ValidationReport
from .writer import FunctionalGroup, InterchangeHeader, Segment, TransactionSet, write_interchange

__all__ = ["AckNumbers", "build_999_segments", "build_ta1_segment", "acknowledge", "acknowledge_report"]

ACK_VERSION = "005010X231A1"
_IK3_CODES = frozenset(["1", "2", "3", "4", "5", "6", "7", "8", "I4", "I6", "I7", "I8", "I9"])
_IK4_CODES = frozenset(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "13", "I10", "I11", "I12", "I13", "I6", "I9"])
_IK5_CODES = frozenset(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "15", "16", "17", "18", "19", "23", "24", "25", "26", "27", "I5", "I6"])
_AK9_CODES = frozenset(["1", "2", "3", "4", "5", "6", "16", "17", "18", "19", "23", "24", "25", "26"])


@dataclass(slots=True)
class AckNumbers:
    """Control numbers for the acknowledgment interchange, handed in by the caller's sequences."""

    interchange: int
    group: int
    first_transaction: int = 1


def build_999_segments(group: GroupResult, delimiters: Delimiters = DEFAULT_DELIMITERS) -> list[Segment]:
    """The body of one 999 transaction set (AK1 through AK9) for one functional group."""
    segs: list[Segment] = [["AK1", group.functional_id, group.control_number, group.version]]
    for tx in group.transactions:
        segs.extend(_ak2_loop(tx, delimiters))
    included = len(group.transactions)
    declared = group.declared_count if group.declared_count is not None else included
    accepted = sum(1 for t in group.transactions if t.ack_code in ("A", "E"))
    codes = sorted({f.code for f in group.findings if f.severity == "error" and f.code in _AK9_CODES})
    segs.append(["AK9", group.ack_code, str(declared), str(included), str(accepted), *codes[:5]])
    return segs


def _ak2_loop(tx: TransactionResult, delimiters: Delimiters) -> list[Segment]:
    out: list[Segment] = [["AK2", tx.transaction_set_id, tx.control_number, tx.implementation_reference]]
    by_segment: dict[tuple[int, str], list[Finding]] = {}
    order: list[tuple[int, str]] = []
    for f in tx.findings:
        if f.level in ("segment", "element") and f.severity in ("error", "warning"):
            key = (f.segment_position or 0, f.segment_id or "")
            if key not in by_segment:
                by_segment[key] = []
                order.append(key)
            by_segment[key].append(f)
    for key in order:
        findings = by_segment[key]
        pos, seg_id = key
        seg_codes = []
        for f in findings:
            if f.level == "segment" and f.code in _IK3_CODES and f.code not in seg_codes:
                seg_codes.append(f.code)
        elements = [f for f in findings if f.level == "element" and f.code in _IK4_CODES]
        if elements and "8" not in seg_codes:
            seg_codes.append("8")
        unit = next((f.business_unit for f in findings if f.business_unit), None)
        for code in seg_codes:
            out.append(["IK3", seg_id, str(pos), "", code])
            if unit:
                out.append(["CTX", ["CLM01", unit]])
            if code != "8":
                continue
            for f in elements:
                position = [str(f.element_position or 0)]
                if f.component_position or f.repeat_position:
                    position.append(str(f.component_position or ""))
                if f.repeat_position:
                    position.append(str(f.repeat_position))
                ik4: list = ["IK4", position if len(position) > 1 else position[0], f.element_ref or "", f.code]
                if f.bad_value and _echoable(f.bad_value, delimiters):
                    ik4.append(f.bad_value[:99])
                out.append(ik4)
    codes = sorted({f.code for f in tx.findings if f.level == "transaction" and f.code in _IK5_CODES})
    if order and "5" not in codes:
        codes = sorted([*codes, "5"])
    out.append(["IK5", tx.ack_code, *codes[:5]])
    return out


_ECHO_SAFE = re.compile(r"""[A-Z0-9!"&'()*+,\-./:;?= a-z%~@\[\]_{}\\|<>^`#$]+""")


def _echoable(value: str, d: Delimiters) -> bool:
    """IK404 echoes the bad value only where the 999 can carry it unchanged (it is situational)."""
    return _ECHO_SAFE.fullmatch(value) is not None and not (set(value) & d.characters())


def build_ta1_segment(isa: InterchangeResult) -> list[str]:
    return ["TA1", isa.control_number, isa.date, isa.time, isa.ta1_code, isa.ta1_note]


def acknowledge(
    isa: InterchangeResult,
    numbers: AckNumbers,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    now: datetime | None = None,
) -> str | None:
    """The acknowledgment interchange for one received interchange (None when nothing is owed)."""
    header = InterchangeHeader(
        sender_qualifier=isa.receiver_qualifier,
        sender_id=isa.receiver_id.strip(),
        receiver_qualifier=isa.sender_qualifier,
        receiver_id=isa.sender_id.strip(),
        control_number=numbers.interchange,
        usage=isa.usage if isa.usage in ("P", "T") else "P",
        ack_requested="0",
    )
    leading: Sequence[Segment] = ()
    envelope_rejected = bool(isa.envelope_errors)
    if envelope_rejected or isa.ack_requested == "1":
        leading = [build_ta1_segment(isa)]
    groups: list[FunctionalGroup] = []
    if not envelope_rejected:
        for i, g in enumerate(isa.groups):
            if g.functional_id == "FA" or not g.control_number:
                continue  # acknowledgments are not acknowledged
            groups.append(
                FunctionalGroup(
                    functional_id="FA",
                    sender_code=_gs_app(g, "receiver", isa),
                    receiver_code=_gs_app(g, "sender", isa),
                    control_number=numbers.group + i,
                    version=ACK_VERSION,
                    transactions=[
                        TransactionSet("999", numbers.first_transaction + i, build_999_segments(g, delimiters), ACK_VERSION)
                    ],
                )
            )
    if not groups and not leading:
        return None
    return write_interchange(header, groups, delimiters, now=now, leading=leading)


def _gs_app(group: GroupResult, which: str, isa: InterchangeResult) -> str:
    code = getattr(group, f"{which}_code", None)
    if code:
        return code
    return (isa.receiver_id if which == "receiver" else isa.sender_id).strip()


def acknowledge_report(
    report: ValidationReport, first_interchange: int = 1, delimiters: Delimiters = DEFAULT_DELIMITERS
) -> list[str]:
    """Acknowledgments for every interchange of a report, numbered from `first_interchange`."""
    out = []
    n = first_interchange
    for isa in report.interchanges:
        text = acknowledge(isa, AckNumbers(interchange=n, group=n), delimiters)
        if text is not None:
            out.append(text)
            n += 1
    return out
