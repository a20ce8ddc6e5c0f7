"""Raw X12 requests (270, 837P, 837I) through the project's reader and X12-to-JSON mappers.

The envelope is checked first, over the whole file: a transfer cut short leaves a last
interchange without its IEA (or a set without its SE), and such a file is refused whole rather
than mapped up to where it breaks. Each 270 subscriber (or dependent) and each 837 claim becomes
one request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError

from edi.checks import problems_from_validation_error
from edi.x12.reader import X12Reader, X12SyntaxError

from .items import DecodedItem, DecodeError, IngestProblem, RequestKind

__all__ = ["x12_items"]

_RESPONSES = {"271", "277", "835", "999", "TA1", "997"}


def _check_envelope(content: bytes) -> set[tuple[str, str]]:
    """(ST01, version) of every set; raises ``DecodeError`` for unreadable or truncated X12."""
    reader = X12Reader(content)
    sets: set[tuple[str, str]] = set()
    open_isa = open_st = False
    gs08 = ""
    try:
        for seg in reader:
            tag = seg[0]
            if tag == "ISA":
                if open_isa:
                    raise DecodeError.of(f"segment {reader.segment_index + 1}: a new ISA before the IEA of the last one")
                open_isa = True
            elif tag == "IEA":
                open_isa = False
            elif tag == "TA1":
                sets.add(("TA1", ""))
            elif tag == "GS":
                gs08 = seg[8] if len(seg) > 8 else ""
            elif tag == "ST":
                open_st = True
                sets.add((seg[1] if len(seg) > 1 else "", (seg[3] if len(seg) > 3 and seg[3] else gs08)))
            elif tag == "SE":
                open_st = False
    except X12SyntaxError as exc:
        raise DecodeError.of(f"not readable as X12: {exc}") from None
    if any(p.kind == "unterminated-segment" for p in reader.problems) or open_isa or open_st:
        missing = "SE and IEA" if open_st else "IEA"
        raise DecodeError.of(f"the X12 ends after segment {reader.segment_index + 1} without its {missing}: "
                             "the file looks truncated; send it again complete")
    if not sets:
        raise DecodeError.of("the X12 holds no transaction set (no ST)")
    return sets


def _kind(sets: set[tuple[str, str]]) -> RequestKind:
    kinds = set()
    for st01, version in sets:
        if st01 == "270":
            kinds.add("eligibility")
        elif st01 == "837":
            kinds.add("institutional" if "X223" in version else "professional")
        elif st01 in _RESPONSES:
            raise DecodeError.of(f"transaction set {st01} is a response, not a request; send 270, 837P or 837I")
        else:
            raise DecodeError.of(f"transaction set {st01 or '(blank ST01)'} is not taken here; send 270, 837P or 837I")
    if len(kinds) != 1:
        raise DecodeError.of("the file mixes 270 and 837 (or 837P and 837I) sets; send one kind per file")
    return kinds.pop()


def x12_items(content: bytes) -> Iterator[DecodedItem]:
    kind = _kind(_check_envelope(content))
    mapper: Callable[[Any], list[Any]]
    if kind == "eligibility":
        from edi.mappers.eligibility import x12_270_to_requests as mapper
        noun = "subscriber"
    elif kind == "professional":
        from edi.mappers.professional import x12_837p_to_claims as mapper
        noun = "claim"
    else:
        from edi.mappers.institutional import x12_837i_to_claims as mapper
        noun = "claim"
    try:
        models = mapper(content)
    except ValidationError as exc:
        raise DecodeError([IngestProblem("file", f"{p.message} (in the X12 mapped to {p.path})" if p.path else p.message)
                           for p in problems_from_validation_error(exc)]) from None
    except (ValueError, LookupError, TypeError, AttributeError):
        raise DecodeError.of("the X12 does not follow the implementation guide's loop structure closely enough "
                             "to be read; check it with `edi validate`") from None
    if not models:
        raise DecodeError.of(f"no {noun} found in the X12")
    return _items(models, kind, noun)


def _items(models: list[Any], kind: RequestKind, noun: str) -> Iterator[DecodedItem]:
    for index, model in enumerate(models):
        data = model.model_dump(mode="json", by_alias=True, exclude_none=True)
        yield DecodedItem(index, f"{noun} {index + 1}", kind, data)
