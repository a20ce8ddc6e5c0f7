"""One submitted file or message in, its requests out: the format is read from the content.

Submitters do not label their files reliably, so the first bytes decide (``{``/``[`` is JSON,
``ISA`` is X12, anything else needs the submitter's column mapping) and the file name only
breaks ties (``.jsonl``) or explains a refusal. Everything that refuses the whole input (size,
encoding, binary, truncation, format, header) is checked before the first item is handed out;
after that, items come one by one and each carries its own problems.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from .items import DecodedItem, DecodeError, Format
from .json_input import json_items, jsonl_items
from .mapping import ColumnMapping
from .tabular import tabular_items
from .text import check_size, check_text
from .x12_input import x12_items

__all__ = ["DEFAULT_MAX_BYTES", "Decoded", "Limits", "decode", "sniff"]

DEFAULT_MAX_BYTES = 256 << 20
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".jsonlines"}
_JSONL_TYPES = {"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"}
_X12_SUFFIXES = {".x12", ".edi", ".270", ".837", ".837p", ".837i"}
_TABULAR_SUFFIXES = {".csv", ".txt", ".dat", ".tsv", ".prn", ".fw"}


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(slots=True)
class Decoded:
    format: Format
    items: Iterator[DecodedItem]
    mapping: ColumnMapping | None = None


def sniff(content: bytes, start: int, name: str, mappings: Iterable[ColumnMapping], content_type: str | None = None,
          ) -> tuple[Format, ColumnMapping | None]:
    head = content[start : start + 4096].lstrip(b" \t\r\n")
    suffix = PurePosixPath(name).suffix.lower()
    if content_type and content_type.split(";")[0].strip().lower() in _JSONL_TYPES:
        suffix = ".jsonl"  # a message's declared type counts like a file's extension
    if head.startswith(b"["):
        return "json", None
    if head.startswith(b"{"):
        if suffix in _JSONL_SUFFIXES:
            return "jsonl", None
        return ("jsonl" if _first_line_is_a_document(content, start) else "json"), None
    if head.startswith(b"ISA"):
        return "x12", None
    if head[:3] in (b"GS*", b"ST*"):
        raise DecodeError.of("X12 without its ISA interchange envelope: send the whole interchange (ISA ... IEA)")
    candidates = [m for m in mappings if m.applies_to(name)]
    if candidates:
        return candidates[0].format, candidates[0]
    if suffix in _X12_SUFFIXES:
        raise DecodeError.of(f"the name says X12 ({suffix}) but the content does not start with ISA")
    if suffix in (".json", *_JSONL_SUFFIXES):
        raise DecodeError.of(f"the name says JSON ({suffix}) but the content does not start with '{{' or '['")
    if any(True for _ in mappings):
        raise DecodeError.of("none of the submitter's column mappings applies to this file name")
    raise DecodeError.of("neither JSON nor X12, and no column mapping is configured for this submitter "
                         "(CSV and fixed-width files need one)")


def _first_line_is_a_document(content: bytes, start: int) -> bool:
    end = content.find(b"\n", start)
    if end < 0:
        return False
    if not content[end:].strip():
        return False
    try:
        return isinstance(json.loads(content[start:end]), dict)
    except ValueError:
        return False


def decode(
    content: bytes,
    *,
    name: str = "",
    mappings: Iterable[ColumnMapping] = (),
    limits: Limits = Limits(),  # noqa: B008 - frozen
    content_type: str | None = None,
) -> Decoded:
    """Raise ``DecodeError`` if the input is refused as a whole; else its items, lazily."""
    check_size(len(content), limits.max_bytes)
    start = check_text(content)
    mappings = list(mappings)
    fmt, mapping = sniff(content, start, name, mappings, content_type)
    if fmt == "json":
        items = json_items(content, start)
    elif fmt == "jsonl":
        items = jsonl_items(content, start)
    elif fmt == "x12":
        items = x12_items(content[start:])
    else:
        assert mapping is not None
        items = tabular_items(content, start, mapping)
    return Decoded(fmt, items, mapping)
