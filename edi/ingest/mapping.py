"""A submitter's column mapping: how the rows of their CSV or fixed-width file become requests.

Rosters and claim-line extracts come out of practice-management systems whose columns we do
not choose, so the mapping lives in a YAML file per submitter rather than in code::

    kind: eligibility            # eligibility | professional | institutional
    format: csv                  # csv | fixed
    match: "*.csv"               # which of the submitter's files it applies to (glob, default all)
    date_format: "%m/%d/%Y"      # how dates are written in the file (strptime); written YYYYMMDD
    fields:                      # canonical JSON path -> where the value comes from
      controlNumber: {counter: 9}              # the item's ordinal, zero-padded to 9 digits
      tradingPartnerServiceId: {value: SIMPLAN01}   # a constant
      provider.npi: {value: "1234567893"}
      subscriber.memberId: MEMBER_ID           # shorthand for {column: MEMBER_ID}
      subscriber.dateOfBirth: {column: DOB, date: true, required: true}
      subscriber.gender: {column: SEX, map: {Male: M, Female: F}}
      encounter.serviceTypeCodes[0]: {value: "30"}

Claim lines (``kind: professional`` or ``institutional``) add ``group_by: CLAIM_ID`` (adjacent
rows with the same key form one claim; claim-level fields come from its first row),
``line_fields`` (paths inside one service line, appended to ``lines``) and ``totals`` (a claim
path that is the sum of a line path, e.g. the claim charge). A constant inside an array element
that also has column fields (``healthCareCodeInformation[1].diagnosisTypeCode`` next to
``...[1].diagnosisCode: DX2``) is only written when one of those columns has a value, so an
empty DX2 leaves no half-filled diagnosis behind.

CSV files name their columns in a header row (``header: true``) or by ``columns:``; fixed-width
files by ``fixed: {NAME: {start: 1, width: 10}}`` (1-based character positions).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .items import IngestProblem, RequestKind

__all__ = ["ColumnMapping", "FieldSpec", "FixedColumn", "MappingError", "RowValues", "load_mapping", "parse_path"]

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[\d+\])*(\.[A-Za-z_][A-Za-z0-9_]*(\[\d+\])*)*$")
_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


class MappingError(ValueError):
    """The mapping file itself is wrong (an operator's problem, not the submitter's)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    column: str | None = None
    value: str | None = None  # a constant
    counter: int | None = Field(None, ge=1, le=12)  # the item (or line) ordinal, zero-padded to this width
    default: str | None = None  # when the column is blank
    required: bool = False  # a blank column is a problem of the row
    date: bool | str = False  # a date: True uses the mapping's date_format, a string is its own format
    amount: bool = False  # a money amount: "$1,234.5" -> "1234.50"
    upper: bool = False
    map: dict[str, str] | None = None  # code translation, matched case-insensitively

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if sum(x is not None for x in (self.column, self.value, self.counter)) != 1:
            raise ValueError("give exactly one of column, value or counter")
        return self


class FixedColumn(_Strict):
    start: int = Field(ge=1)
    width: int = Field(ge=1)


Spec = FieldSpec | str


class ColumnMapping(_Strict):
    kind: RequestKind
    format: Literal["csv", "fixed"]
    match: str = "*"
    name: str = ""  # for messages and logs; defaults to the file name
    delimiter: str = Field(",", min_length=1, max_length=1)
    quotechar: str = Field('"', min_length=1, max_length=1)
    header: bool = True
    columns: list[str] | None = None  # CSV without header: the names by position
    fixed: dict[str, FixedColumn] | None = None
    skip_lines: int = Field(0, ge=0)  # title lines before the data (or before the header)
    date_format: str = "%Y%m%d"
    fields: dict[str, Spec]
    group_by: str | None = None
    lines: str = "claimInformation.serviceLines"
    line_fields: dict[str, Spec] = Field(default_factory=dict)
    totals: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> ColumnMapping:
        for path in [*self.fields, *self.line_fields, *self.totals, *self.totals.values(), self.lines]:
            if not _PATH.match(path):
                raise ValueError(f"not a JSON path like a.b[0].c: {path!r}")
        if self.kind == "eligibility" and (self.group_by or self.line_fields or self.totals):
            raise ValueError("group_by, line_fields and totals are for claims")
        if self.kind != "eligibility" and not self.line_fields:
            raise ValueError("claims need line_fields (the service line of each row)")
        if self.format == "fixed":
            if not self.fixed:
                raise ValueError("format fixed needs fixed: {COLUMN: {start, width}}")
            unknown = sorted(self.referenced_columns() - set(self.fixed))
            if unknown:
                raise ValueError(f"columns not defined under fixed: {', '.join(unknown)}")
        elif not self.header and not self.columns:
            raise ValueError("a CSV without header needs columns: [names by position]")
        return self

    def specs(self, which: Mapping[str, Spec]) -> dict[str, FieldSpec]:
        return {path: FieldSpec(column=s) if isinstance(s, str) else s for path, s in which.items()}

    def referenced_columns(self) -> set[str]:
        found = {s.column for s in self.specs(self.fields).values() if s.column}
        found |= {s.column for s in self.specs(self.line_fields).values() if s.column}
        if self.group_by:
            found.add(self.group_by)
        return found

    def applies_to(self, name: str) -> bool:
        return fnmatch.fnmatch(name.lower(), self.match.lower())


