"""Answers to one uploaded file as one JSON Lines file: the ``jsonl`` answer layout of a door.

A roster of ten thousand lines answered one file per line leaves ten thousand files to list, fetch
and delete; a submitter that would rather read one file sets ``answers: jsonl`` on its door (the
partners file). Then, besides the door's receipt (``NAME.receipt.json`` / ``NAME.error.json``):

* ``NAME.responses.jsonl`` in ``outbound/`` gets one line per answer document, appended as the
  answers arrive (in the order they arrive, not the order of the input)::

      {"item": "line 12", "transactionId": "01J...", "type": "eligibility.response", "final": true,
       "document": {...the same JSON a response file or webhook carries...}}

  ``item`` is the place in the input (``line 12`` of a CSV, ``record 3``, ``claim 2``), the same
  label the receipt uses; ``transactionId`` is the one the receipt lists for that item. A claim
  has several lines (999, 277CA, 835); ``final`` marks its last one.
* Each line is written with a single ``write`` of the whole line and its newline, under an
  exclusive lock, then flushed to disk. A line is complete only when its newline is there: a
  reader that tails the file reads up to the last newline and leaves the rest for its next read.
  An answer written again after a crash (the delivery is at least once) is recognised by its
  transaction and type and not appended twice.
* ``NAME.responses.done`` appears (written whole, then renamed into place) once every
  transaction of the file has its final answer in the file; it holds
  ``{"type": "complete", "name": ..., "file": ..., "transactions": N, "lines": M}``. After it the
  ``.jsonl`` does not change any more. A file with no transaction at all (refused whole) gets
  its receipt only.

When two uploads carry the same name, the second one's answers go to ``NAME.2.responses.jsonl``
(the receipt says which: ``responses``). The bookkeeping (locks, what each file owes, what
is in it) lives in a state folder out of the submitters' reach. The upload's name may carry PHI
(``smith_john_19800101.csv``) and that folder is ours, so nothing there is named after it or
holds it: its files are named by an HMAC of the outbound folder and the answer file under a
random key of the state folder (``.names.key``), and what a file owes records only the suffix
the answer file adds to the upload's name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.durable_files import write_atomic

__all__ = ["JsonlAnswers", "done_name", "jsonl_name"]

SUFFIX, DONE = ".responses.jsonl", ".responses.done"


def jsonl_name(name: str, number: int = 1) -> str:
    return f"{name}{SUFFIX}" if number == 1 else f"{name}.{number}{SUFFIX}"


def done_name(file: str) -> str:
    return file.removesuffix(SUFFIX) + DONE


@dataclass
class _Seen:
    """What this process knows of one answer file: read up to ``offset``."""

    offset: int = 0
    keys: set[tuple[str, str]] = field(default_factory=set)  # (transaction id, type) already in the file
    final: set[str] = field(default_factory=set)  # transactions whose final answer is in the file
    lines: int = 0
    expected: tuple[str, frozenset[str]] | None = None  # (input name, transactions owed), once recorded


class JsonlAnswers:
    """The JSON Lines answer files of the outbound folders; ``state`` is a folder of ours."""

    def __init__(self, state: str | os.PathLike[str]) -> None:
        self.state = Path(state)
        self._key: bytes | None = None
        self._seen: dict[Path, _Seen] = {}
        self._guard = threading.Lock()  # flock is per open file: threads of one process queue here

    def reserve(self, outbound: Path, name: str) -> str:
        """The answer file for a new upload called ``name``: the first numbering not in use."""
        with self._guard:
            for number in range(1, 10_000):
                file = jsonl_name(name, number)
                marker = self._state_file(outbound, file, ".owner")
                marker.parent.mkdir(parents=True, exist_ok=True)
                if (outbound / file).exists():
                    continue
                try:
                    marker.open("x").close()
                except FileExistsError:
                    continue
                return file
        raise OSError("no free answer file name for this upload")

    def append(self, outbound: Path, file: str, item: str | None, body: bytes) -> None:
        """Add one answer document (JSON bytes) as a line, unless that answer is there already."""
        document: Any = json.loads(body)
        data = document.get("data") if isinstance(document, dict) else None
        data = data if isinstance(data, dict) else {}
        transaction_id = str(data.get("transactionId") or "")
        kind = str(document.get("type") or "response") if isinstance(document, dict) else "response"
        line = {"item": item, "transactionId": transaction_id or None, "type": kind,
                "final": bool(data.get("final")), "document": document}
        text = (json.dumps(line, separators=(",", ":")) + "\n").encode()
        with self._locked(outbound, file) as (fd, seen):
            if (transaction_id, kind) in seen.keys:
                return
            os.write(fd, text)  # O_APPEND: one write, the whole line
            os.fsync(fd)
            self._note(seen, text, len(text))
            self._maybe_done(outbound, file, seen)

    def expect(self, outbound: Path, file: str, name: str, transaction_ids: Iterable[str]) -> None:
        """Record which transactions the file owes answers for (the door, once the intake returned)."""
        ids = sorted(set(transaction_ids))
        with self._locked(outbound, file) as (_fd, seen):
            target = self._state_file(outbound, file, ".expect.json")
            # the name comes back from the answer file's own name: the file less this suffix
            suffix = file[len(name):] if file.startswith(name) else None
            write_atomic(target, json.dumps({"suffix": suffix, "transactions": ids}).encode(), staging=self.state)
            self._maybe_done(outbound, file, seen)

    # -- bookkeeping -------------------------------------------------------------------------------

    def _state_file(self, outbound: Path, file: str, suffix: str) -> Path:
        folder = hashlib.sha256(os.fsencode(outbound.resolve())).hexdigest()[:24]
        named = hmac.new(self._names_key(), os.fsencode(outbound.resolve()) + b"\x00" + file.encode(),
                         hashlib.sha256).hexdigest()[:40]
        return self.state / folder / f"{named}{suffix}"

    def _names_key(self) -> bytes:
        """The state folder's random key for naming its files (made once; the first process wins)."""
        if self._key is None:
            path = self.state / ".names.key"
            if not path.exists():
                self.state.mkdir(parents=True, exist_ok=True)
                draft = self.state / f".names.key.{os.getpid()}.{secrets.token_hex(4)}"
                fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(secrets.token_bytes(32))
                    handle.flush()
                    os.fsync(handle.fileno())
                try:
                    os.link(draft, path)
                except FileExistsError:
                    pass
                finally:
                    draft.unlink()
            self._key = path.read_bytes()
        return self._key

    @contextlib.contextmanager
    def _locked(self, outbound: Path, file: str) -> Iterator[tuple[int, _Seen]]:
        """The answer file open for appending, locked against other processes, caught up with
        what they appended."""
        path = outbound / file
        lock_path = self._state_file(outbound, file, ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self._guard:
            lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    seen = self._seen.setdefault(path, _Seen())
                    self._catch_up(path, seen)
                    yield fd, seen
                finally:
                    os.close(fd)
            finally:
                os.close(lock)  # releases the flock

    @staticmethod
    def _catch_up(path: Path, seen: _Seen) -> None:
        size = path.stat().st_size
        if size < seen.offset:  # removed by the submitter and begun again
            seen.offset, seen.lines = 0, 0
            seen.keys.clear()
            seen.final.clear()
        if size == seen.offset:
            return
        with path.open("rb") as f:
            f.seek(seen.offset)
            chunk = f.read(size - seen.offset)
        end = chunk.rfind(b"\n") + 1  # only whole lines
        JsonlAnswers._note(seen, chunk[:end], end)

    @staticmethod
    def _note(seen: _Seen, chunk: bytes, length: int) -> None:
        for raw in chunk.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            seen.lines += 1
            tid = str(line.get("transactionId") or "")
            seen.keys.add((tid, str(line.get("type"))))
            if line.get("final"):
                seen.final.add(tid)
        seen.offset += length

    def _maybe_done(self, outbound: Path, file: str, seen: _Seen) -> None:
        marker = outbound / done_name(file)
        expect_path = self._state_file(outbound, file, ".expect.json")
        if marker.exists() or not expect_path.exists():
            return
        if seen.expected is None:  # read once: it is written once
            recorded = json.loads(expect_path.read_bytes())
            suffix = recorded.get("suffix")
            name = recorded.get("name") or (file[: -len(suffix)] if suffix else file.removesuffix(SUFFIX))
            seen.expected = (name, frozenset(recorded["transactions"]))
        name, owed = seen.expected
        if not owed <= seen.final:
            return
        summary = {"type": "complete", "name": name, "file": file, "transactions": len(owed), "lines": seen.lines}
        write_atomic(marker, json.dumps(summary).encode(), staging=self.state)


