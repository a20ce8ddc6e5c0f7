"""Is this UTF-8 text at all? Checked over the whole input before any item is taken.

A file that turns out to be a ZIP archive, UTF-16 or Latin-1 half-way through must be refused
as a whole, with the line where it stops being UTF-8, rather than accepted up to that line and
rejected after it. The check runs at C speed chunk by chunk and only walks lines to say where.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator

from .items import DecodeError, IngestProblem

__all__ = ["BOM", "check_size", "check_text", "numbered_lines"]

BOM = b"\xef\xbb\xbf"
_CHUNK = 64 << 10  # bounds the memory of the check, whatever the size of the input
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "UTF-32 text"),
    (b"\x00\x00\xfe\xff", "UTF-32 text"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "a Microsoft Office document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"-----BEGIN PGP MESSAGE", "a PGP-encrypted message"),
)
# Bytes that never occur in text; X12 may use FS/GS/RS/US (0x1c-0x1f) and BEL as separators.
_NOT_BLANK = re.compile(rb"[^ \t\r\n\x0b\x0c]")
_CONTROL = frozenset(range(0x20)) - frozenset(b"\t\n\r\x0b\x0c\x07\x1c\x1d\x1e\x1f")


def check_size(size: int, limit: int) -> None:
    """Refuse by the declared size alone, so a door need not read (or download) an oversize input."""
    if size > limit:
        raise DecodeError.of(f"the file is {size} bytes, above the limit of {limit} bytes; split it and send the parts")


def check_text(content: bytes) -> int:
    """Raise ``DecodeError`` unless ``content`` is non-empty UTF-8 text; return where the text
    starts (after a byte order mark)."""
    if not content:
        raise DecodeError.of("the file is empty")
    for magic, what in _MAGIC:
        if content.startswith(magic):
            hint = "re-encode it as UTF-8" if "text" in what else "send the content itself as UTF-8 text"
            raise DecodeError.of(f"the file is {what}, not UTF-8 text; {hint}")
    start = len(BOM) if content.startswith(BOM) else 0
    nul = content.find(b"\x00", start)
    if nul >= 0:
        line = content.count(b"\n", 0, nul) + 1
        raise DecodeError([IngestProblem(
            f"line {line}",
            "binary data (a NUL byte), not text: send UTF-8 text (JSON, X12, CSV or fixed-width)",
        )])
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    view = memoryview(content)
    try:
        for offset in range(start, len(content), _CHUNK):
            decoder.decode(view[offset : offset + _CHUNK], final=offset + _CHUNK >= len(content))
    except UnicodeDecodeError:
        _raise_not_utf8(content, start)
    if _NOT_BLANK.search(content, start) is None:  # a search, not a stripped copy of the input
        raise DecodeError.of("the file is empty (only blank space)")
    return start


def _raise_not_utf8(content: bytes, start: int) -> None:
    head = content[start : start + 4096]
    if head and sum(b in _CONTROL for b in head) * 20 > len(head):
        raise DecodeError.of("binary data, not text: send UTF-8 text (JSON, X12, CSV or fixed-width)")
    for number, raw in enumerate(io.BytesIO(content[start:]), 1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            truncated = exc.reason == "unexpected end of data"
            what = "ends inside a multi-byte character (truncated?)" if truncated else "is not valid UTF-8"
            raise DecodeError([IngestProblem(
                f"line {number}",
                f"byte {exc.start + 1} of the line {what}; the file must be UTF-8 (with or without BOM), "
                "re-encode it (it may be Latin-1 or Windows-1252)",
            )]) from None
    raise DecodeError.of("the file is not valid UTF-8")  # pragma: no cover - a chunk failed, so a line does


def numbered_lines(content: bytes, start: int = 0) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without the line break) of already checked UTF-8 ``content``."""
    stream = io.BytesIO(content)
    stream.seek(start)
    for number, raw in enumerate(stream, 1):
        yield number, raw.decode("utf-8").rstrip("\r\n")