def load_mapping(source: Path | str | Mapping[str, Any]) -> ColumnMapping:
    """A mapping from a YAML file (or its already loaded content); ``MappingError`` says what is wrong."""
    where = str(source) if isinstance(source, Path | str) else "mapping"
    data = source
    if isinstance(source, Path | str):
        try:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise MappingError(f"{where}: cannot read the mapping: {exc}") from None
    if not isinstance(data, Mapping):
        raise MappingError(f"{where}: a mapping file is a YAML mapping (kind, format, fields, ...)")
    data = dict(data)
    data.setdefault("name", Path(where).name if isinstance(source, Path | str) else "")
    try:
        return ColumnMapping.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'mapping'}: {e['msg']}" for e in exc.errors())
        raise MappingError(f"{where}: {details}") from None


def parse_path(path: str) -> tuple[str | int, ...]:
    return tuple(name if name else int(index) for name, index in _TOKEN.findall(path))


def _human(fmt: str) -> str:
    """strptime format as a submitter reads it: %m/%d/%Y -> MM/DD/YYYY."""
    for code, text in (("%Y", "YYYY"), ("%y", "YY"), ("%m", "MM"), ("%d", "DD"), ("%b", "Mon"), ("%H", "HH"),
                       ("%M", "MM"), ("%S", "SS"), ("%j", "DDD")):
        fmt = fmt.replace(code, text)
    return fmt


@dataclass(frozen=True, slots=True)
class _Compiled:
    path: tuple[str | int, ...]
    text: str
    spec: FieldSpec
    date_format: str | None
    guards: tuple[tuple[str | int, ...], ...]  # array elements that exist only if a column fills them


def _compile(specs: dict[str, FieldSpec], date_format: str) -> list[_Compiled]:
    parsed = {text: parse_path(text) for text in specs}
    filled_by_columns = set()
    for text, spec in specs.items():
        if spec.column:
            path = parsed[text]
            filled_by_columns |= {path[: i + 1] for i, part in enumerate(path) if isinstance(part, int)}
    out = []
    for text, spec in specs.items():
        path = parsed[text]
        guards = () if spec.column else tuple(
            path[: i + 1] for i, part in enumerate(path) if isinstance(part, int) and path[: i + 1] in filled_by_columns
        )
        fmt = (date_format if spec.date is True else spec.date) or None
        out.append(_Compiled(path, text, spec, fmt if isinstance(fmt, str) else None, guards))
    return out


@dataclass(slots=True)
class RowValues:
    """The values one row gives to a request (or to one service line), with their problems."""

    assignments: list[tuple[tuple[str | int, ...], str]]
    problems: list[IngestProblem]


class RowMapper:
    """Applies the compiled field specs of a mapping to one row (a dict column -> text)."""

    def __init__(self, specs: dict[str, FieldSpec], date_format: str) -> None:
        self._fields = _compile(specs, date_format)
        self.columns = {f.text: f.spec.column for f in self._fields if f.spec.column}

    def apply(self, row: Mapping[str, str], item: str, ordinal: int) -> RowValues:
        assignments: list[tuple[tuple[str | int, ...], str]] = []
        problems: list[IngestProblem] = []
        filled: set[tuple[str | int, ...]] = set()
        constants = []
        for f in self._fields:
            spec = f.spec
            if spec.column is None:
                constants.append(f)
                continue
            raw = (row.get(spec.column) or "").strip()
            if not raw:
                if spec.default is None:
                    if spec.required:
                        problems.append(IngestProblem(item, f"required value is blank ({f.text})", spec.column, True))
                    continue
                raw = spec.default
            value, reason = _convert(raw, spec, f.date_format)
            if reason:
                problems.append(IngestProblem(item, f"{reason} ({f.text})", spec.column, True))
                continue
            assignments.append((f.path, value))
            filled |= {f.path[: i + 1] for i, part in enumerate(f.path) if isinstance(part, int)}
        for f in constants:
            if all(g in filled for g in f.guards):
                value = str(ordinal).zfill(f.spec.counter) if f.spec.counter else f.spec.value or ""
                assignments.append((f.path, value))
        return RowValues(assignments, problems)


def _convert(raw: str, spec: FieldSpec, date_format: str | None) -> tuple[str, str | None]:
    if spec.map is not None:
        lowered = {k.lower(): v for k, v in spec.map.items()}
        if raw.lower() not in lowered:
            return "", f"not one of the mapped codes ({', '.join(sorted(spec.map))})"
        raw = lowered[raw.lower()]
    if date_format:
        try:
            return datetime.strptime(raw, date_format).strftime("%Y%m%d"), None
        except ValueError:
            return "", f"not a date in {_human(date_format)}"
    if spec.amount:
        try:
            amount = Decimal(raw.replace(",", "").replace("$", "").strip())
        except InvalidOperation:
            return "", "not an amount"
        if not amount.is_finite():
            return "", "not an amount"
        return f"{amount.quantize(Decimal('0.01'))}", None
    return (raw.upper() if spec.upper else raw), None


def build(assignments: list[tuple[tuple[str | int, ...], Any]]) -> dict[str, Any]:
    """A nested request from (path, value) pairs; array indexes are compacted in order."""
    root: dict[Any, Any] = {}
    for path, value in assignments:
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):  # a scalar already there: the mapping overlaps; first wins
                break
        else:
            node.setdefault(path[-1], value)
    return _finish(root)


def _finish(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        return [_finish(node[k]) for k in sorted(node)]
    return {k: _finish(v) for k, v in node.items()}


def iter_paths(data: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from iter_paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from iter_paths(v, (*prefix, i))
    else:
        yield prefix, data
