"""A submitter's column mapping: how the rows of their CSV or fixed-width file become requests.

Rosters and claim-line extracts come out of practice-management systems whose columns we do
not choose, so the mapping lives in a YAML file per submitter rather than in code::

    kind: eligibility            # eligibility | professional | institutional
    format: csv                  # csv | fixed
    match: "*.csv"               # which files it applies to (glob, default all; first match wins)
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .items import IngestProblem, RequestKind

__all__ = ["ColumnMapping", "FieldSpec", "FixedColumn", "MappingError", "RowMapper", "RowValues", "load_mapping", "load_mappings", "parse_path"]

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
        check_paths(list(self.fields) + ([self.lines] if self.kind != "eligibility" else []))
        check_paths(list(self.line_fields))
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


def load_mappings(directory: Path | str) -> dict[str, list[ColumnMapping]]:
    """Every submitter's mappings from ``DIRECTORY/<submitter id>/*.yaml``, in file-name order
    (the order in which they are tried against a file name)."""
    found: dict[str, list[ColumnMapping]] = {}
    for folder in sorted(Path(directory).iterdir()):
        if folder.is_dir():
            files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
            found[folder.name] = [load_mapping(f) for f in files]
    return found


def parse_path(path: str) -> tuple[str | int, ...]:
    return tuple(name if name else int(index) for name, index in _TOKEN.findall(path))


def _human(fmt: str) -> str:
    """strptime format as a submitter reads it: %m/%d/%Y -> MM/DD/YYYY."""
    for code, text in (("%Y", "YYYY"), ("%y", "YY"), ("%m", "MM"), ("%d", "DD"), ("%b", "Mon"), ("%H", "HH"),
                       ("%M", "MM"), ("%S", "SS"), ("%j", "DDD")):
        fmt = fmt.replace(code, text)
    return fmt


_DATE_CODES = {"%Y": r"(?P<Y>\d{4})", "%m": r"(?P<m>\d{1,2})", "%d": r"(?P<d>\d{1,2})", "%y": r"(?P<y>\d{2})"}


def date_parser(fmt: str) -> Callable[[str], str | None]:
    """``text -> YYYYMMDD`` (None if not a date in ``fmt``). Formats made of %Y %m %d %y and
    literals get a compiled regex (strptime costs most of a roster's decoding time); any other
    format falls back to strptime."""
    parts = re.split(r"(%.)", fmt)
    if all(part in _DATE_CODES or "%" not in part for part in parts) and ("%Y" in parts or "%y" in parts):
        pattern = re.compile("".join(_DATE_CODES.get(part) or re.escape(part) for part in parts) + r"\Z")

        def fast(text: str) -> str | None:
            match = pattern.match(text)
            if match is None:
                return None
            groups = match.groupdict()
            year = int(groups["Y"]) if groups.get("Y") else _century(int(groups["y"]))
            month, day = int(groups.get("m") or 1), int(groups.get("d") or 1)
            try:
                date(year, month, day)  # a real calendar day
            except ValueError:
                return None
            return f"{year:04d}{month:02d}{day:02d}"

        return fast

    def slow(text: str) -> str | None:
        try:
            return datetime.strptime(text, fmt).strftime("%Y%m%d")
        except ValueError:
            return None

    return slow


def _century(yy: int) -> int:
    return 1900 + yy if yy >= 69 else 2000 + yy  # as strptime's %y


@dataclass(frozen=True, slots=True)
class _Compiled:
    path: tuple[str | int, ...]
    text: str
    spec: FieldSpec
    convert: Callable[[str], tuple[str, str | None]] | None  # None: the text as it is
    elements: tuple[tuple[str | int, ...], ...]  # array elements on the path
    guards: tuple[tuple[str | int, ...], ...]  # array elements that exist only if a column fills them


def _compile(specs: dict[str, FieldSpec], date_format: str) -> list[_Compiled]:
    parsed = {text: parse_path(text) for text in specs}
    elements = {text: tuple(path[: i + 1] for i, part in enumerate(path) if isinstance(part, int))
                for text, path in parsed.items()}
    filled_by_columns = {e for text, spec in specs.items() if spec.column for e in elements[text]}
    out = []
    for text, spec in specs.items():
        guards = () if spec.column else tuple(e for e in elements[text] if e in filled_by_columns)
        out.append(_Compiled(parsed[text], text, spec, _converter(spec, date_format), elements[text], guards))
    return out


def _converter(spec: FieldSpec, date_format: str) -> Callable[[str], tuple[str, str | None]] | None:
    steps: list[Callable[[str], tuple[str, str | None]]] = []
    if spec.map is not None:
        lowered = {k.lower(): v for k, v in spec.map.items()}
        unknown = f"not one of the mapped codes ({', '.join(sorted(spec.map))})"
        steps.append(lambda raw: (lowered[raw.lower()], None) if raw.lower() in lowered else ("", unknown))
    if spec.date:
        fmt = date_format if spec.date is True else str(spec.date)
        parse, wrong = date_parser(fmt), f"not a date in {_human(fmt)}"

        def as_date(raw: str) -> tuple[str, str | None]:
            value = parse(raw)
            return (value, None) if value is not None else ("", wrong)

        steps.append(as_date)
    elif spec.amount:
        steps.append(_amount)
    elif spec.upper:
        steps.append(lambda raw: (raw.upper(), None))
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def chained(raw: str) -> tuple[str, str | None]:
        for step in steps:
            raw, reason = step(raw)
            if reason:
                return raw, reason
        return raw, None

    return chained


def _amount(raw: str) -> tuple[str, str | None]:
    try:
        amount = Decimal(raw.replace(",", "").replace("$", "").strip())
    except InvalidOperation:
        return "", "not an amount"
    if not amount.is_finite():
        return "", "not an amount"
    return f"{amount.quantize(_CENTS)}", None


_CENTS = Decimal("0.01")


@dataclass(slots=True)
class RowValues:
    """The values one row gives to a request (or to one service line), with their problems."""

    data: dict[str, Any]
    problems: list[IngestProblem]


Builder = Callable[[list[Any]], Any]


def _tree_builder(paths: list[tuple[str | int, ...]]) -> Builder:
    """A function from the row's values (one per path, None when absent) to the nested request.

    The nesting is worked out once per mapping, not per row: containers are created only for
    values that are there, and array elements a row left empty are dropped ([0] and [2] give two).
    """
    tree: dict[Any, Any] = {}
    for index, path in enumerate(paths):
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = index

    def compile_node(node: Any) -> Builder:
        if isinstance(node, int):
            return lambda values, i=node: values[i]
        if all(isinstance(k, int) for k in node):
            children = [compile_node(node[k]) for k in sorted(node)]

            def array(values: list[Any]) -> Any:
                out = [x for x in (child(values) for child in children) if x is not None]
                return out or None

            return array
        entries = [(key, compile_node(child)) for key, child in node.items()]

        def obj(values: list[Any]) -> Any:
            out = {}
            for key, child in entries:
                x = child(values)
                if x is not None:
                    out[key] = x
            return out or None

        return obj

    root = compile_node(tree)
    return lambda values: root(values) or {}


def check_paths(paths: list[str]) -> None:
    """Refuse mappings where one path lies inside another's value (a.b and a.b.c) or mixes
    object keys and array indexes at one place."""
    parsed = [parse_path(p) for p in paths]
    seen = set(parsed)
    for path in parsed:
        for i in range(1, len(path)):
            if path[:i] in seen:
                raise ValueError(f"{_render(path)} lies inside {_render(path[:i])}, which is given a value itself")
    kinds: dict[tuple[str | int, ...], bool] = {}
    for path in parsed:
        for i in range(1, len(path)):
            is_index = isinstance(path[i], int)
            if kinds.setdefault(path[:i], is_index) != is_index:
                raise ValueError(f"{_render(path[:i])} is used both as an object and as an array")


def _render(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


class RowMapper:
    """Applies the compiled field specs of a mapping to one row (a dict column -> text)."""

    def __init__(self, specs: dict[str, FieldSpec], date_format: str) -> None:
        fields = _compile(specs, date_format)
        self._columns = [(i, f) for i, f in enumerate(fields) if f.spec.column is not None]
        self._constants = [(i, f) for i, f in enumerate(fields) if f.spec.column is None]
        self._size = len(fields)
        self._build = _tree_builder([f.path for f in fields])
        self.columns = {f.text: f.spec.column for _, f in self._columns}

    def apply(self, row: Mapping[str, str], item: str, ordinal: int) -> RowValues:
        values: list[Any] = [None] * self._size
        problems: list[IngestProblem] = []
        filled: set[tuple[str | int, ...]] = set()
        for i, f in self._columns:
            spec = f.spec
            raw = row.get(spec.column)  # type: ignore[arg-type]
            raw = raw.strip() if raw else ""
            if not raw:
                if spec.default is None:
                    if spec.required:
                        problems.append(IngestProblem(item, f"required value is blank ({f.text})", spec.column, True))
                    continue
                raw = spec.default
            if f.convert is not None:
                raw, reason = f.convert(raw)
                if reason:
                    problems.append(IngestProblem(item, f"{reason} ({f.text})", spec.column, True))
                    continue
            values[i] = raw
            if f.elements:
                filled.update(f.elements)
        for i, f in self._constants:
            if not f.guards or all(g in filled for g in f.guards):
                values[i] = str(ordinal).zfill(f.spec.counter) if f.spec.counter else f.spec.value or ""
        return RowValues(self._build(values), problems)
