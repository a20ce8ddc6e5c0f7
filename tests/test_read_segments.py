"""A file cut once (`read_segments`) reads, validates and maps exactly as its bytes do: the
responses stage validates a partner's answer, looks for TA1s and maps it from one cutting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edi.mappers.acknowledgments import x12_999_to_acks, x12_to_ta1
from edi.mappers.claim_acknowledgment import x12_277ca_to_reports
from edi.mappers.remittance import x12_835_to_reports
from edi.x12.generic_json import to_json
from edi.x12.reader import ReadSegments, X12Reader, X12SyntaxError, read_segments
from edi.x12.validator import validate

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLES = sorted(p for p in (FIXTURES / "x12").glob("*/*") if p.is_file() and not p.name.startswith("LICENSE"))
GOLDEN = sorted((FIXTURES / "golden_responses").glob("*.x12"))
EXAMPLE1 = FIXTURES / "x12" / "837_005010X222A2" / "demo.example1.837"
ACK_999 = next(p for p in SAMPLES if p.parent.name.startswith("999"))


def _reading(source: Any) -> tuple[list[tuple[list[str], Any, int, int, int]], list, int, int, str | None]:
    """Every segment with the reader's state as it was yielded, then the state at the end."""
    reader = X12Reader(source)
    seen = []
    error = None
    try:
        for seg in reader:
            seen.append((list(seg), reader.delimiters, reader.segment_index, reader.interchanges,
                         len(reader.problems)))
    except X12SyntaxError as exc:
        error = str(exc)
    return seen, list(reader.problems), reader.segment_index, reader.interchanges, error


def _broken() -> dict[str, bytes]:
    raw = EXAMPLE1.read_bytes()
    second = ACK_999.read_bytes().replace(b"*", b"|").replace(b":", b">")  # other separators
    return {
        "empty-segment": raw.replace(b"REF*EI*587654321~", b"REF*EI*587654321~~"),
        "unterminated": raw.rstrip(b"\n").removesuffix(b"~"),
        "trailing-data": raw + b"\nTHIS IS NOT AN INTERCHANGE~",
        "two-interchanges": raw + second,
        "leading-white-space": raw.replace(b"\nREF*EI", b"\n  REF*EI"),
        "not-x12": b"hello, world\n" * 20,
        "short-isa": b"ISA*00*short~",
        "no-terminator": raw[:200] + b"*" * 100,
        "empty": b"",
    }


CASES = {**{p.name: p.read_bytes() for p in SAMPLES + GOLDEN}, **_broken()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_replay_reads_as_the_bytes_do(name: str) -> None:
    raw = CASES[name]
    segments = read_segments(raw)
    assert isinstance(segments, ReadSegments)
    expected = _reading(raw)
    assert _reading(segments) == expected
    assert _reading(segments) == expected  # and again: each reader replays from the start


def _verdict(source: Any) -> tuple[dict, int]:
    report = validate(source, name="answer")
    return report.to_dict(include_values=True), report.segments


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_replay_validates_and_reads_as_the_bytes_do(name: str) -> None:
    raw = CASES[name]
    segments = read_segments(raw)
    assert _verdict(segments) == _verdict(raw)
    if _reading(raw)[4] is None:  # readable: the TA1s and the generic JSON too
        assert x12_to_ta1(segments) == x12_to_ta1(raw)
        assert to_json(segments) == to_json(raw)
    else:  # unreadable: the same error from every reader
        for read in (x12_to_ta1, to_json):
            with pytest.raises(X12SyntaxError) as from_bytes:
                read(raw)
            with pytest.raises(X12SyntaxError) as from_segments:
                read(segments)
            assert str(from_segments.value) == str(from_bytes.value)
    assert _verdict(segments) == _verdict(raw)  # validating changed no segment


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_answer_files_map_the_same_from_a_replay(path: Path) -> None:
    raw = path.read_bytes()
    segments = read_segments(raw)
    for mapper in (x12_999_to_acks, x12_277ca_to_reports, x12_835_to_reports):
        assert [r.to_json() for r in mapper(segments)] == [r.to_json() for r in mapper(raw)]
