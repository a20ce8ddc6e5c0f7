"""The streaming X12 reader (edi.x12.reader): separators, chunking, bytes, problems, memory.

Real sample files only; variants are made by plain text manipulation of those files.
"""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.gen_837p import generate_837p
from edi.x12.delimiters import Delimiters
from edi.x12.reader import ReaderProblem, X12Reader, X12SyntaxError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "x12"
SAMPLES = sorted(p for p in FIXTURES.glob("*/*") if p.is_file() and not p.name.startswith("LICENSE"))
EXAMPLE1 = FIXTURES / "837_005010X222A2" / "demo.example1.837"
ELIGIBILITY_270 = FIXTURES / "270_005010X279A1" / "subscriber-health-benefit-check.270"


def read(source, **kwargs) -> tuple[list[list[str]], X12Reader]:
    reader = X12Reader(source, **kwargs)
    return list(reader), reader


def convert(text: str, d: Delimiters) -> str:
    """Rewrite a sample written with * : ^ ~ and LF line breaks to other separators."""
    data = set(text.replace("~\n", "~"))
    assert not (d.characters() - {"*", ":", "^", "~"}) & data, "sample data holds a target separator"
    body = text.translate({ord("*"): d.element, ord(":"): d.component, ord("^"): d.repetition})
    body = body.replace("~\n", "\x00").replace("~", "\x00")
    return body.replace("\x00", d.segment + d.line_break)


def back(segments: list[list[str]], d: Delimiters) -> list[list[str]]:
    """Segments read from a converted file, with component/repetition characters mapped back."""
    table = {ord(d.component): ":", ord(d.repetition): "^"} if d.repetition else {ord(d.component): ":"}
    return [[e.translate(table) for e in seg] for seg in segments]


DELIMITER_SETS = [
    Delimiters("*", ":", "^", "~", "\n"),
    Delimiters("*", ":", "^", "~", ""),
    Delimiters("*", ":", "^", "~", "\r\n"),
    Delimiters("|", ">", "!", "~", "\n"),
    Delimiters("+", ":", "`", "'", ""),
    Delimiters("^", ">", "{", "~", "\r\n"),
    Delimiters("*", ":", "^", "\n", ""),  # the line feed itself terminates segments
    Delimiters("\x1d", "\x1f", "\x1e", "\x1c", ""),  # ASCII group/unit/record/file separators
]


@pytest.mark.parametrize("d", DELIMITER_SETS, ids=lambda d: repr(d.to_dict()))
@pytest.mark.parametrize("sample", [EXAMPLE1, ELIGIBILITY_270], ids=lambda p: p.name)
def test_separators_are_learnt_from_the_isa(sample: Path, d: Delimiters) -> None:
    original, _ = read(sample)
    segments, reader = read(convert(sample.read_text(), d).encode())
    assert reader.delimiters == d
    assert reader.problems == []
    assert back(segments, d) == original
    # ISA11 is the repetition separator (5010) and ISA16 the component separator, kept whole
    assert segments[0][11] == d.repetition and segments[0][16] == d.component
    assert len(segments[0]) == 17


def test_4010_isa11_is_not_a_repetition_separator() -> None:
    text = EXAMPLE1.read_text().replace("*^*00501*", "*U*00501*", 1)
    segments, reader = read(text.encode())
    assert segments[0][11] == "U"
    assert reader.delimiters == Delimiters("*", ":", "", "~", "\n")


def test_two_interchanges_with_different_separators_in_one_file() -> None:
    d2 = Delimiters("|", ">", "!", "\x1c", "\r\n")
    data = EXAMPLE1.read_bytes() + b"\r\n\r\n" + convert(ELIGIBILITY_270.read_text(), d2).encode()
    reader = X12Reader(data)
    seen: list[tuple[list[str], Delimiters]] = [(seg, reader.delimiters) for seg in reader]
    first, _ = read(EXAMPLE1)
    second, _ = read(ELIGIBILITY_270)
    assert [s for s, _ in seen[: len(first)]] == first
    assert {d for _, d in seen[: len(first)]} == {Delimiters("*", ":", "^", "~", "\n")}
    assert back([s for s, _ in seen[len(first) :]], d2) == second
    assert {d for _, d in seen[len(first) :]} == {d2}
    assert reader.interchanges == 2
    assert reader.problems == []
    assert reader.segment_index == len(first) + len(second) - 1


def _variants(sample: Path) -> dict[str, bytes]:
    raw = sample.read_bytes()
    return {
        "as-is": raw,
        "crlf": raw.replace(b"~\n", b"~\r\n"),
        "no-breaks": raw.replace(b"~\n", b"~"),
    }


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_chunk_boundaries_do_not_change_the_segments(sample: Path) -> None:
    for name, data in _variants(sample).items():
        expected, ref = read(data)
        assert expected[0][0] == "ISA" and expected[-1][0] == "IEA", name
        for size in (1, 7, 64):
            segments, reader = read(io.BytesIO(data), chunk_size=size)
            assert segments == expected, (name, size)
            assert reader.problems == ref.problems, (name, size)
            assert reader.delimiters == ref.delimiters, (name, size)


def test_over_long_isa_is_read_the_same_at_every_chunk_size() -> None:
    """BUG (edi/x12/reader.py): the reader accepts an ISA up to 400 characters when the whole of
    it is in the buffer, but before splitting it only fills the buffer to 200 characters, so
    with small chunks the same bytes raise X12SyntaxError ("fewer than 16 elements").
    Proposed fix: in X12Reader.__iter__ fill to at least 404 characters (the ISA search limit
    plus ISA16 and terminator) before calling _split_isa."""
    data = EXAMPLE1.read_bytes().replace(b"ISA*03*9876543210*", b"ISA*03*" + b"9" * 150 + b"*", 1)
    expected, _ = read(data)
    assert expected[0][2] == "9" * 150
    for size in (1, 7, 64, 199):
        segments, _ = read(data, chunk_size=size)
        assert segments == expected, size


