"""What the two broker doors (AMQP, JMS) share: telling a request body from garbage, and the
reason line of a dead letter (the answer documents themselves are ``receipts``, as on every door).

A message door cannot ask its submitter again: a body the pipeline can never read (binary noise,
an empty message, JSON that does not parse) must leave the request queue for a dead-letter queue
with a reason a person can act on, and the submitter -- when it named a reply destination -- gets
that reason as an error reply. ``sniff`` makes this first cut from the bytes alone; whether the
content is a valid 837 or a well-formed claim JSON is the ``Intake``'s decision, reported in its
``IntakeReceipt``.

The reasons name places and problems, never content: they are safe to log and to dead-letter.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from connectors.ingest.door import ItemError

__all__ = [
    "JSON", "X12", "CSV", "Undecodable", "reasons_text", "sniff",
]

JSON = "application/json"
X12 = "application/edi-x12"
CSV = "text/csv"
REASON_LIMIT = 500  # header values must stay small; the full list goes in the error reply


class Undecodable(ValueError):
    """The body is none of the formats the pipeline reads; ``reason`` says what was found."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Undecodable(f"body is not UTF-8 text (invalid byte at offset {exc.start}); "
                          "send JSON, X12 or CSV as UTF-8") from None


def sniff(content: bytes, content_type: str | None = None) -> str:
    """The media type of a request body: JSON, X12 (starts with ``ISA``) or CSV.

    A declared JSON content type must parse as JSON (a submitter who says JSON and sends
    something else should hear the parser's complaint, not "not CSV"). Raises ``Undecodable``.
    """
    if not content.strip():
        raise Undecodable("body is empty")
    text = _text(content)
    if "\x00" in text:
        raise Undecodable("body contains NUL bytes; send JSON, X12 or CSV text")
    stripped = text.lstrip()
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared == JSON or declared.endswith("+json") or stripped[:1] in ("{", "["):
        try:
            json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise Undecodable(f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        return JSON
    if stripped.startswith("ISA"):
        return X12
    first = stripped.splitlines()[0]
    try:
        header = next(csv.reader(io.StringIO(first)))
    except (csv.Error, StopIteration):
        header = []
    if len(header) >= 2 and all(column.strip() for column in header):
        return CSV
    raise Undecodable("body is neither JSON, X12 (an interchange starting with ISA) nor CSV with a header row")


def reasons_text(errors: Iterable[ItemError]) -> str:
    """The reasons on one line, short enough for a message header."""
    text = "; ".join(f"{error.item}: {error.reason}" for error in errors) or "refused"
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 3] + "..."
