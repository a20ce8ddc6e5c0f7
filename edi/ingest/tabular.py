"""CSV and fixed-width files, one row at a time, through the submitter's column mapping.

Rows are read lazily and a request is handed on as soon as it is complete (one row, or the
adjacent rows of one claim), so a roster of any length is decoded in the memory of one claim.
Claim rows must be adjacent: holding every open claim until the end would mean holding the file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from .items import DecodedItem, DecodeError, IngestProblem
from .mapping import ColumnMapping, RowMapper, parse_path
from .text import numbered_lines

__all__ = ["tabular_items"]

Row = tuple[int, dict[str, str]]  # (line number, column -> text)
_LINE_INDEX = re.compile(r"^\[(\d+)\]\.?(.*)$")


def tabular_items(content: bytes, start: int, mapping: ColumnMapping) -> Iterator[DecodedItem]:
    """Raises ``DecodeError`` at once for a header without the mapped columns (before any item)."""
    rows = _csv_rows(content, start, mapping) if mapping.format == "csv" else _fixed_rows(content, start, mapping)
    first = next(rows)  # the header check runs here, before anything is yielded
    if first is None:
        raise DecodeError.of("the file has no data rows")
    return _items(first, rows, mapping)  # type: ignore[arg-type]


def _items(first: Row | IngestProblem, rows: Iterator[Row | IngestProblem], mapping: ColumnMapping,
           ) -> Iterator[DecodedItem]:
    head = RowMapper(mapping.specs(mapping.fields), mapping.date_format)
    if mapping.kind == "eligibility":
        yield from _requests(first, rows, head, mapping)
    else:
        lines = RowMapper(mapping.specs(mapping.line_fields), mapping.date_format)
        yield from _claims(first, rows, head, lines, mapping)


def _chain(first: Row | IngestProblem, rows: Iterator[Row | IngestProblem]) -> Iterator[Row | IngestProblem]:
    yield first
    yield from rows


def _requests(first: Row | IngestProblem, rows: Iterator[Row | IngestProblem], head: RowMapper,
              mapping: ColumnMapping) -> Iterator[DecodedItem]:
    for index, row in enumerate(_chain(first, rows)):
        if isinstance(row, IngestProblem):
            yield DecodedItem(index, row.item, problems=[row])
            continue
        number, values = row
        label = f"line {number}"
        result = head.apply(values, label, index + 1)
        yield DecodedItem(index, label, mapping.kind, result.data, result.problems, _row_locator(label, head.columns))


def _row_locator(label: str, columns: dict[str, str]):  # noqa: ANN202
    def locate(path: str, reason: str) -> IngestProblem:
        column = columns.get(path)
        if column:
            return IngestProblem(label, f"{reason} ({path})", column, True)
        return IngestProblem(label, reason, path or None)

    return locate


def _claims(first: Row | IngestProblem, rows: Iterator[Row | IngestProblem], head: RowMapper, lines: RowMapper,
            mapping: ColumnMapping) -> Iterator[DecodedItem]:
    lines_path = parse_path(mapping.lines)
    totals = [(parse_path(claim), parse_path(line)) for claim, line in mapping.totals.items()]
    seen: set[str] = set()
    group: list[Row] = []
    key: str | None = None
    index = 0

    def finish() -> DecodedItem:
        nonlocal index
        item = _claim(index, group, head, lines, lines_path, totals, mapping)
        index += 1
        return item

    for row in _chain(first, rows):
        if isinstance(row, IngestProblem):
            if group:
                yield finish()
                group, key = [], None
            yield DecodedItem(index, row.item, problems=[row])
            index += 1
            continue
        number, values = row
        row_key = values.get(mapping.group_by, "").strip() if mapping.group_by else None
        if mapping.group_by and not row_key:
            if group:
                yield finish()
                group, key = [], None
            yield DecodedItem(index, f"line {number}", problems=[IngestProblem(
                f"line {number}", "the claim key is blank: every claim line needs it", mapping.group_by, True)])
            index += 1
            continue
        if group and (row_key is None or row_key != key):
            yield finish()
            group = []
        if row_key is not None and row_key != key:
            if row_key in seen:
                yield DecodedItem(index, f"line {number}", problems=[IngestProblem(
                    f"line {number}", "this claim's rows are not adjacent: the key appeared earlier with other "
                    "claims in between; sort the file by the claim key", mapping.group_by, True)])
                index += 1
                key = None
                continue
            seen.add(row_key)
        key = row_key
        group.append(row)
    if group:
        yield finish()


def _claim(index: int, group: list[Row], head: RowMapper, lines: RowMapper, lines_path: tuple[str | int, ...],
           totals: list[tuple[tuple[str | int, ...], tuple[str | int, ...]]], mapping: ColumnMapping) -> DecodedItem:
    first_line, last_line = group[0][0], group[-1][0]
    label = f"line {first_line}" if first_line == last_line else f"lines {first_line}-{last_line}"
    result = head.apply(group[0][1], f"line {first_line}", index + 1)
    problems = list(result.problems)
    service_lines = []
    for n, (number, values) in enumerate(group, 1):
        line = lines.apply(values, f"line {number}", n)
        problems.extend(line.problems)
        service_lines.append(line.data)
    data = result.data
    node: Any = data
    for part in lines_path[:-1]:
        node = node.setdefault(part, {})
    node[lines_path[-1]] = service_lines
    for claim_path, line_path in totals:
        total = Decimal(0)
        for service in service_lines:
            value = _get(service, line_path)
            if value:
                total += Decimal(value)  # line amounts were checked by the mapper (amount: true)
        target: Any = data
        for part in claim_path[:-1]:
            target = target.setdefault(part, {})
        target.setdefault(claim_path[-1], f"{total.quantize(Decimal('0.01'))}")
    numbers = [number for number, _ in group]
    return DecodedItem(index, label, mapping.kind, data, problems,
                       _claim_locator(label, numbers, head.columns, lines.columns, mapping.lines))


def _get(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[part] if isinstance(part, int) else data.get(part)
    return data


def _claim_locator(label: str, numbers: list[int], head: dict[str, str], lines: dict[str, str], lines_path: str):  # noqa: ANN202
    def locate(path: str, reason: str) -> IngestProblem:
        if path.startswith(lines_path):
            match = _LINE_INDEX.match(path[len(lines_path):])
            if match and int(match.group(1)) < len(numbers):
                where = f"line {numbers[int(match.group(1))]}"
                column = lines.get(match.group(2))
                if column:
                    return IngestProblem(where, f"{reason} ({match.group(2)})", column, True)
                return IngestProblem(where, reason, path)
        column = head.get(path)
        if column:
            return IngestProblem(f"line {numbers[0]}", f"{reason} ({path})", column, True)
        return IngestProblem(label, reason, path or None)

    return locate


# -- rows ---------------------------------------------------------------------------------------


def _csv_rows(content: bytes, start: int, mapping: ColumnMapping) -> Iterator[Row | IngestProblem | None]:
    source = _counted(numbered_lines(content, start), mapping.skip_lines)
    reader = csv.reader(source, delimiter=mapping.delimiter, quotechar=mapping.quotechar, strict=True)
    names = mapping.columns
    header_line = mapping.skip_lines
    try:
        if mapping.header:
            header = next(reader, None)
            header_line = mapping.skip_lines + reader.line_num
            if header is None:
                raise DecodeError.of("the file is empty: no header row")
            header = [h.strip() for h in header]
            duplicates = sorted({h for h in header if header.count(h) > 1 and h})
            if duplicates:
                raise DecodeError([IngestProblem(f"line {header_line} (header)", "the column name appears twice", d, True)
                                   for d in duplicates])
            names = header
    except csv.Error as exc:
        raise DecodeError.of(f"the header row is not valid CSV ({exc})", item=f"line {header_line + 1}") from None
    assert names is not None
    missing = sorted(mapping.referenced_columns() - set(names))
    if missing:
        raise DecodeError([IngestProblem(f"line {header_line} (header)" if mapping.header else "mapping",
                                         "the mapped column is missing from the header", m, True) for m in missing])
    width = len(names)
    last = header_line
    first = True
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield IngestProblem(f"line {last + 1}", f"not valid CSV ({_csv_reason(exc)}); reading stopped here")
            return
        number = last + 1
        last = mapping.skip_lines + reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        if first:
            first = False
        if len(cells) != width:
            yield IngestProblem(f"line {number}", f"{len(cells)} cells where the header has {width}")
            continue
        yield number, dict(zip(names, cells, strict=True))
    if first:
        yield None


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    return "a quoted value is not closed" if "unexpected end of data" in text or "EOF" in text else text


def _counted(lines: Iterator[tuple[int, str]], skip: int) -> Iterator[str]:
    for number, text in lines:
        if number > skip:
            yield text + "\n"


def _fixed_rows(content: bytes, start: int, mapping: ColumnMapping) -> Iterator[Row | IngestProblem | None]:
    assert mapping.fixed is not None
    spans = {name: (c.start - 1, c.start - 1 + c.width) for name, c in mapping.fixed.items()}
    any_rows = False
    for number, text in numbered_lines(content, start):
        if number <= mapping.skip_lines or not text.strip():
            continue
        any_rows = True
        yield number, {name: text[a:b] for name, (a, b) in spans.items()}
    if not any_rows:
        yield None
