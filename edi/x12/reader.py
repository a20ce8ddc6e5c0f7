"""Streaming X12 tokenizer.

Claim files reach gigabytes, so the reader never holds more than one chunk plus a partial segment
in memory. Separators are learnt afresh from every ISA, because one file may carry several
interchanges from senders with different habits. The reader only cuts text into segments and
elements; it judges nothing except what makes the text unreadable (no ISA where one must start).
Component and repetition splitting is left to the consumer, which knows which elements are composite.

Bytes are decoded as UTF-8 with ``surrogateescape`` so that any byte sequence, valid or not,
survives a read/write round trip unchanged.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .delimiters import Delimiters

__all__ = ["ReadSegments", "X12Reader", "X12SyntaxError", "ReaderProblem", "Source", "open_source", "read_segments"]

CHUNK_SIZE = 1 << 20
#: No real segment comes near this; a longer run without a terminator means the input is not X12.
MAX_SEGMENT_LENGTH = 4 << 20
_LEADING_NOISE = " \t\r\n\x00\ufeff"


class X12SyntaxError(Exception):
    """The input cannot be read as X12 at all (raised only from `X12Reader.__iter__`)."""


@dataclass(slots=True)
class ReaderProblem:
    """Something the tokenizer noticed that is not a parse failure: the validator reports it."""

    segment_index: int  # 0-based ordinal of the segment it concerns, in the file
    kind: str  # "unterminated-segment", "empty-segment", "trailing-data"
    detail: str = ""


@dataclass(slots=True)
class ReadSegments:
    """A source cut into segments once, to be read again as a source by several consumers.

    An answer file is validated, then searched for TA1s, then mapped: three readers of the same
    bytes, and the cutting was a third of each. An `X12Reader` over this replays what a reader of
    the original source did, segment by segment: the same lists (shared: consumers must not change
    them), delimiters, counts, problems at the same points and the same error at the end. It holds
    the whole file, so it is for documents held in memory anyway (a partner's answer), never for
    a stream of gigabytes.
    """

    segments: list[list[str]]
    # before segment i is yielded: (delimiters, interchanges so far, problems so far), where they changed
    marks: dict[int, tuple[Delimiters, int, int]]
    problems: list[ReaderProblem]
    error: Exception | None  # what the reader raised after the last segment, if anything


Source = bytes | str | os.PathLike[str] | BinaryIO | ReadSegments


def read_segments(source: Source) -> ReadSegments:
    """Cut `source` into segments once (see `ReadSegments`); never raises for bad input."""
    reader = X12Reader(source)
    segments: list[list[str]] = []
    marks: dict[int, tuple[Delimiters, int, int]] = {}
    problems = reader.problems
    seen = (None, 0, 0)
    error: Exception | None = None
    try:
        for seg in reader:
            state = (reader.delimiters, reader.interchanges, len(problems))
            if state[0] is not seen[0] or state[1] != seen[1] or state[2] != seen[2]:
                marks[len(segments)] = seen = state  # type: ignore[assignment]
            segments.append(seg)
    except (X12SyntaxError, OSError, UnicodeError) as exc:
        error = exc
    return ReadSegments(segments, marks, problems, error)


def open_source(source: Source) -> tuple[BinaryIO, bool]:
    """Return a binary stream for `source` and whether the caller must close it."""
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(bytes(source)), True
    if isinstance(source, str | os.PathLike):
        return open(Path(source), "rb"), True  # noqa: SIM115 - closed by the reader
    return source, False


@dataclass(slots=True)
class _State:
    buffer: str = ""
    eof: bool = False


@dataclass
class X12Reader:
    """Iterate over the segments of one or more interchanges as lists of element strings.

    ``segment[0]`` is the segment id; the ISA is split into its 16 fixed elements with ISA16
    kept whole. `delimiters` always describes the interchange the last yielded segment belongs to.
    """

    source: Source
    chunk_size: int = CHUNK_SIZE
    delimiters: Delimiters = field(default_factory=Delimiters)
    problems: list[ReaderProblem] = field(default_factory=list)
    segment_index: int = -1  # ordinal of the last yielded segment
    interchanges: int = 0

    def __iter__(self) -> Iterator[list[str]]:
        if isinstance(self.source, ReadSegments):
            yield from self._replay(self.source)
            return
        stream, must_close = open_source(self.source)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        state = _State()

        def fill() -> bool:
            if state.eof:
                return False
            data = stream.read(self.chunk_size)
            if not data:
                state.buffer += decoder.decode(b"", final=True)
                state.eof = True
                return False
            state.buffer += decoder.decode(data)
            return True

        try:
            fill()
            while True:
                # Between interchanges: skip blank space, then expect an ISA.
                state.buffer = state.buffer.lstrip(_LEADING_NOISE)
                while len(state.buffer) < 512 and fill():  # room for the longest ISA _split_isa accepts
                    state.buffer = state.buffer.lstrip(_LEADING_NOISE)
                if not state.buffer:
                    return
                if not state.buffer.startswith("ISA"):
                    if self.interchanges == 0:
                        raise X12SyntaxError("input does not begin with an ISA segment")
                    self.problems.append(
                        ReaderProblem(self.segment_index + 1, "trailing-data", "data after the last IEA")
                    )
                    return
                isa, rest = self._split_isa(state.buffer)
                state.buffer = rest
                self.interchanges += 1
                self.segment_index += 1
                yield isa
                yield from self._segments(state, fill)
        finally:
            if must_close:
                stream.close()

    def _replay(self, read: ReadSegments) -> Iterator[list[str]]:
        marks, problems = read.marks, read.problems
        for i, seg in enumerate(read.segments):
            mark = marks.get(i)
            if mark is not None:
                self.delimiters, self.interchanges, count = mark
                self.problems.extend(problems[len(self.problems):count])
            self.segment_index += 1
            yield seg
        self.problems.extend(problems[len(self.problems):])
        if read.error is not None:
            raise type(read.error)(*read.error.args)

    def _split_isa(self, text: str) -> tuple[list[str], str]:
        """Learn the separators from an ISA at the start of `text`; return it and the text after it."""
        if len(text) < 4:
            raise X12SyntaxError("ISA segment is truncated")
        sep = text[3]
        if sep.isalnum() or sep in " \r\n":
            raise X12SyntaxError("ISA segment has no valid element separator at position 4")
        pos = 3
        for _ in range(15):
            pos = text.find(sep, pos + 1)
            if pos < 0 or pos > 400:
                raise X12SyntaxError("ISA segment has fewer than 16 elements")
        if len(text) < pos + 3:
            raise X12SyntaxError("ISA segment is truncated")
        component = text[pos + 1]
        terminator = text[pos + 2]
        if terminator.isalnum() or terminator == sep or terminator == " ":
            raise X12SyntaxError("ISA segment terminator after ISA16 is missing or invalid")
        elements = text[:pos].split(sep)
        elements.append(component)
        after = pos + 3
        line_break = ""
        if text.startswith("\r\n", after):
            line_break = "\r\n"
        elif after < len(text) and text[after] in "\r\n":
            line_break = text[after]
        repetition = elements[11] if len(elements) > 11 else ""
        if len(repetition) != 1 or repetition.isalnum() or repetition in (sep, component, terminator):
            repetition = ""  # 4010 and older use ISA11 as a standards identifier ("U")
        self.delimiters = Delimiters(sep, component, repetition, terminator, line_break)
        return elements, text[after:]

    def _segments(self, state: _State, fill) -> Iterator[list[str]]:  # noqa: ANN001
        """Yield the segments after an ISA up to and including its IEA (or the end of input)."""
        term = self.delimiters.segment
        sep = self.delimiters.element
        while True:
            parts = state.buffer.split(term)
            tail = parts.pop()
            for i, part in enumerate(parts):
                if part and part[0] in "\r\n":
                    part = part.lstrip("\r\n")
                self.segment_index += 1
                if not part:
                    self.problems.append(ReaderProblem(self.segment_index, "empty-segment"))
                    yield [""]
                    continue
                elements = part.split(sep)
                yield elements
                if elements[0] == "IEA":
                    state.buffer = term.join(parts[i + 1 :]) + term + tail if i + 1 < len(parts) else tail
                    return
            state.buffer = tail
            if len(tail) > MAX_SEGMENT_LENGTH:
                raise X12SyntaxError(f"no segment terminator {term!r} within {MAX_SEGMENT_LENGTH} characters")
            if not fill():
                rest = state.buffer.strip("\r\n")
                state.buffer = ""
                if rest:
                    self.segment_index += 1
                    self.problems.append(ReaderProblem(self.segment_index, "unterminated-segment"))
                    yield rest.split(sep)
                return
