"""TA1 and 999 (005010X231A1) acknowledgments read into the canonical JSON models.

A TA1 sits between the ISA and the first GS and is no transaction set, so it is read segment by
segment with the tokenizer; a 999 is a transaction set and is read as a loop tree (AK1 header,
loop 2000 per AK2 with its IK3 loops 2100 and IK4 loops 2110, then AK9). Every code is kept as sent
and the models add its description. IK404 may quote PHI (the rejected value): it is carried into
the JSON, never logged.
"""

from __future__ import annotations

from edi.models.acks import (
    ElementError,
    FunctionalAcknowledgment,
    InterchangeAcknowledgment,
    SegmentError,
    TransactionSetAcknowledgment,
)
from edi.models.common import ResponseMeta
from edi.x12.reader import Source, X12Reader

from .x12tree import Loop, Seg, Transaction, read_transactions

__all__ = ["x12_999_to_acks", "x12_to_ta1"]

_SITUATIONAL_TRIGGER = "SITUATIONAL TRIGGER"
_USAGE = {"P": "production", "T": "test"}


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


def _opt(value: str) -> str | None:
    return value or None


def interchange_meta(isa: list[str]) -> ResponseMeta:
    """Tracking data of a response from its ISA: who sent it, to whom, production or test (never PHI)."""

    def field(pos: int) -> str:  # ISAnn, 1-based
        return isa[pos - 1].strip() if len(isa) >= pos else ""

    usage = field(15)
    return ResponseMeta(
        sender_id=field(6) or None,
        submitter_id=field(8) or None,
        application_mode=_USAGE.get(usage, usage or None),
    )


# ------------------------------------------------------------------------ TA1


def x12_to_ta1(source: Source) -> list[InterchangeAcknowledgment]:
    """Every TA1 in `source`, in file order (a file may hold several interchanges, each with TA1s)."""
    out: list[InterchangeAcknowledgment] = []
    for seg in X12Reader(source):
        if seg[0] != "TA1":
            continue
        ta1 = Seg("TA1", seg[1:])
        out.append(
            InterchangeAcknowledgment(
                interchange_control_number=ta1.get(1),
                interchange_date=_opt(ta1.get(2)),
                interchange_time=_opt(ta1.get(3)),
                acknowledgment_code=ta1.get(4),
                note_code=_opt(ta1.get(5)),
            )
        )
    return out


# ------------------------------------------------------------------------ 999


def x12_999_to_acks(source: Source) -> list[FunctionalAcknowledgment]:
    """One `FunctionalAcknowledgment` per 999 transaction set in `source` (one per acknowledged group)."""
    return [_functional_ack(t) for t in read_transactions(source) if t.transaction_set_id == "999"]


def _functional_ack(t: Transaction) -> FunctionalAcknowledgment:
    body = t.body
    ak1 = body.first("AK1") or Seg("AK1", [])
    ak9 = body.first("AK9") or Seg("AK9", [])
    return FunctionalAcknowledgment(
        meta=interchange_meta(t.isa),
        control_number=_opt(t.control_number),
        functional_identifier_code=_opt(ak1.get(1)),
        group_control_number=_opt(ak1.get(2)),
        version_identifier_code=_opt(ak1.get(3)),
        functional_group_acknowledge_code=ak9.get(1),
        number_of_transaction_sets_included=_int(ak9.get(2)),
        number_of_received_transaction_sets=_int(ak9.get(3)),
        number_of_accepted_transaction_sets=_int(ak9.get(4)),
        syntax_error_codes=[c for c in (ak9.get(p) for p in range(5, 10)) if c],
        transaction_sets=[_transaction_set(loop) for loop in body.walk("2000")],
    )


def _transaction_set(loop: Loop) -> TransactionSetAcknowledgment:
    ak2 = loop.first("AK2") or Seg("AK2", [])
    ik5 = loop.first("IK5") or Seg("IK5", [])
    return TransactionSetAcknowledgment(
        transaction_set_identifier_code=ak2.get(1),
        control_number=ak2.get(2),
        implementation_convention_reference=_opt(ak2.get(3)),
        acknowledgment_code=ik5.get(1),
        syntax_error_codes=[c for c in (ik5.get(p) for p in range(2, 7)) if c],
        segment_errors=[_segment_error(ik3) for ik3 in loop.loops("2100")],
    )


def _context(ctx: Seg) -> dict[str, str]:
    """A CTX segment as JSON: the business unit (e.g. CLM01 and its value) or a situational trigger."""
    name, reference = ctx.get(1, 1), ctx.get(1, 2)
    if name.upper() != _SITUATIONAL_TRIGGER:
        out = {"businessUnitName": name, "businessUnitIdentifier": reference}
        return {k: v for k, v in out.items() if v}
    trigger = {
        "segmentId": ctx.get(2),
        "position": ctx.get(3),
        "loopId": ctx.get(4),
        "elementPosition": ctx.get(5, 1),
        "componentPosition": ctx.get(5, 2),
        "repeatPosition": ctx.get(5, 3),
        "dataElementReference": ctx.get(6, 1),
    }
    return {"situationalTrigger": {k: v for k, v in trigger.items() if v}}  # type: ignore[dict-item]


def _contexts(loop: Loop) -> dict[str, object]:
    extras: dict[str, object] = {}
    for ctx in loop.segments("CTX"):
        extras.update(_context(ctx))
    return extras


def _segment_error(loop: Loop) -> SegmentError:
    ik3 = loop.first("IK3") or Seg("IK3", [])
    return SegmentError(
        segment_id=ik3.get(1),
        position=_int(ik3.get(2)),
        loop_id=_opt(ik3.get(3)),
        error_code=_opt(ik3.get(4)),
        element_errors=[_element_error(ik4) for ik4 in loop.loops("2110")],
        **_contexts(loop),
    )


def _element_error(loop: Loop) -> ElementError:
    ik4 = loop.first("IK4") or Seg("IK4", [])
    return ElementError(
        position=_int(ik4.get(1, 1)),
        component_position=_int(ik4.get(1, 2)),
        repeat_position=_int(ik4.get(1, 3)),
        data_element_reference=_opt(ik4.get(2)),
        error_code=ik4.get(3),
        bad_value=_opt(ik4.get(4)),
        **_contexts(loop),
    )
