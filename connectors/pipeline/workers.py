"""The stage workers: thin consumers that call the service layer in ``edi.pipeline``.

Each worker decodes a stage message, calls one function that commits its outcome to the store
(with the next stage's message in the same commit), and only then acks (see
``connectors.queues.consumer``). Network I/O -- the CORE call, the SFTP upload, the callback
POST -- happens here, between the store's "before" and "after".

The translate, outbox, transport and delivery workers handle the deliveries they have fetched
in groups (``GROUP_SIZE``): a few queries and commits for the whole group instead of a dozen
per message, the outbox building each partner's batches once for all of its messages, and the
delivery worker POSTing a group's callbacks concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kombu import Message

from connectors.delivery.webhooks import MAX_CONNECTIONS, WebhookSender
from connectors.heartbeat import Heartbeat
from connectors.ingest.door import ReplyAddress
from connectors.ingest.replies import DoorReplies, answer_file_name
from connectors.pipeline.realtime import ClientPool
from connectors.pipeline.sftp_transport import SftpTransports
from connectors.queues.consumer import StageMessage, StageWorker
from edi.delivery import Attempt, AttemptOutcome, Delivery, DeliveryRefused, RefusalReason
from edi.pipeline import Pipeline
from edi.pipeline import delivery_plan as plan
from edi.pipeline.batching import build_batches
from edi.pipeline.checking import check_received
from edi.pipeline.matching import process_inbound
from edi.pipeline.translate import translate, translate_many
from edi.pipeline.transmission import (
    batch_not_sent,
    batch_sent,
    batch_to_send,
    begin_realtime,
    begin_realtime_many,
)
from edi.store import ALL_SUBMITTERS, DeliveryAttempt, Kind, Move, State, TransactionRecord
from edi.store.models import DeliveryOutcome
from edi.store.states import NON_TERMINAL

__all__ = [
    "DeliveryWorker",
    "IntakeWorker",
    "OutboxWorker",
    "ResponsesWorker",
    "TranslateWorker",
    "TransportWorker",
    "WORKERS",
]

log = logging.getLogger(__name__)
GROUP_SIZE = 200  # deliveries handled together (the runner's prefetch should let this many in)


class _PipelineWorker(StageWorker):
    def __init__(self, pipeline: Pipeline, **options: Any) -> None:
        super().__init__(pipeline.repository, **options)
        self.pipeline = pipeline


class IntakeWorker(_PipelineWorker):
    stage = "intake"

    def handle(self, message: StageMessage) -> None:
        check_received(self.pipeline, message.transaction_id)


class TranslateWorker(_PipelineWorker):
    stage = "translate"
    group_size = GROUP_SIZE

    def handle(self, message: StageMessage) -> None:
        translate(self.pipeline, message.transaction_id)

    def handle_many(self, messages: list[StageMessage]) -> None:
        translate_many(self.pipeline, [m.transaction_id for m in messages],
                       known={m.transaction_id: m.transaction for m in messages if m.transaction is not None})


class OutboxWorker(_PipelineWorker):
    """Builds the batches that are due for the message's partner and claim type."""

    stage = "outbox"
    group_size = GROUP_SIZE

    def handle(self, message: StageMessage) -> None:
        record = message.transaction
        if record is None or record.partner_id is None or record.document_type is None:
            return
        build_batches(self.pipeline, record.partner_id, record.document_type)

    def handle_many(self, messages: list[StageMessage]) -> None:
        """Every message of a partner and claim type asks for the same thing: build once."""
        wanted = {(m.transaction.partner_id, m.transaction.document_type) for m in messages
                  if m.transaction is not None and m.transaction.partner_id and m.transaction.document_type}
        for partner_id, document_type in sorted(wanted):  # type: ignore[type-var]
            build_batches(self.pipeline, partner_id, document_type)  # type: ignore[arg-type]


