"""Segments back to bytes: with the partner's separators, counted trailers and caller-owned numbers.

Control numbers are handed in, never invented here: they belong to a persistent per-partner
sequence (the pipeline's store), and a writer that made them up would reuse them after a restart.
Counts (SE01, GE01, IEA01) are always computed, never trusted from the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .delimiters import DEFAULT_DELIMITERS, Delimiters

__all__ = [
    "Element",
    "Segment",
    "format_element",
    "format_segment",
    "format_segments",
    "InterchangeHeader",
    "FunctionalGroup",
    "TransactionSet",
    "write_interchange",
    "isa_segment",
    "trim",
    "format_trimmed",
]

#: An element is a simple value, a composite (list of component strings) or a repetition
#: (list of simple-or-composite values, each given as a list: ``[["A"], ["B", "C"]]``).
Element = str | Sequence[str] | Sequence[Sequence[str]]
Segment = Sequence[Element]


def format_element(value: Element, d: Delimiters) -> str:
    if isinstance(value, str):
        return value
    if not value:
        return ""
    if isinstance(value[0], str):
        return d.component.join(value)  # type: ignore[arg-type]
    return d.repetition.join(d.component.join(v) for v in value)  # type: ignore[arg-type]


def format_segment(segment: Segment, d: Delimiters = DEFAULT_DELIMITERS) -> str:
    """One segment, terminator and line break included, elements exactly as given."""
    sep = d.element
    return sep.join(format_element(v, d) for v in segment) + d.segment + d.line_break


def format_segments(segments: Iterable[Segment], d: Delimiters = DEFAULT_DELIMITERS) -> str:
    return "".join(format_segment(s, d) for s in segments)


def format_trimmed(segment: Sequence[Element], d: Delimiters = DEFAULT_DELIMITERS) -> str:
    """``format_segment(trim(segment), d)`` in one pass: a large 837 is tens of thousands of
    segments, nearly all of plain strings, and building the trimmed copy of each cost more than
    the rest of the writer together. Trailing empty strings are counted first, so a segment of
    plain strings (a tuple, as ``edi.mappers`` builds them, or a list) is joined once."""
    keep = len(segment)
    while keep > 1 and segment[keep - 1] == "":
        keep -= 1
    try:
        text = d.element.join(segment if keep == len(segment) else segment[:keep])  # type: ignore[arg-type]
    except TypeError:  # not plain strings only
        return _format_trimmed_mixed(segment, d) + d.segment + d.line_break
    return text + d.segment + d.line_break


def _format_body(segments: Iterable[Segment], d: Delimiters) -> str:
    """``"".join(format_trimmed(s, d) for s in segments)`` with the loop inlined: a transaction
    set's body is most of an 837's segments, and a call per segment was a fifth of the writer."""
    sep = d.element
    texts: list[str] = []
    append = texts.append
    for segment in segments:
        keep = len(segment)
        while keep > 1 and segment[keep - 1] == "":
            keep -= 1
        try:
            append(sep.join(segment if keep == len(segment) else segment[:keep]))  # type: ignore[arg-type]
        except TypeError:  # not plain strings only
            append(_format_trimmed_mixed(segment, d))
    if not texts:
        return ""
    end = d.segment + d.line_break
    return end.join(texts) + end


def _format_trimmed_mixed(segment: Sequence[Element], d: Delimiters) -> str:
    """``format_trimmed`` of a segment holding composites, repetitions or ``None``."""
    out: list[str] = []
    keep = 1  # elements kept: trailing empty ones go, the segment id always stays
    component = d.component
    for v in segment:
        kind = v.__class__
        if kind is str:
            out.append(v)  # type: ignore[arg-type]
            if v:
                keep = len(out)
            continue
        if v is None:
            out.append("")
            continue
        if (kind is list or kind is tuple) and v and v[0].__class__ is str:  # a composite: trailing empties go
            n = len(v)
            while n and v[n - 1] == "":
                n -= 1
            out.append(component.join(v if n == len(v) else v[:n]))  # type: ignore[arg-type]
            if n:
                keep = len(out)
            continue
        if isinstance(v, str):
            text, empty = str.__str__(v), v == ""
        elif isinstance(v, list | tuple) and v and isinstance(v[0], str):
            parts = list(v)
            while parts and parts[-1] == "":
                parts.pop()
            text = component.join(parts)  # type: ignore[arg-type]
            empty = not parts
        else:
            text = format_element(v, d)
            empty = isinstance(v, list) and not v
        out.append(text)
        if not empty:
            keep = len(out)
    if len(out) > keep:
        del out[keep:]
    return d.element.join(out)


def trim(segment: Sequence[Element]) -> list[Element]:
    """Drop trailing empty elements (X12 forbids trailing separators) and empty trailing components."""
    out: list[Element] = []
    for v in segment:
        if isinstance(v, list | tuple) and v and isinstance(v[0], str):
            v = list(v)
            while v and v[-1] == "":
                v.pop()
            if not v:
                v = ""
        out.append(v)
    while len(out) > 1 and (out[-1] == "" or out[-1] == [] or out[-1] is None):
        out.pop()
    return out


@dataclass(slots=True)
class InterchangeHeader:
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    control_number: int | str
    usage: str = "P"  # ISA15: P production, T test
    ack_requested: str = "0"  # ISA14
    date: str | None = None  # YYMMDD
    time: str | None = None  # HHMM
    version: str = "00501"
    authorization_qualifier: str = "00"
    authorization: str = ""
    security_qualifier: str = "00"
    security: str = ""


def isa_segment(h: InterchangeHeader, d: Delimiters, now: datetime | None = None) -> list[str]:
    now = now or datetime.now()
    return [
        "ISA",
        h.authorization_qualifier,
        h.authorization.ljust(10)[:10],
        h.security_qualifier,
        h.security.ljust(10)[:10],
        h.sender_qualifier,
        h.sender_id.ljust(15)[:15],
        h.receiver_qualifier,
        h.receiver_id.ljust(15)[:15],
        h.date or now.strftime("%y%m%d"),
        h.time or now.strftime("%H%M"),
        d.repetition if h.version >= "00402" else "U",
        h.version,
        f"{int(h.control_number):09d}",
        h.ack_requested,
        h.usage,
        d.component,
    ]


@dataclass(slots=True)
class TransactionSet:
    transaction_set_id: str  # ST01
    control_number: int | str  # ST02
    segments: list[Segment]  # the body, without ST and SE
    implementation_reference: str | None = None  # ST03 (defaults to the group's GS08)


@dataclass(slots=True)
class FunctionalGroup:
    functional_id: str  # GS01
    sender_code: str  # GS02
    receiver_code: str  # GS03
    control_number: int | str  # GS06
    version: str  # GS08
    transactions: list[TransactionSet] = field(default_factory=list)
    date: str | None = None  # CCYYMMDD
    time: str | None = None  # HHMM


def _st02(value: int | str) -> str:
    return f"{value:04d}" if isinstance(value, int) else value


def write_interchange(
    header: InterchangeHeader,
    groups: Sequence[FunctionalGroup],
    d: Delimiters = DEFAULT_DELIMITERS,
    now: datetime | None = None,
    leading: Sequence[Segment] = (),
) -> str:
    """A complete interchange; `leading` segments (e.g. TA1) go between ISA and the first GS."""
    now = now or datetime.now()
    parts = [format_segment(isa_segment(header, d, now), d)]
    parts.extend(format_trimmed(s, d) for s in leading)
    for g in groups:
        parts.append(
            format_segment(
                ["GS", g.functional_id, g.sender_code, g.receiver_code, g.date or now.strftime("%Y%m%d"),
                 g.time or now.strftime("%H%M"), str(int(g.control_number)), "X", g.version],
                d,
            )
        )
        for t in g.transactions:
            st02 = _st02(t.control_number)
            parts.append(format_segment(["ST", t.transaction_set_id, st02, t.implementation_reference or g.version], d))
            parts.append(_format_body(t.segments, d))
            parts.append(format_segment(["SE", str(len(t.segments) + 2), st02], d))
        parts.append(format_segment(["GE", str(len(g.transactions)), str(int(g.control_number))], d))
    parts.append(format_segment(["IEA", str(len(groups)), f"{int(header.control_number):09d}"], d))
    return "".join(parts)
