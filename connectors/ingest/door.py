"""The contract between an ingest door and the pipeline.

A door knows its transport (a file system, an SFTP session, a bucket, a broker) and nothing of
X12 or the store: it hands the raw bytes of a file or message to the ``Intake`` and acknowledges
(moves the file, acks the message) only after ``Intake`` has returned, which means every accepted
request is stored. What the door answers at once (the receipt, or the refusal) is one document
for every door, built by ``receipts``; what comes back later goes out through the door's
``ReplySink`` to the ``ReplyAddress`` recorded with the submission -- the same channel the request
came in by.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = ["Channel", "Intake", "IntakeReceipt", "ItemError", "ReplyAddress", "ReplySink", "Submission"]

Channel = Literal["folder", "sftp", "s3", "amqp", "jms"]


@dataclass(frozen=True, slots=True)
class ReplyAddress:
    """Where the answers to a submission go: a folder, an S3 prefix, a queue or a JMS destination."""

    channel: Channel
    target: str  # outbound folder path, s3://bucket/prefix, reply queue name, JMS destination
    correlation_id: str | None = None  # AMQP correlation_id / JMSCorrelationID to echo
    # The ``jsonl`` answer layout (connectors.ingest.jsonl_answers): every answer to the file is a
    # line of ``file`` in the target folder, naming ``item``, the place in the input it answers.
    file: str | None = None
    item: str | None = None

    def to_json(self) -> str:
        """The form recorded with each transaction (``transactions.reply_to``)."""
        data: dict[str, Any] = {"channel": self.channel, "target": self.target, "correlation_id": self.correlation_id}
        if self.file is not None:
            data.update(file=self.file, item=self.item)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ReplyAddress:
        data: Any = json.loads(text)
        return cls(channel=data["channel"], target=data["target"], correlation_id=data.get("correlation_id"),
                   file=data.get("file"), item=data.get("item"))

    def for_item(self, item: str) -> ReplyAddress:
        """The address of one item's answers: the same, with the item named when they are lines."""
        return self if self.file is None else dataclasses.replace(self, item=item)


@dataclass(frozen=True, slots=True)
class Submission:
    submitter_id: str
    channel: Channel
    # The file name or message id, as the submitter knows it. It may carry PHI
    # (``smith_john_19800101.csv``): it goes back to the submitter only (their answers are named
    # after it), never into a log line, or into the store or our folders in plaintext.
    name: str
    content: bytes
    reply: ReplyAddress
    content_type: str | None = None  # a hint (message content type); files are sniffed
    # The door's own id for this delivery, the same when it hands the same delivery over again
    # (a file reclaimed after a crash, a redelivered message); the intake derives its
    # idempotency keys from its keyed digest, so a replay records nothing twice. None: the
    # content's SHA-256.
    submission_id: str | None = None


@dataclass(frozen=True, slots=True)
class ItemError:
    """Why one item (or the whole submission) was refused, in terms the submitter can act on."""

    item: str  # "file", "line 12", "record 3", "ST 0001"
    reason: str
    field: str | None = None  # JSON path or mapped column name
    transaction_id: str | None = None  # set when the item was recorded as a rejected transaction
    column: bool = False  # ``field`` is a column of the submitter's CSV or fixed-width file

    def __str__(self) -> str:
        if not self.field:
            return f"{self.item}: {self.reason}"
        return f"{self.item}, {'column' if self.column else 'field'} {self.field}: {self.reason}"


@dataclass(frozen=True, slots=True)
class IntakeReceipt:
    accepted: list[str] = field(default_factory=list)  # transaction ids, in input order
    rejected: list[ItemError] = field(default_factory=list)

    @property
    def refused_whole(self) -> bool:
        return not self.accepted and bool(self.rejected)


class Intake(Protocol):
    def __call__(self, submission: Submission) -> IntakeReceipt: ...


class ReplySink(Protocol):
    """Sends one answer document (JSON bytes) to an address of the sink's channel."""

    def send(self, address: ReplyAddress, name: str, body: bytes) -> None: ...