class TransportWorker(_PipelineWorker):
    stage = "transport"

    def __init__(self, pipeline: Pipeline, *, core: ClientPool | None = None, sftp: SftpTransports | None = None,
                 **options: Any) -> None:
        super().__init__(pipeline, **options)
        self.core = core or ClientPool()
        self.sftp = sftp or SftpTransports()

    group_size = GROUP_SIZE

    def handle_many(self, messages: list[StageMessage]) -> None:
        """Eligibility: the group's 270s marked sent in one commit, sent side by side, their 271s
        recorded in one commit. Claims: one send per batch file however many messages name it
        (each claim's own, the sweeper's)."""
        eligibility = list({m.transaction.id: m.transaction for m in messages
                            if m.transaction is not None and m.transaction.kind is Kind.ELIGIBILITY}.values())
        if eligibility:
            sends = begin_realtime_many(self.pipeline, eligibility)
            if sends:
                self.core.exchange_many(self.pipeline, sends)
        seen: set[tuple[str | None, int | None]] = set()
        for message in messages:
            record = message.transaction
            if record is None or record.kind is Kind.ELIGIBILITY:
                continue
            if record.kind is Kind.CLAIM:
                key = (record.partner_id, record.correlation.isa13)
                if key in seen:
                    continue
                seen.add(key)
            self.handle(message)

    def handle(self, message: StageMessage) -> None:
        record = message.transaction
        if record is None:
            return
        if record.kind is Kind.ELIGIBILITY:
            send = begin_realtime(self.pipeline, record.id)
            if send is not None:
                self.core.exchange(self.pipeline, send)
            return
        batch = batch_to_send(self.pipeline, record.id)
        if batch is None:
            return
        error = self.sftp.upload(batch.partner, batch.file_name, batch.data)
        if error is None:
            batch_sent(self.pipeline, batch)
        else:
            batch_not_sent(self.pipeline, batch, error)

    def close(self) -> None:
        self.core.close()
        self.sftp.close()
        super().close()


class ResponsesWorker(_PipelineWorker):
    """Inbound documents: the message names an inbound document, not a transaction."""

    stage = "responses"

    def _parse(self, body: Any, headers: dict[str, Any], message: Message,
               known: Any = None) -> StageMessage | str:
        if isinstance(body, dict) and isinstance(body.get("inbound_id"), str) and body.get("stage") == self.stage:
            if self.repository.inbound(body["inbound_id"]) is None:
                return "unknown inbound document"
            return StageMessage(transaction_id=body["inbound_id"], stage=self.stage, fields=body)
        return super()._parse(body, headers, message, known)

    def handle(self, message: StageMessage) -> None:
        inbound_id = message.fields.get("inbound_id")
        if isinstance(inbound_id, str):
            process_inbound(self.pipeline, inbound_id)


class DeliveryWorker(_PipelineWorker):
    """POSTs stored response documents, one attempt per message; retries go through the store."""

    stage = "delivery"
    group_size = GROUP_SIZE

    def __init__(self, pipeline: Pipeline, *, sender_factory: Callable[[], WebhookSender] | None = None,
                 replies: DoorReplies | None = None, **options: Any) -> None:
        super().__init__(pipeline, **options)
        self._sender_factory = sender_factory or WebhookSender
        self.replies = replies
        from connectors.loop import LoopThread

        self._loop = LoopThread("delivery")
        self._holder = plan.holder_name()
        self._sender = self._loop.run(_make(self._sender_factory))

    def handle(self, message: StageMessage) -> None:
        record = message.transaction
        if record is None:
            return
        with self._leased([record.id]) as held:
            if held:
                deliver_pending(self.pipeline, record.id, self._loop, self._sender, replies=self.replies)

    def handle_many(self, messages: list[StageMessage]) -> None:
        with self._leased([m.transaction_id for m in messages]) as held:
            if held:
                # the records the consumer read for the messages: what deliver_many reads of them
                # (submitter, callback URL, reply address, terminal or not) a lease does not change
                records = {m.transaction_id: m.transaction for m in messages
                           if m.transaction_id in held and m.transaction is not None}
                deliver_many(self.pipeline, [m.transaction_id for m in messages if m.transaction_id in held],
                             self._loop, self._sender, replies=self.replies, records=records)

    @contextmanager
    def _leased(self, transaction_ids: list[str]) -> Iterator[set[str]]:
        """The transactions this worker may deliver now (see ``delivery_plan.leased``), their
        leases renewed while it sends."""
        with plan.leased(self.pipeline, transaction_ids, self._holder) as held:
            renew_every = self.pipeline.timings.delivery_lease / 3
            with Heartbeat(renew_every, lambda: plan.renew(self.pipeline, sorted(held), self._holder),
                           name="delivery-lease"):
                yield held

    def close(self) -> None:
        self._loop.run(self._sender.aclose())
        self._loop.stop()
        super().close()


