"""The one intake every door feeds: decode, check, record, and say what became of each item.

Every item that decodes into a request is recorded -- accepted ones move on to translation,
ones failing the checks are kept as rejected transactions (so the submitter and an operator can
look them up) -- each with the submission's reply address. Items that are not requests at all
(a bad JSON line, a bad date in a column) and whole-file refusals come back in the receipt only.

The checked items of a file are recorded in one commit (``accept_keyed_many``, up to
``BATCH_SIZE`` of them): a roster's rows one commit each kept the store's write lock busy for
minutes, behind the stage workers.

Idempotency keys are derived from the door's ``submission_id`` (or the content's hash) and the
item's ordinal, so a door that hands the same delivery over again after a crash gets the same
transactions back and nothing is recorded twice. A submission id names what the submitter named
(an object key, a message id: ``smith_john_19800101.csv``), so the key holds only its keyed digest
(``edi.lookup``): equal ids still meet, and the column tells nothing. (A delivery taken in before
the keys were digested and handed over again after is not recognised as a replay.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterable, Mapping

from connectors.ingest.door import IntakeReceipt, ItemError, Submission
from connectors.pgp import PgpPeers, PgpRefusedError, looks_like_pgp
from edi.checks import validate_request
from edi.ingest import ColumnMapping, DecodeError, IngestProblem, Limits, decode
from edi.pipeline import Pipeline
from edi.pipeline.context import canonical_json
from edi.pipeline.intake import KeyedRequest, accept_keyed_many, reject

__all__ = ["PipelineIntake"]

log = logging.getLogger(__name__)

#: Checked items recorded per commit. A file of up to this many goes in whole or not at all, and
#: in one go: recorded in several commits, a 10,000-row roster's second commit waited for the
#: store's write lock behind the workers already answering its first thousand rows, past SQLite's
#: busy timeout, and the upload failed half recorded.
BATCH_SIZE = 20_000

Mappings = Mapping[str, ColumnMapping | Iterable[ColumnMapping]]


def _error(problem: IngestProblem, transaction_id: str | None = None) -> ItemError:
    return ItemError(problem.item, problem.reason, problem.field, transaction_id, problem.column)


class PipelineIntake:
    def __init__(self, pipeline: Pipeline, mappings: Mappings | None = None, *, limits: Limits | None = None,
                 actor: str = "ingest", pgp: PgpPeers | None = None) -> None:
        self.pipeline = pipeline
        self.pgp = pgp  # submitters' keys: their PGP files are decrypted and verified before decoding
        self.limits = limits or Limits()
        self.actor = actor
        self._mappings: dict[str, list[ColumnMapping]] = {}
        for submitter, found in (mappings or {}).items():
            self._mappings[submitter] = [found] if isinstance(found, ColumnMapping) else list(found)

    def mappings_for(self, submitter_id: str) -> list[ColumnMapping]:
        return self._mappings.get(submitter_id, [])

    def __call__(self, submission: Submission) -> IntakeReceipt:
        receipt = IntakeReceipt()
        placed: list[tuple[int, ItemError]] = []  # the items' problems, put in input order at the end
        try:
            opened = self._unseal(submission)
            decoded = decode(opened.content, name=opened.name,
                             mappings=self.mappings_for(submission.submitter_id), limits=self.limits,
                             content_type=opened.content_type)
            base = self.key_base(submission)
            batch: list[tuple[int, str, KeyedRequest]] = []  # (index, label, request) waiting for one commit
            for item in decoded.items:
                if not item.ok:
                    placed.extend((item.index, _error(p)) for p in item.problems)
                    continue
                assert item.kind is not None and item.data is not None
                key = f"{base}:{item.index}"
                reply_to = submission.reply.for_item(item.label).to_json()
                _model, problems = validate_request(item.kind, item.data)
                if problems:
                    record = reject(
                        self.pipeline, submitter_id=submission.submitter_id, request_kind=item.kind, data=item.data,
                        problems=problems, actor=self.actor, reply_to=reply_to, idempotency_key=key,
                    )
                    placed.extend((item.index, _error(item.locate(p.path, p.message), record.id)) for p in problems)
                    continue
                batch.append((item.index, item.label, KeyedRequest(
                    item.kind, item.data, key, hashlib.sha256(canonical_json(item.data)).hexdigest(), reply_to)))
                if len(batch) >= BATCH_SIZE:
                    self._accept(submission, batch, receipt, placed)
                    batch = []
            self._accept(submission, batch, receipt, placed)
        except DecodeError as exc:
            receipt.rejected.extend(_error(p) for p in exc.problems)
        except PgpRefusedError as exc:  # the whole file: the door quarantines it
            receipt.rejected.append(ItemError("file", str(exc)))
        placed.sort(key=lambda found: found[0])
        receipt.rejected[:0] = [error for _index, error in placed]
        log.info("intake %s/%s: %d accepted, %d problem(s)", submission.channel, submission.submitter_id,
                 len(receipt.accepted), len(receipt.rejected))
        return receipt

    def _accept(self, submission: Submission, batch: list[tuple[int, str, KeyedRequest]], receipt: IntakeReceipt,
                placed: list[tuple[int, ItemError]]) -> None:
        """Record a batch of checked items in one commit (``accept_keyed_many``)."""
        if not batch:
            return
        results = accept_keyed_many(self.pipeline, submitter_id=submission.submitter_id,
                                    items=[request for _index, _label, request in batch], actor=self.actor)
        for (index, label, _request), result in zip(batch, results, strict=True):
            if result is None:
                placed.append((index, ItemError(label, "this submission id was used before with a "
                                                "different request here; send it again under a new id")))
            else:
                receipt.accepted.append(result[0].id)

    def _unseal(self, submission: Submission) -> Submission:
        """The submission with its PGP layer opened (name without ``.pgp``), or as it is.

        PGP content from a submitter without a key is refused clearly rather than decoded as text."""
        if self.pgp is None:
            if looks_like_pgp(submission.content):
                raise PgpRefusedError("the file is PGP-encrypted, but PGP is not set up here; send it unencrypted")
            return submission
        if not self.pgp.wants_open(submission.submitter_id, submission.name, submission.content):
            return submission
        name, plain = self.pgp.open(submission.submitter_id, submission.name, submission.content,
                                    max_bytes=self.limits.max_bytes)
        hint = submission.content_type
        return dataclasses.replace(submission, name=name, content=plain,
                                   content_type=None if hint and "pgp" in hint.lower() else hint)

    def key_base(self, submission: Submission) -> str:
        """What the idempotency keys of a submission's items start with: the channel and the keyed
        digest of the door's id for the delivery (never the id itself)."""
        ident = submission.submission_id or "sha256:" + hashlib.sha256(submission.content).hexdigest()
        digest = self.pipeline.repository.lookup_key.digest("door-submission", f"{submission.submitter_id}\x00{ident}")
        return f"{submission.channel}:{digest}"
