"""Reason codes in the transaction history: written by the response stages, read by reports.

Why codes in the event detail rather than reports decrypting response documents: a reason
code (IK5 syntax error, AK9 group code, 277CA category, AAA reject reason) is not PHI, so the
history may hold it, and a rejection report then reads no payload at all -- no key ring, no
PHI read to audit, and the same figures on a read replica. The detail formats (all within the
store's code alphabet, at most 64 characters)::

    999:A                         accepted (IK501 A or E: unchanged from before)
    999:R:AK9-R:IK5-5.6           rejected: IK501, then AK901, then the IK502-IK506 codes
    277CA:A7                      the first claim-level STC category
    271                           a 271 without AAA segments
    271:AAA-72.73                 a 271 answering with AAA reject reasons (AAA03)
    TA1:R:024                     TA104, then TA105
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edi.codes import (
    AAA_REJECT_REASON_CODES,
    CLAIM_STATUS_CATEGORY_CODES,
    FUNCTIONAL_GROUP_ACK_CODES,
    TRANSACTION_SET_ACK_CODES,
    TRANSACTION_SET_SYNTAX_ERROR_CODES,
)
from edi.codes.ta1_notes import TA1_NOTE_CODES
from edi.mappers.claim_acknowledgment import claim_accepted

__all__ = ["Reason", "detail_271", "detail_999", "detail_999_part", "parse_detail"]

_TOKEN = re.compile(r"[A-Za-z0-9]{1,3}")
_ACCEPTED_ACKS = frozenset({"A", "E"})
_MAX_CODES = 5


def _codes(values: Iterable[Any]) -> list[str]:
    """Well-formed codes only (a malformed one would make the detail invalid), at most five."""
    return [v for v in (str(x) for x in values if x) if _TOKEN.fullmatch(v)][:_MAX_CODES]


def detail_999(ik501: str, ak901: str | None, syntax_errors: Sequence[str]) -> str:
    """The event detail of a 999 verdict on one transaction set."""
    code = ik501 if _TOKEN.fullmatch(ik501 or "") else "X"
    if code in _ACCEPTED_ACKS:
        return f"999:{code}"
    detail = f"999:{code}"
    if ak901 and _TOKEN.fullmatch(ak901):
        detail += f":AK9-{ak901}"
    errors = _codes(syntax_errors)
    if errors:
        detail += ":IK5-" + ".".join(errors)
    return detail


def detail_999_part(part: Any) -> str:
    """``detail_999`` of an ``edi.responses.SetPart``: the verdict of its first rejecting AK2 loop."""
    keys = tuple(part.keys)
    key = next((k for k in keys if not k.accepted), keys[0] if keys else None)
    if key is None:
        return detail_999(part.code, None, ())
    return detail_999(part.code, key.group_code, key.syntax_error_codes)


def detail_271(errors: Iterable[Mapping[str, Any]]) -> str:
    """The event detail of a 271: its AAA reject reasons, if any."""
    codes = _codes(e.get("code") for e in errors if isinstance(e, Mapping) and e.get("field") in (None, "AAA"))
    return "271:AAA-" + ".".join(dict.fromkeys(codes)) if codes else "271"


@dataclass(frozen=True, slots=True)
class Reason:
    """What one response event says: which document, accepted or not, and the reason codes."""

    source: str  # 999, 277CA, 271, TA1, 835
    accepted: bool | None  # None: neither (a pended 277CA, an 835)
    codes: tuple[tuple[str, str], ...] = ()  # (code list, code): ("IK5", "5"), ("AAA", "72") ...

    def described(self) -> list[tuple[str, str, str]]:
        return [(kind, code, describe(kind, code)) for kind, code in self.codes]


_TABLES: dict[str, Mapping[str, str]] = {
    "IK501": TRANSACTION_SET_ACK_CODES, "AK9": FUNCTIONAL_GROUP_ACK_CODES, "IK5": TRANSACTION_SET_SYNTAX_ERROR_CODES,
    "STC": CLAIM_STATUS_CATEGORY_CODES, "AAA": AAA_REJECT_REASON_CODES, "TA105": TA1_NOTE_CODES,
}


def describe(kind: str, code: str) -> str:
    table = _TABLES.get(kind)
    text = table.get(code) if table is not None else None
    return str(text) if text else ""


def parse_detail(detail: str | None) -> Reason | None:
    """The response verdict a history event's detail code records; None for other events."""
    if not detail:
        return None
    parts = detail.split(":")
    head = parts[0]
    if head == "999" and len(parts) > 1:
        codes: list[tuple[str, str]] = [("IK501", parts[1])]
        for part in parts[2:]:
            kind, _, values = part.partition("-")
            codes += [(kind, v) for v in values.split(".") if v]
        return Reason("999", parts[1] in _ACCEPTED_ACKS, tuple(codes))
    if head == "277CA" and len(parts) > 1:
        category = parts[1]
        return Reason("277CA", claim_accepted([category]), (("STC", category),))
    if head == "271":
        aaa = parts[1].removeprefix("AAA-").split(".") if len(parts) > 1 else []
        return Reason("271", not aaa, tuple(("AAA", c) for c in aaa if c))
    if head == "TA1" and len(parts) > 1:
        accepted = parts[1] in _ACCEPTED_ACKS
        return Reason("TA1", accepted, tuple(("TA105", c) for c in parts[2:3] if c and not accepted))
    if head == "835":
        return Reason("835", None)
    return None