async def _make(factory: Callable[[], WebhookSender]) -> WebhookSender:
    return factory()


def deliver_pending(pipeline: Pipeline, transaction_id: str, loop: Any, sender: WebhookSender,
                    *, replay: bool = False, replies: DoorReplies | None = None) -> str:
    """Send what is owed for one transaction; returns "delivered", "waiting", "retrying" or "failed"."""
    record = pipeline.repository.require(transaction_id, submitter_id=ALL_SUBMITTERS)
    owed = plan.pending(pipeline, record, include_dead=replay)
    if not owed:
        if record.state is State.FAILED and replay:
            record = plan.finish(pipeline, record, "delivery:replayed") or record
        elif not record.terminal and plan.final_delivered(pipeline, record):  # killed before finishing
            record = plan.finish(pipeline, record, "delivery:resumed") or record
        return "delivered" if record.state is State.DELIVERED else "waiting"
    if record.reply_to is not None:  # came in by a door: the answers go back out through it
        return _reply_through_door(pipeline, record, owed, replies)
    try:
        submitter = pipeline.partners.submitter(record.submitter_id)
        config = submitter.callback_config()
    except KeyError:
        config = None
    for item in owed:
        if config is None or (config.url is None and record.callback_url is None):
            # Nobody to call: the answer waits in the store for GET /transactions/{id}.
            plan.record_attempt(pipeline, item, "none", item.attempts_so_far + 1, DeliveryOutcome.SUCCEEDED,
                                error=RefusalReason.NOT_CONFIGURED.value)
            if item.final:
                plan.finish(pipeline, record, "delivery:no-callback")
            continue
        delivery = Delivery(item.webhook_id, record.submitter_id, item.body, callback_url=record.callback_url)
        number = item.attempts_so_far + 1
        try:
            attempt: Attempt | DeliveryRefused = loop.run(sender.send_once(delivery, config, number))
        except DeliveryRefused as refused:
            attempt = refused
        outcome = _settle(pipeline, record, item, attempt)
        if outcome is not None:
            return outcome
    final = pipeline.repository.require(transaction_id, submitter_id=ALL_SUBMITTERS)
    return "delivered" if final.state is State.DELIVERED else "waiting"


def _reply_through_door(pipeline: Pipeline, record: Any, owed: list[plan.Pending],
                        replies: DoorReplies | None) -> str:
    """Each owed answer as a file or message through the door the request came in by, with the
    same attempts, backoff and dead letter as a webhook."""
    reply_to = pipeline.reply_to(record)
    assert reply_to is not None
    if not ReplyAddress.from_json(reply_to).target:  # a message that named no reply queue
        for item in owed:
            plan.record_attempt(pipeline, item, "none", item.attempts_so_far + 1, DeliveryOutcome.SUCCEEDED,
                                error=RefusalReason.NOT_CONFIGURED.value)
            if item.final:  # the answer waits in the store for GET /transactions/{id}
                plan.finish(pipeline, record, "delivery:no-reply-address")
        final = pipeline.repository.require(record.id, submitter_id=ALL_SUBMITTERS)
        return "delivered" if final.state is State.DELIVERED else "waiting"
    for item in owed:
        number = item.attempts_so_far + 1
        try:
            if replies is None:
                raise LookupError("this process has no door reply sinks")
            channel = replies.send(reply_to, answer_file_name(record.id, item.data), item.body)
        except Exception as error:  # the door's server or folder is unavailable: retry later
            reason = type(error).__name__
            if number >= pipeline.timings.delivery_max_attempts:
                plan.record_attempt(pipeline, item, "door", number, DeliveryOutcome.DEAD_LETTERED, error=reason)
                log.warning("transaction %s: door answer dead-lettered after %d attempt(s)", record.id, number)
                if item.final:
                    plan.dead_lettered(pipeline, record)
                    return "failed"
                continue
            next_at = pipeline.later(pipeline.backoff(number, pipeline.timings.delivery_retry_base,
                                                      pipeline.timings.delivery_retry_cap))
            plan.record_attempt(pipeline, item, "door", number, DeliveryOutcome.FAILED, error=reason, next_at=next_at)
            pipeline.repository.schedule(record.id, next_at)
            return "retrying"
        plan.record_attempt(pipeline, item, f"door:{channel}", number, DeliveryOutcome.SUCCEEDED)
        if item.final:
            plan.finish(pipeline, record, f"door:{channel}")
    final = pipeline.repository.require(record.id, submitter_id=ALL_SUBMITTERS)
    return "delivered" if final.state is State.DELIVERED else "waiting"


