"""The payer simulator's batch mailbox: 837 files in, 999 + 277CA out at once, an 835 later.

A real payer's SFTP mailbox is just folders: the submitter drops files into ``inbound/`` and
collects answers from ``outbound/``. The simulator works the same way on a local directory, so it
does not care how files arrive: through its own asyncssh server (`sftp_server`), through
OpenSSH's ``sftp-server`` pointed at the same directory, or copied in by a test.

Layout under `root`::

    inbound/    837 files from the submitter (``*.part`` and dot files are still being written)
    outbound/   our answers, written as ``<name>.part`` and renamed, so never seen half written
    archive/    every inbound file once handled, as ``<our control number>_<name>``
    received.jsonl         one line per adjudicated claim (interchange, sender, CLM01, verdict)
    .mailbox-state.json    control counter, interchanges seen, payments still owed

Each file's first interchange is identified by (ISA06, ISA13). One seen before is a duplicate, as
a payer's front end would say: it gets a TA1 with TA105 ``025`` (Duplicate Interchange Control
Number) and nothing is adjudicated twice. A new one gets `rules.acknowledge_batch`: the 999 (with
its TA1 when ISA14 asks), the 277CA; its accepted claims are paid by one 835 once
`payment_delay_seconds` have passed (`pay_due`).

State survives restarts (written atomically): the control counter, so ISA13/GS06 are never
reused; the (sender, ISA13) pairs, so a resent file is still a duplicate; and the payments owed.
A payment is stored as the archived 837 plus the 277CA's control number: the verdicts (and the
payer claim control numbers, derived from that number) are rebuilt from them at pay time, which
is exact as long as the roster and rules are unchanged, and keeps PHI out of the state file.
The mailbox also keeps each batch's verdicts in memory until it pays them, so a running mailbox
reads every 837 once (reading the claims is nearly all of its CPU); only a restarted one rebuilds.
Outputs are named ``999_<837 ISA13>_<our ISA13>.x12`` (``TA1_``, ``277CA_``, ``835_`` likewise).

No log line or state entry carries claim data: file names, control numbers and counts only.
``received.jsonl`` holds the patient control number (CLM01) so tests can check each claim
reached the payer exactly once; it is the only claim field written.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.pgp import PgpKeyring, inner_name, looks_like_pgp
from edi.mappers.claim_acknowledgment_writer import ClaimVerdict
from edi.mappers.envelope import Envelope
from edi.x12.ack import AckNumbers
from edi.x12.reader import X12Reader
from edi.x12.writer import InterchangeHeader, write_interchange

from .roster import Roster
from .rules import Rules, acknowledge_837, acknowledge_batch, pay_claims, reply_envelope

__all__ = ["DUPLICATE_INTERCHANGE", "MAX_CONTROL_NUMBER", "Mailbox", "MailboxState"]

log = logging.getLogger(__name__)

MAX_CONTROL_NUMBER = 999_999_999
#: TA105 code I18 "Duplicate Interchange Control Number".
DUPLICATE_INTERCHANGE = "025"
PART_SUFFIX = ".part"
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class _Interchange:
    sender: str  # ISA06, trimmed
    control: str  # ISA13 as written
    isa: list[str]


def _first_interchange(data: bytes) -> _Interchange | None:
    try:
        for seg in X12Reader(data):
            if seg[0] == "ISA" and len(seg) >= 17:
                return _Interchange(seg[6].strip(), seg[13].strip(), seg)
            return None
    except Exception:  # unreadable: answered by nothing, archived
        return None
    return None


def _group_count(data: bytes) -> int:
    try:
        return sum(1 for seg in X12Reader(data) if seg[0] == "GS")
    except Exception:
        return 1


def _segment_ids(text: str) -> set[str]:
    return {seg[0] for seg in X12Reader(text.encode("utf-8", "surrogateescape"))}


@dataclass
class MailboxState:
    """What the mailbox must remember across restarts (see the module docstring)."""

    next_control: int = 1
    processed: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    pending: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "next_control": self.next_control,
            "processed": sorted([s, c] for s, c in self.processed),
            "pending": self.pending,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MailboxState:
        if data.get("version") != STATE_VERSION:
            raise ValueError("mailbox state file of an unknown version")
        return cls(
            next_control=int(data["next_control"]),
            processed={(str(s), str(c)) for s, c in data.get("processed", [])},
            pending=list(data.get("pending", [])),
        )


class Mailbox:
    """The simulator's mailbox on directory `root` (created with its folders when missing).

    `sender_id` is the ISA06/GS02 of the 277CAs and 835s (the 999s and TA1s answer from the 837's
    ISA08, as `edi.x12.ack` does). `control_start` is the first control number of a fresh state.
    All methods are safe to call from several threads; `run` is the usual driver.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        rules: Rules,
        roster: Roster,
        *,
        sender_id: str,
        payment_delay_seconds: float = 5.0,
        state_file: str | os.PathLike[str] | None = None,
        control_start: int = 1,
        pgp: PgpKeyring | None = None,
        pgp_submitter: str | None = None,
    ) -> None:
        # With `pgp` (the payer's keyring: its key pair and the submitter's public key) 837 files
        # must come encrypted to the payer and signed by `pgp_submitter` (a fingerprint); answers
        # go out encrypted to it and signed, as ``NAME.pgp``, like a payer that requires PGP.
        if (pgp is None) != (pgp_submitter is None):
            raise ValueError("give pgp and pgp_submitter together")
        self.pgp, self.pgp_submitter = pgp, pgp_submitter
        if payment_delay_seconds < 0:
            raise ValueError("payment_delay_seconds must not be negative")
        if not 1 <= control_start <= MAX_CONTROL_NUMBER:
            raise ValueError(f"control_start must be between 1 and {MAX_CONTROL_NUMBER}")
        self.root = Path(root)
        self.rules = rules
        self.roster = roster
        self.sender_id = sender_id
        self.payment_delay_seconds = payment_delay_seconds
        self.inbound = self.root / "inbound"
        self.outbound = self.root / "outbound"
        self.archive = self.root / "archive"
        self.received_log = self.root / "received.jsonl"
        for folder in (self.inbound, self.outbound, self.archive):
            folder.mkdir(parents=True, exist_ok=True)
        self.state_file = Path(state_file) if state_file is not None else self.root / ".mailbox-state.json"
        self._lock = threading.RLock()
        self.state = self._load_state(control_start)
        # Verdicts of the batches still owed an 835, by archive name: never persisted (they hold
        # PHI); a payment missing here after a restart is rebuilt from the archived 837.
        self._verdicts: dict[str, list[ClaimVerdict]] = {}

    # ------------------------------------------------------------------ state

    def _load_state(self, control_start: int) -> MailboxState:
        try:
            text = self.state_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return MailboxState(next_control=control_start)
        return MailboxState.from_json(json.loads(text))

    def _save_state(self) -> None:
        _write_atomic(self.state_file, json.dumps(self.state.to_json(), indent=1).encode())

    def _reserve(self, count: int = 1) -> int:
        """The first of `count` consecutive control numbers, saved before use so none is reused."""
        first = self.state.next_control
        if first + count - 1 > MAX_CONTROL_NUMBER:
            first = 1
        self.state.next_control = first + count
        if self.state.next_control > MAX_CONTROL_NUMBER:
            self.state.next_control = 1
        self._save_state()
        return first

    def _envelope(self, data: bytes, number: int, now: datetime) -> Envelope:
        envelope = reply_envelope(data, number, number, now=now)
        return dataclasses.replace(envelope, sender_id=self.sender_id, application_sender=self.sender_id)

    # ------------------------------------------------------------------ inbound

    def _inbound_files(self) -> Iterator[Path]:
        for path in sorted(self.inbound.iterdir(), key=lambda p: p.name):
            if path.name.startswith(".") or path.name.endswith(PART_SUFFIX):
                continue
            if path.is_file() and not path.is_symlink():
                yield path

    def process_once(self, now: datetime | None = None) -> int:
        """Answer every complete file waiting in ``inbound/``; returns how many were handled."""
        handled = 0
        with self._lock:
            for path in self._inbound_files():
                moment = now or datetime.now()
                try:
                    self._process(path, moment)
                except Exception as error:  # one bad file must not stop the mailbox
                    log.error("mailbox: %s could not be processed (%s)", path.name, type(error).__name__)
                    self._move_to_archive(path, f"failed-{self._reserve():09d}")
                handled += 1
        return handled

    def _process(self, path: Path, now: datetime) -> None:
        data = path.read_bytes()
        if self.pgp is not None and looks_like_pgp(data):
            # decrypted in place (the plaintext is what is archived and paid from later)
            data = self.pgp.open_inbound(data, self.pgp_submitter)
            plain = path.with_name(inner_name(path.name))
            _write_atomic(plain, data, part=PART_SUFFIX)
            path.unlink()
            path = plain
        interchange = _first_interchange(data)
        if interchange is None:
            number = self._reserve()
            log.warning("mailbox: %s holds no readable interchange; archived unanswered", path.name)
            self._move_to_archive(path, f"{number:09d}")
            return
        key = (interchange.sender, interchange.control)
        if key in self.state.processed:
            self._answer_duplicate(path, data, interchange, now)
            return

        ack_first = self._reserve(max(1, _group_count(data)))
        ca_number = self._reserve()
        envelope = self._envelope(data, ca_number, now)
        answer = acknowledge_batch(
            data, self.rules, self.roster, AckNumbers(interchange=ack_first, group=ack_first), envelope
        )
        icn = interchange.control
        if answer.ack_999 is not None:
            kind = "999" if "GS" in _segment_ids(answer.ack_999) else "TA1"
            self._write_outbound(f"{kind}_{icn}_{ack_first:09d}.x12", answer.ack_999)
        if answer.ack_277ca is not None:
            self._write_outbound(f"277CA_{icn}_{ca_number:09d}.x12", answer.ack_277ca)

        archived = f"{ca_number:09d}_{path.name}"
        accepted = sum(1 for v in answer.verdicts if v.accepted)
        self.state.processed.add(key)
        if accepted:
            self._verdicts[archived] = answer.verdicts
            self.state.pending.append(
                {
                    "archive": archived,
                    "sender": interchange.sender,
                    "interchange": icn,
                    "ack_control": ca_number,
                    "due": now.timestamp() + self.payment_delay_seconds,
                }
            )
        self._save_state()
        self._move_to_archive(path, f"{ca_number:09d}", name=archived)
        with self.received_log.open("a", encoding="utf-8") as f:
            for v in answer.verdicts:
                record = {
                    "interchange": icn,
                    "sender": interchange.sender,
                    "patient_control_number": v.patient_control_number,
                    "accepted": v.accepted,
                    "payer_claim_control_number": v.payer_claim_control_number,
                }
                f.write(json.dumps(record) + "\n")
        log.info(
            "mailbox: %s (ISA13 %s) answered: %d claims, %d accepted",
            path.name,
            icn,
            len(answer.verdicts),
            accepted,
        )

    def _answer_duplicate(self, path: Path, data: bytes, interchange: _Interchange, now: datetime) -> None:
        number = self._reserve()
        reply = reply_envelope(data, number, number, now=now)
        isa = interchange.isa
        header = InterchangeHeader(
            sender_qualifier=reply.sender_qualifier,
            sender_id=reply.sender_id,
            receiver_qualifier=reply.receiver_qualifier,
            receiver_id=reply.receiver_id,
            control_number=number,
            usage=reply.usage,
            ack_requested="0",
            date=now.strftime("%y%m%d"),
            time=now.strftime("%H%M"),
        )
        ta1 = ["TA1", isa[13], isa[9], isa[10], "R", DUPLICATE_INTERCHANGE]
        text = write_interchange(header, [], reply.delimiters, now=now, leading=[ta1])
        self._write_outbound(f"TA1_{interchange.control}_{number:09d}.x12", text)
        self._move_to_archive(path, f"{number:09d}")
        log.warning(
            "mailbox: %s repeats interchange %s of %s; TA1 %s sent, not adjudicated again",
            path.name,
            interchange.control,
            interchange.sender,
            DUPLICATE_INTERCHANGE,
        )

    # ------------------------------------------------------------------ payments

    def pay_due(self, now: datetime | None = None) -> int:
        """Write the 835 of every batch whose payment delay has passed; returns how many were written."""
        written = 0
        with self._lock:
            moment = now or datetime.now()
            due = [p for p in self.state.pending if p["due"] <= moment.timestamp()]
            for entry in due:
                try:
                    written += self._pay(entry, moment)
                except Exception as error:
                    log.error(
                        "mailbox: payment of interchange %s failed (%s); dropped",
                        entry.get("interchange"),
                        type(error).__name__,
                    )
                self.state.pending.remove(entry)
                self._verdicts.pop(entry.get("archive"), None)
                self._save_state()
        return written

    def _pay(self, entry: dict[str, Any], now: datetime) -> int:
        data = (self.archive / entry["archive"]).read_bytes()
        verdicts = self._verdicts.get(entry["archive"])
        if verdicts is None:
            # The same envelope number gives the same payer claim control numbers as the 277CA did.
            verdicts, _ = acknowledge_837(
                data, self.rules, self.roster, self._envelope(data, entry["ack_control"], now)
            )
        number = self._reserve()
        text = pay_claims(verdicts, self.rules, self._envelope(data, number, now), self.roster)
        if text is None:
            return 0
        self._write_outbound(f"835_{entry['interchange']}_{number:09d}.x12", text)
        log.info("mailbox: 835 %09d pays interchange %s", number, entry["interchange"])
        return 1

    # ------------------------------------------------------------------ driver

    def run(self, stop_event: threading.Event, poll_seconds: float = 0.5) -> None:
        """Poll until `stop_event` is set; errors are logged and the loop goes on."""
        while not stop_event.is_set():
            try:
                self.process_once()
                self.pay_due()
            except Exception as error:
                log.error("mailbox: poll failed (%s)", type(error).__name__)
            stop_event.wait(poll_seconds)

    # ------------------------------------------------------------------ files

    def _write_outbound(self, name: str, text: str) -> None:
        data = text.encode("utf-8", "surrogateescape")
        if self.pgp is not None and self.pgp_submitter is not None:
            name, data = f"{name}.pgp", self.pgp.seal_outbound(data, self.pgp_submitter)
        _write_atomic(self.outbound / name, data, part=PART_SUFFIX)

    def _move_to_archive(self, path: Path, prefix: str, *, name: str | None = None) -> None:
        target = self.archive / (name or f"{prefix}_{path.name}")
        os.replace(path, target)


def _write_atomic(path: Path, data: bytes, *, part: str = ".tmp") -> None:
    temp = path.with_name(path.name + part)
    with open(temp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
