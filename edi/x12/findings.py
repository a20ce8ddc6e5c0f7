"""Structured validation results: what is wrong, where, and with which 999/TA1 code.

Findings are the single currency between the validator, the acknowledgment builders, the CLI and
(later) the pipeline's audit trail. A finding never carries PHI in its message: the offending value,
which the 999's IK404 may echo back to the submitter, is kept apart in `bad_value`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, overload

__all__ = [
    "Finding",
    "TransactionResult",
    "GroupResult",
    "InterchangeResult",
    "ValidationReport",
    "TransactionList",
    "Level",
    "Severity",
]

Level = Literal["interchange", "group", "transaction", "segment", "element"]
Severity = Literal["error", "warning", "info"]


@dataclass(slots=True)
class Finding:
    """One problem (or note) at one place in an interchange.

    `code` is read by level: TA1 note code (interchange), AK905 code (group), IK502 code
    (transaction), IK304 code (segment) or IK403 code (element).
    """

    level: Level
    code: str
    message: str
    severity: Severity = "error"
    segment_id: str | None = None
    segment_position: int | None = None  # position within the transaction set, ST = 1
    loop_id: str | None = None
    element_position: int | None = None
    component_position: int | None = None
    repeat_position: int | None = None
    element_ref: str | None = None  # data element reference number (IK402)
    bad_value: str | None = field(default=None, repr=False)
    business_unit: str | None = field(default=None, repr=False)  # CLM01 of the claim, for the 999 CTX
    file_segment: int | None = None  # 1-based ordinal of the segment in the file

    def to_dict(self, include_values: bool = False) -> dict:
        d = asdict(self)
        if not include_values:
            d.pop("bad_value")
            d.pop("business_unit")
        return {k: v for k, v in d.items() if v is not None}


@dataclass(slots=True)
class TransactionResult:
    transaction_set_id: str
    control_number: str
    implementation_reference: str  # ST03, or GS08 when ST03 is absent
    findings: list[Finding] = field(default_factory=list)
    segment_count: int = 0
    map_file: str | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ack_code(self) -> str:
        """IK501: A accepted, E accepted with errors noted (warnings only), R rejected."""
        if self.errors:
            return "R"
        if any(f.severity == "warning" for f in self.findings):
            return "E"
        return "A"


class TransactionList(Sequence[TransactionResult]):
    """The transaction sets of a group, with the clean ones stored compactly.

    A file of 100,000 single-claim transaction sets must validate in flat memory. A set without
    findings whose id, version and map match the group's first clean set keeps only its control
    number, as bytes in one growing buffer (no small objects that would pin the allocator's
    arenas), and its segment count in an array; it is rebuilt on access.
    """

    __slots__ = ("_items", "_counts", "_spans", "_common", "_buffer")

    def __init__(self, items: Sequence[TransactionResult] = ()) -> None:
        self._items: list[TransactionResult | None] = list(items)  # None: stored compactly
        self._counts = array("L", [0] * len(self._items))
        self._spans = array("Q", [0] * len(self._items))  # start << 16 | length, in _buffer
        self._common: tuple[str, str, str | None] | None = None
        self._buffer = bytearray()

    def append(self, tx: TransactionResult) -> None:
        self._items.append(tx)
        self._counts.append(0)
        self._spans.append(0)

    def compact_last(self) -> None:
        """Shrink the last set if it has no findings (call only once nothing more can be added)."""
        if not self._items:
            return
        t = self._items[-1]
        if t is None or t.findings:
            return
        shape = (t.transaction_set_id, t.implementation_reference, t.map_file)
        if self._common is None:
            self._common = shape
        raw = t.control_number.encode("utf-8", "surrogateescape")
        if shape != self._common or len(raw) >= 1 << 16:
            return
        self._spans[-1] = len(self._buffer) << 16 | len(raw)
        self._buffer += raw
        self._counts[-1] = t.segment_count
        self._items[-1] = None

    def _expand(self, i: int) -> TransactionResult:
        item = self._items[i]
        if item is not None:
            return item
        ts, ref, map_file = self._common  # type: ignore[misc]
        span = self._spans[i]
        start, length = span >> 16, span & 0xFFFF
        cn = self._buffer[start : start + length].decode("utf-8", "surrogateescape")
        return TransactionResult(ts, cn, ref, segment_count=self._counts[i], map_file=map_file)

    @overload
    def __getitem__(self, i: int) -> TransactionResult: ...
    @overload
    def __getitem__(self, i: slice) -> list[TransactionResult]: ...
    def __getitem__(self, i):  # noqa: ANN001, ANN204
        if isinstance(i, slice):
            return [self._expand(k) for k in range(len(self._items))[i]]
        return self._expand(range(len(self._items))[i])

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[TransactionResult]:
        return (self._expand(k) for k in range(len(self._items)))

    def __repr__(self) -> str:
        return f"TransactionList({list(self)!r})"


@dataclass(slots=True)
class GroupResult:
    functional_id: str
    control_number: str
    version: str  # GS08 as sent
    sender_code: str = ""  # GS02
    receiver_code: str = ""  # GS03
    findings: list[Finding] = field(default_factory=list)
    transactions: TransactionList = field(default_factory=TransactionList)
    declared_count: int | None = None  # GE01

    @property
    def ack_code(self) -> str:
        """AK901 from the transaction verdicts and group-level errors."""
        if any(f.severity == "error" for f in self.findings):
            return "R"
        codes = [t.ack_code for t in self.transactions]
        if not codes:
            return "R"
        accepted = [c for c in codes if c in ("A", "E")]
        if len(accepted) == len(codes):
            return "E" if "E" in codes else "A"
        if not accepted:
            return "R"
        return "P"


@dataclass(slots=True)
class InterchangeResult:
    control_number: str
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: str
    time: str
    version: str  # ISA12
    usage: str  # ISA15
    ack_requested: str  # ISA14
    delimiters: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    groups: list[GroupResult] = field(default_factory=list)

    @property
    def envelope_errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ta1_code(self) -> str:
        """TA104: A accepted, R rejected (E is reserved for warnings)."""
        if self.envelope_errors:
            return "R"
        if self.findings and any(f.severity == "warning" for f in self.findings):
            return "E"
        return "A"

    @property
    def ta1_note(self) -> str:
        errors = self.envelope_errors
        return errors[0].code if errors else "000"


@dataclass(slots=True)
class ValidationReport:
    source: str
    interchanges: list[InterchangeResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # file-level: unreadable input, trailing data
    segments: int = 0

    @property
    def unreadable(self) -> bool:
        return any(f.code == "unreadable" for f in self.findings)

    def transactions(self) -> list[TransactionResult]:
        return list(self.iter_transactions())

    def iter_transactions(self) -> Iterator[TransactionResult]:
        for i in self.interchanges:
            for g in i.groups:
                yield from g.transactions

    @property
    def accepted(self) -> bool:
        """Every transaction set accepted without errors, and nothing wrong around them."""
        if self.unreadable or any(f.severity == "error" for f in self.findings):
            return False
        if not any(len(g.transactions) for i in self.interchanges for g in i.groups):
            return False
        if any(i.envelope_errors for i in self.interchanges):
            return False
        if any(f.severity == "error" for i in self.interchanges for g in i.groups for f in g.findings):
            return False
        return all(t.ack_code == "A" for t in self.iter_transactions())

    @property
    def status(self) -> str:
        """accepted, accepted-with-errors (IK5 E only), rejected or unreadable."""
        if self.unreadable:
            return "unreadable"
        if self.accepted:
            return "accepted"
        codes = {t.ack_code for t in self.iter_transactions()}
        clean_envelopes = not any(i.envelope_errors for i in self.interchanges) and not any(
            f.severity == "error" for f in self.findings
        ) and not any(f.severity == "error" for i in self.interchanges for g in i.groups for f in g.findings)
        if codes and codes <= {"A", "E"} and clean_envelopes:
            return "accepted-with-errors"
        return "rejected"

    def all_findings(self):  # noqa: ANN201
        yield from self.findings
        for i in self.interchanges:
            yield from i.findings
            for g in i.groups:
                yield from g.findings
                for t in g.transactions:
                    yield from t.findings

    def to_dict(self, include_values: bool = False) -> dict:
        def tx(t: TransactionResult) -> dict:
            return {
                "transaction_set_id": t.transaction_set_id,
                "control_number": t.control_number,
                "implementation_reference": t.implementation_reference,
                "ack_code": t.ack_code,
                "segment_count": t.segment_count,
                "findings": [f.to_dict(include_values) for f in t.findings],
            }

        return {
            "source": self.source,
            "accepted": self.accepted,
            "status": self.status,
            "segments": self.segments,
            "findings": [f.to_dict(include_values) for f in self.findings],
            "interchanges": [
                {
                    "control_number": i.control_number,
                    "sender": f"{i.sender_qualifier}:{i.sender_id.strip()}",
                    "receiver": f"{i.receiver_qualifier}:{i.receiver_id.strip()}",
                    "ta1_code": i.ta1_code,
                    "ta1_note": i.ta1_note,
                    "findings": [f.to_dict(include_values) for f in i.findings],
                    "groups": [
                        {
                            "functional_id": g.functional_id,
                            "control_number": g.control_number,
                            "version": g.version,
                            "ack_code": g.ack_code,
                            "findings": [f.to_dict(include_values) for f in g.findings],
                            "transactions": [tx(t) for t in g.transactions],
                        }
                        for g in i.groups
                    ],
                }
                for i in self.interchanges
            ],
        }