def _settle(pipeline: Pipeline, record: Any, item: plan.Pending, attempt: Attempt | DeliveryRefused) -> str | None:
    """Record how one attempt at ``item`` ended; "failed" or "retrying" when the transaction's
    delivery stops here, None to go on with its next document."""
    number = item.attempts_so_far + 1
    if isinstance(attempt, DeliveryRefused):
        plan.record_attempt(pipeline, item, "refused", number, DeliveryOutcome.DEAD_LETTERED,
                            error=attempt.reason.value)
        if item.final:
            plan.dead_lettered(pipeline, record)
            return "failed"
        return None
    target = attempt.host or "callback"
    if attempt.outcome is AttemptOutcome.DELIVERED:
        plan.record_attempt(pipeline, item, target, number, DeliveryOutcome.SUCCEEDED, status=attempt.status)
        if item.final:
            plan.finish(pipeline, record, f"http:{attempt.status}" if attempt.status else "delivered")
        return None
    retryable = attempt.outcome is AttemptOutcome.RETRY and number < pipeline.timings.delivery_max_attempts
    if not retryable:
        plan.record_attempt(pipeline, item, target, number, DeliveryOutcome.DEAD_LETTERED, status=attempt.status,
                            error=(attempt.error.value if attempt.error else None))
        log.warning("transaction %s: callback dead-lettered after %d attempt(s)", record.id, number)
        if item.final:  # an intermediate answer (999, accepted 277CA) dead-letters alone
            plan.dead_lettered(pipeline, record)
            return "failed"
        return None
    delay = pipeline.backoff(number, pipeline.timings.delivery_retry_base, pipeline.timings.delivery_retry_cap)
    if attempt.retry_after is not None:
        delay = max(delay, min(attempt.retry_after, pipeline.timings.delivery_retry_cap))
    next_at = pipeline.later(delay)
    plan.record_attempt(pipeline, item, target, number, DeliveryOutcome.FAILED, status=attempt.status,
                        error=(attempt.error.value if attempt.error else None), next_at=next_at)
    pipeline.repository.schedule(record.id, next_at)
    return "retrying"


