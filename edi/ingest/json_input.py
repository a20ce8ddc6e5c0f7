"""Canonical JSON submissions: one request object, an array of them, or JSON Lines.

An array is one document, so a syntax error anywhere refuses the whole file; in JSON Lines each
line stands alone, so a bad line is that item's problem and the others still go in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from edi.mappers.translate import TranslationError, detect_json_kind

from .items import DecodedItem, DecodeError, IngestProblem
from .text import numbered_lines

__all__ = ["json_items", "jsonl_items"]


def json_items(content: bytes, start: int) -> Iterator[DecodedItem]:
    text = content[start:].decode("utf-8")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError([_syntax(exc, text, "file")]) from None
    if isinstance(value, list):
        if not value:
            raise DecodeError.of("the JSON array is empty")
        return _items(value, "record")
    if not isinstance(value, dict):
        raise DecodeError.of("JSON must be a request object, an array of them or JSON Lines")
    return _items([value], "request")


def _items(values: list[Any], noun: str) -> Iterator[DecodedItem]:
    for index, value in enumerate(values):
        yield _item(index, f"{noun} {index + 1}" if len(values) > 1 else noun, value)


def _item(index: int, label: str, value: Any) -> DecodedItem:
    if not isinstance(value, dict):
        return DecodedItem(index, label, problems=[IngestProblem(label, "not a JSON object")])
    try:
        kind = detect_json_kind(value)
    except TranslationError as exc:
        return DecodedItem(index, label, problems=[IngestProblem(label, str(exc))])
    return DecodedItem(index, label, kind, value)  # type: ignore[arg-type]


def jsonl_items(content: bytes, start: int) -> Iterator[DecodedItem]:
    index = 0
    for number, line in numbered_lines(content, start):
        if not line.strip():
            continue
        label = f"line {number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield DecodedItem(index, label, problems=[_syntax(exc, line, label)])
        else:
            yield _item(index, label, value)
        index += 1


def _syntax(exc: json.JSONDecodeError, text: str, item: str) -> IngestProblem:
    at_end = exc.pos >= len(text.rstrip())
    if exc.msg.startswith("Unterminated string") and "\n" not in text[exc.pos :].rstrip():
        at_end = True  # the string runs to the end of the input
    if at_end:
        return IngestProblem(item, f"the JSON ends early (line {exc.lineno}, column {exc.colno}): "
                                   "the file looks truncated")
    return IngestProblem(item, f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