@pytest.mark.parametrize("size", [1, 2, 7, 1 << 20])
def test_multibyte_utf8_and_invalid_bytes_survive(size: int) -> None:
    raw = EXAMPLE1.read_bytes()
    data = raw.replace(b"NM1*QC*1*SMITH*TED~", "NM1*QC*1*MÜLLER*JOSÉ~".encode()).replace(
        b"N3*236 N MAIN ST~", b"N3*236 N MAIN \xff\xfeST~"
    )
    segments, reader = read(data, chunk_size=size)
    assert reader.problems == []
    names = [s for s in segments if s[:2] == ["NM1", "QC"]]
    assert names == [["NM1", "QC", "1", "MÜLLER", "JOSÉ"]]
    streets = [s for s in segments if s[0] == "N3" and s[1].startswith("236")]
    assert streets == [["N3", "236 N MAIN \udcff\udcfeST"]]
    # the text encodes back to exactly the bytes read
    d = reader.delimiters
    text = "".join(d.element.join(s) + d.segment + d.line_break for s in segments)
    assert text.encode("utf-8", "surrogateescape") == data + b"\n"  # the sample ends without a line break


@pytest.mark.parametrize(
    "data",
    [b"hello, world\n" * 20, b"<?xml version='1.0'?><claim/>", b"ISA", b"ISA*00*short~", b"\x00\x01\x02" * 100],
    ids=["text", "xml", "isa-only", "short-isa", "binary"],
)
def test_input_that_is_not_x12_raises_from_iteration(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "input.x12"
    path.write_bytes(data)
    for source in (data, io.BytesIO(data), path):
        reader = X12Reader(source)  # constructing never reads
        with pytest.raises(X12SyntaxError):
            list(reader)


def test_missing_final_terminator_is_an_unterminated_segment() -> None:
    raw = EXAMPLE1.read_bytes()
    expected, _ = read(raw)
    data = raw.rstrip(b"\n").removesuffix(b"~")
    for size in (1, 7, 1 << 20):
        segments, reader = read(data, chunk_size=size)
        assert segments == expected
        assert reader.problems == [ReaderProblem(len(expected) - 1, "unterminated-segment")]


def test_empty_segment_is_reported() -> None:
    data = EXAMPLE1.read_bytes().replace(b"REF*EI*587654321~", b"REF*EI*587654321~~")
    expected, _ = read(EXAMPLE1)
    segments, reader = read(data)
    at = expected.index(["REF", "EI", "587654321"]) + 1
    assert segments == expected[:at] + [[""]] + expected[at:]
    assert reader.problems == [ReaderProblem(at, "empty-segment")]
    # a blank line between terminators is the same empty segment
    segments, reader = read(data.replace(b"~~", b"~\n~"))
    assert reader.problems == [ReaderProblem(at, "empty-segment")]


def test_data_after_the_last_iea_is_trailing_data() -> None:
    expected, _ = read(EXAMPLE1)
    segments, reader = read(EXAMPLE1.read_bytes() + b"\nTHIS IS NOT AN INTERCHANGE~")
    assert segments == expected
    assert reader.problems == [ReaderProblem(len(expected), "trailing-data", "data after the last IEA")]


# ------------------------------------------------------------------- constant memory

N_CLAIMS = 50_000
CLAIMS_PER_ST = 1_000


class _GeneratedFile(io.RawIOBase):
    """A read-only binary file whose bytes come from a generator, never all in memory."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self.bytes_read += n
        return n


def _big_837p() -> Iterator[bytes]:
    """A 50,000-claim 837P from benchmarks.gen_837p, streamed in 64 KiB pieces.

    Running the generator for all 50,000 claims under tracemalloc takes ~45 s, so it makes one
    1,000-claim transaction set and the stream repeats it 50 times (each with its own ST02/SE02),
    inside one valid GS/GE and ISA/IEA.
    """
    template = b"".join(generate_837p(CLAIMS_PER_ST, CLAIMS_PER_ST, seed=5010))
    st = template.index(b"ST*837*")
    ge = template.index(b"GE*")
    header, block = template[:st], template[st:ge]
    st02 = block[7 : block.index(b"*", 7)]
    assert block.count(b"*" + st02 + b"*") == 1 and block.endswith(b"*" + st02 + b"~\n")
    yield header
    for i in range(N_CLAIMS // CLAIMS_PER_ST):
        cn = b"%09d" % (i + 1)
        copy = block.replace(b"ST*837*" + st02 + b"*", b"ST*837*" + cn + b"*", 1)
        copy = copy[: -len(st02) - 2] + cn + b"~\n"
        for k in range(0, len(copy), 1 << 16):
            yield copy[k : k + (1 << 16)]
    gs06 = header.split(b"\n")[1].split(b"*")[6]
    isa13 = header[90:99]
    yield b"GE*%d*%s~\nIEA*1*%s~\n" % (N_CLAIMS // CLAIMS_PER_ST, gs06, isa13)


def test_reader_memory_is_constant_on_a_25_mb_file() -> None:
    stream = _GeneratedFile(_big_837p())
    reader = X12Reader(stream)
    claims = segments = 0
    tracemalloc.start()
    try:
        for seg in reader:
            segments += 1
            if seg[0] == "CLM":
                claims += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert claims == N_CLAIMS
    assert stream.bytes_read > 25_000_000
    assert segments > 1_000_000
    assert reader.problems == []
    assert peak < 16 * 1024 * 1024, f"peak traced memory {peak / 1e6:.1f} MB"
