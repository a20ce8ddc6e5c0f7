"""What decoding one submitted file or message yields: requests, each with where it came from.

A submitter fixes a file, not a JSON document, so every problem names the place in *their*
input (a line, a record, a claim of an X12 set) and, for mapped files, *their* column. The
reason never quotes the value found there: it may be a name, a member id or a date of birth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["DecodeError", "DecodedItem", "Format", "IngestProblem", "RequestKind"]

RequestKind = Literal["eligibility", "professional", "institutional"]
Format = Literal["json", "jsonl", "x12", "csv", "fixed"]


@dataclass(frozen=True, slots=True)
class IngestProblem:
    item: str  # "file", "line 12", "record 3", "claim 2"
    reason: str  # never contains a value from the input
    field: str | None = None  # mapped column name or JSON path
    column: bool = False  # ``field`` names a column of the submitter's file

    def __str__(self) -> str:
        where = self.item
        if self.field:
            where += f", {'column' if self.column else 'field'} {self.field}"
        return f"{where}: {self.reason}"


class DecodeError(Exception):
    """The whole submission is refused (nothing in it was taken): empty, binary, not UTF-8,
    truncated, too large, unknown format, a header without the mapped columns."""

    def __init__(self, problems: list[IngestProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems

    @classmethod
    def of(cls, reason: str, *, item: str = "file", field: str | None = None) -> DecodeError:
        return cls([IngestProblem(item, reason, field)])


Locator = Callable[[str, str], IngestProblem]  # JSON path, message -> problem in the input's terms


@dataclass(slots=True)
class DecodedItem:
    """One request of a submission, or the reasons it could not be read as one.

    ``index`` is the item's ordinal in the submission (stable for the same bytes), which a door
    uses to make its idempotency keys; ``locate`` turns a JSON path of a check problem into the
    submitter's own coordinates (line and column) where the format has them.
    """

    index: int
    label: str
    kind: RequestKind | None = None
    data: dict[str, Any] | None = None
    problems: list[IngestProblem] = field(default_factory=list)
    locator: Locator | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.data is not None and self.kind is not None

    def locate(self, path: str, reason: str) -> IngestProblem:
        if self.locator is not None:
            return self.locator(path, reason)
        return IngestProblem(self.label, reason, path or None)
