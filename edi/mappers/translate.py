"""One entry point that picks the direction and the mapper from the content itself.

Submitters and operators should not have to name a transaction type: a JSON eligibility request,
a JSON claim (or a list of them), a 271 or an 835 each say what they are. JSON requests are checked
(`edi.checks.validate_request`) before any X12 is written, and their problems come back as a list of
field paths, never as an exception trace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from edi.checks import Problem, validate_request
from edi.x12.reader import X12Reader, X12SyntaxError

from .envelope import Envelope

__all__ = ["TranslationError", "Translation", "detect_json_kind", "detect_x12_kind", "translate"]


class TranslationError(Exception):
    """The input cannot be translated; `problems` says where and why (no data values)."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass
class Translation:
    kind: str  # e.g. "eligibility-request", "professional-claim", "271", "835"
    direction: str  # "json-to-x12" or "x12-to-json"
    text: str  # X12 text or JSON text
    problems: list[Problem] = field(default_factory=list)


def detect_json_kind(item: dict[str, Any]) -> str:
    """eligibility, professional or institutional, from the request's own fields."""
    info = item.get("claimInformation")
    if isinstance(info, dict):
        lines = info.get("serviceLines") or []
        institutional_keys = ("claimCodeInformation", "principalDiagnosis", "claimDateInformation")
        if any(isinstance(line, dict) and "institutionalService" in line for line in lines) or any(
            k in info for k in institutional_keys[:2]
        ):
            return "institutional"
        return "professional"
    if "subscriber" in item or "encounter" in item:
        return "eligibility"
    raise TranslationError("JSON is neither an eligibility request nor a claim (no subscriber or claimInformation)")


def detect_x12_kind(data: bytes) -> str:
    """The transaction set (with guide where it matters) of the first transaction in `data`."""
    reader = X12Reader(data)
    gs08 = ""
    try:
        for seg in reader:
            if seg[0] == "TA1":
                return "TA1"
            if seg[0] == "GS":
                gs08 = seg[8] if len(seg) > 8 else ""
            if seg[0] == "ST":
                st01 = seg[1] if len(seg) > 1 else ""
                version = (seg[3] if len(seg) > 3 and seg[3] else gs08) or ""
                if st01 == "837":
                    return "837I" if "X223" in version else "837P"
                if st01 == "277":
                    return "277CA" if "X214" in version else "277"
                return st01
    except X12SyntaxError as exc:
        raise TranslationError(f"not readable as X12: {exc}") from None
    raise TranslationError("no transaction set or TA1 found in the X12 input")


def _dump(models: list[Any]) -> str:
    items = [m.model_dump(mode="json", by_alias=True, exclude_none=True) for m in models]
    return json.dumps(items[0] if len(items) == 1 else items, indent=1)


def _json_items(data: bytes) -> list[dict[str, Any]]:
    text = data.decode("utf-8")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        try:
            value = [json.loads(line) for line in text.splitlines() if line.strip()]  # JSON Lines
        except json.JSONDecodeError as exc:
            raise TranslationError(f"not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, dict) for i in items):
        raise TranslationError("JSON must be an object, an array of objects or JSON Lines")
    return items


def translate(data: bytes, envelope: Envelope | None = None) -> Translation:
    """JSON request(s) to X12, or an X12 response/request to canonical JSON, chosen by content."""
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"{", b"[")):
        return _from_json(stripped, envelope)
    if stripped.startswith(b"ISA"):
        return _from_x12(stripped)
    raise TranslationError("input is neither JSON nor X12 (it must start with '{', '[' or 'ISA')")


def _from_json(data: bytes, envelope: Envelope | None) -> Translation:
    items = _json_items(data)
    kinds = {detect_json_kind(i) for i in items}
    if len(kinds) != 1:
        raise TranslationError(f"a batch must hold one kind of request, found {sorted(kinds)}")
    kind = kinds.pop()
    models = []
    problems: list[Problem] = []
    for n, item in enumerate(items):
        model, found = validate_request(kind, item)  # type: ignore[call-overload]
        prefix = f"[{n}]." if len(items) > 1 else ""
        problems.extend(Problem(prefix + p.path, p.message) for p in found)
        models.append(model)
    if problems:
        raise TranslationError(f"{len(problems)} problem(s) in the request", problems)
    env = envelope or Envelope(sender_id="SUBMITTER", receiver_id=items[0].get("tradingPartnerServiceId") or "RECEIVER",
                               interchange_control_number=1, group_control_number=1)
    if kind == "eligibility":
        from .eligibility import request_to_270

        if len(models) != 1:
            raise TranslationError("a real-time 270 carries one request; send the others separately")
        return Translation("eligibility-request", "json-to-x12", request_to_270(models[0], env))
    if kind == "professional":
        from .professional import claims_to_837p

        return Translation("professional-claim", "json-to-x12", claims_to_837p(models, env))
    from .institutional import claims_to_837i

    return Translation("institutional-claim", "json-to-x12", claims_to_837i(models, env))


def _from_x12(data: bytes) -> Translation:
    kind = detect_x12_kind(data)
    if kind == "270":
        from .eligibility import x12_270_to_requests as fn
    elif kind == "271":
        from .eligibility import x12_271_to_responses as fn
    elif kind == "837P":
        from .professional import x12_837p_to_claims as fn
    elif kind == "837I":
        from .institutional import x12_837i_to_claims as fn
    elif kind == "999":
        from .acknowledgments import x12_999_to_acks as fn
    elif kind == "TA1":
        from .acknowledgments import x12_to_ta1 as fn
    elif kind == "277CA":
        from .claim_acknowledgment import x12_277ca_to_reports as fn
    elif kind == "277":
        from .claim_status import x12_277_to_claim_status as fn
    elif kind == "835":
        from .remittance import x12_835_to_reports as fn
    else:
        raise TranslationError(f"no JSON mapping for transaction set {kind}")
    return Translation(kind, "x12-to-json", _dump(fn(data)))