def deliver_many(pipeline: Pipeline, transaction_ids: list[str], loop: Any, sender: WebhookSender,
                 *, replies: DoorReplies | None = None, records: Mapping[str, TransactionRecord] | None = None,
                 ) -> None:
    """``deliver_pending`` for a group: what is owed is read in a few queries, the callbacks are
    POSTed concurrently (each transaction's own in order, up to ``MAX_CONNECTIONS`` in flight),
    the successful attempts recorded in one commit and the transactions whose final answer went
    through moved to ``delivered`` in another. Anything but a success (a retry to schedule, a
    refusal, a dead letter) is recorded on its own as ``deliver_pending`` records it, and a
    transaction with nobody to call, or with documents left after one dead-lettered alone, goes
    through ``deliver_pending``, which sends only what is still owed. Answers to requests that
    came in by a door are written through it one after the other and recorded the same way (a
    roster's thousands of answers would otherwise cost several commits each). ``records``: the
    transactions as read already (the rest are read here)."""
    ids = list(dict.fromkeys(transaction_ids))
    known = dict(records or {})
    missing = [i for i in ids if i not in known]
    records = {**known, **pipeline.repository.get_many(missing)} if missing else known
    owed = plan.pending_many(pipeline, [i for i in ids if i in records])
    jobs: list[tuple[Any, list[Delivery], Any]] = []
    alone: list[str] = []
    doors: list[tuple[Any, str, list[plan.Pending]]] = []
    configs: dict[str, Any] = {}
    for transaction_id, items in owed.items():
        if not items:
            if not records[transaction_id].terminal:  # owes nothing yet not done: deliver_pending finishes it
                alone.append(transaction_id)
            continue
        record = records[transaction_id]
        if record.reply_to is not None:  # a door's answer: written through its sink, below
            address = pipeline.reply_to(record) or ""
            if replies is None or not ReplyAddress.from_json(address).target:
                alone.append(transaction_id)
            else:
                doors.append((record, address, items))
            continue
        if record.submitter_id not in configs:  # one per submitter and group (it reads the secret's file)
            try:
                configs[record.submitter_id] = pipeline.partners.submitter(record.submitter_id).callback_config()
            except KeyError:
                configs[record.submitter_id] = None
        config = configs[record.submitter_id]
        if config is None or (config.url is None and record.callback_url is None):
            alone.append(transaction_id)
            continue
        deliveries = [Delivery(i.webhook_id, record.submitter_id, i.body, callback_url=record.callback_url)
                      for i in items]
        jobs.append((items, deliveries, config))
    results = loop.run(_send_all(sender, jobs)) if jobs else []
    succeeded: list[DeliveryAttempt] = []
    finished: list[Move] = []
    unsettled: list[tuple[plan.Pending, Any]] = []
    for (items, _deliveries, _config), attempts in zip(jobs, results, strict=True):
        for item, attempt in zip(items, attempts, strict=False):
            if not isinstance(attempt, Attempt) or attempt.outcome is not AttemptOutcome.DELIVERED:
                unsettled.append((item, attempt))  # recorded alone, after the successes
                break
            succeeded.append(DeliveryAttempt(
                transaction_id=item.record.transaction_id, webhook_id=item.webhook_id,
                target=(attempt.host or "callback")[:2048], attempt=item.attempts_so_far + 1,
                outcome=DeliveryOutcome.SUCCEEDED, status_code=attempt.status, payload_id=item.record.id,
            ))
            if item.final:
                detail = f"http:{attempt.status}" if attempt.status else "delivered"
                finished.append(Move(item.record.transaction_id, State.DELIVERED, detail, NON_TERMINAL,
                                     skip_refused=True))
    for record, address, items in doors:  # each transaction's answers in order, stopping at the first failure
        for item in items:
            try:
                channel = replies.send(address, answer_file_name(record.id, item.data),  # type: ignore[union-attr]
                                       item.body)
            except Exception:  # the door is unavailable: deliver_pending tries, records and schedules
                alone.append(record.id)
                break
            succeeded.append(DeliveryAttempt(
                transaction_id=record.id, webhook_id=item.webhook_id, target=f"door:{channel}"[:2048],
                attempt=item.attempts_so_far + 1, outcome=DeliveryOutcome.SUCCEEDED, payload_id=item.record.id,
            ))
            if item.final:
                finished.append(Move(record.id, State.DELIVERED, f"door:{channel}", NON_TERMINAL, skip_refused=True))
    # the successes and the moves to delivered they allow: one commit, not two
    pipeline.repository.apply(finished, actor=plan.ACTOR, deliveries=succeeded)
    for item, attempt in unsettled:
        transaction_id = item.record.transaction_id
        if _settle(pipeline, records[transaction_id], item, attempt) is None:
            alone.append(transaction_id)  # a document dead-lettered alone: the next ones go on
    for transaction_id in dict.fromkeys(alone):
        deliver_pending(pipeline, transaction_id, loop, sender, replies=replies)


async def _send_all(sender: WebhookSender, jobs: list[tuple[Any, list[Delivery], Any]]) -> list[list[Any]]:
    """Each job's deliveries in order, stopping at the first that is not delivered; jobs side by side."""
    gate = asyncio.Semaphore(MAX_CONNECTIONS)

    async def one(deliveries: list[Delivery], config: Any, first: list[int]) -> list[Any]:
        out: list[Any] = []
        for delivery, number in zip(deliveries, first, strict=True):
            try:
                async with gate:
                    attempt = await sender.send_once(delivery, config, number)
            except DeliveryRefused as refused:
                out.append(refused)
                break
            out.append(attempt)
            if attempt.outcome is not AttemptOutcome.DELIVERED:
                break
        return out

    return await asyncio.gather(*(
        one(deliveries, config, [item.attempts_so_far + 1 for item in items]) for items, deliveries, config in jobs
    ))


WORKERS: dict[str, type[_PipelineWorker]] = {
    worker.stage: worker
    for worker in (IntakeWorker, TranslateWorker, OutboxWorker, TransportWorker, ResponsesWorker, DeliveryWorker)
}
