"""The stage workers: thin consumers that call the service layer in ``edi.pipeline``.

Each worker decodes a stage message, calls one function that commits its outcome to the store
(with the next stage's message in the same commit), and only then acks (see
``connectors.queues.consumer``). Network I/O -- the CORE call, the SFTP upload, the callback
POST -- happens here, between the store's "before" and "after".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kombu import Message

from connectors.delivery.webhooks import WebhookSender
from connectors.pipeline.realtime import ClientPool
from connectors.pipeline.sftp_transport import SftpTransports
from connectors.queues.consumer import StageMessage, StageWorker
from edi.delivery import AttemptOutcome, DeliveryRefused, RefusalReason
from edi.pipeline import Pipeline
from edi.pipeline import delivery_plan as plan
from edi.pipeline.batching import build_batches
from edi.pipeline.checking import check_received
from edi.pipeline.matching import process_inbound
from edi.pipeline.translate import translate
from edi.pipeline.transmission import batch_not_sent, batch_sent, batch_to_send, begin_realtime
from edi.store import Kind, State
from edi.store.models import DeliveryOutcome

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

    def handle(self, message: StageMessage) -> None:
        translate(self.pipeline, message.transaction_id)


class OutboxWorker(_PipelineWorker):
    """Builds the batches that are due for the message's partner and claim type."""

    stage = "outbox"

    def handle(self, message: StageMessage) -> None:
        record = message.transaction
        if record is None or record.partner_id is None or record.document_type is None:
            return
        build_batches(self.pipeline, record.partner_id, record.document_type)


class TransportWorker(_PipelineWorker):
    stage = "transport"

    def __init__(self, pipeline: Pipeline, *, core: ClientPool | None = None, sftp: SftpTransports | None = None,
                 **options: Any) -> None:
        super().__init__(pipeline, **options)
        self.core = core or ClientPool()
        self.sftp = sftp or SftpTransports()

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

    def _parse(self, body: Any, headers: dict[str, Any], message: Message) -> StageMessage | str:
        if isinstance(body, dict) and isinstance(body.get("inbound_id"), str) and body.get("stage") == self.stage:
            if self.repository.inbound(body["inbound_id"]) is None:
                return "unknown inbound document"
            return StageMessage(transaction_id=body["inbound_id"], stage=self.stage, fields=body)
        return super()._parse(body, headers, message)

    def handle(self, message: StageMessage) -> None:
        inbound_id = message.fields.get("inbound_id")
        if isinstance(inbound_id, str):
            process_inbound(self.pipeline, inbound_id)


class DeliveryWorker(_PipelineWorker):
    """POSTs stored response documents, one attempt per message; retries go through the store."""

    stage = "delivery"

    def __init__(self, pipeline: Pipeline, *, sender_factory: Callable[[], WebhookSender] | None = None,
                 **options: Any) -> None:
        super().__init__(pipeline, **options)
        self._sender_factory = sender_factory or WebhookSender
        from connectors.loop import LoopThread

        self._loop = LoopThread("delivery")
        self._sender = self._loop.run(_make(self._sender_factory))

    def handle(self, message: StageMessage) -> None:
        record = message.transaction
        if record is None:
            return
        deliver_pending(self.pipeline, record.id, self._loop, self._sender)

    def close(self) -> None:
        self._loop.run(self._sender.aclose())
        self._loop.stop()
        super().close()


async def _make(factory: Callable[[], WebhookSender]) -> WebhookSender:
    return factory()


def deliver_pending(pipeline: Pipeline, transaction_id: str, loop: Any, sender: WebhookSender,
                    *, replay: bool = False) -> str:
    """Send what is owed for one transaction; returns "delivered", "waiting", "retrying" or "failed"."""
    from edi.delivery import Delivery
    from edi.store import ALL_SUBMITTERS

    record = pipeline.repository.require(transaction_id, submitter_id=ALL_SUBMITTERS)
    owed = plan.pending(pipeline, record, include_dead=replay)
    if not owed:
        if record.state is State.FAILED and replay:
            record = plan.finish(pipeline, record, "delivery:replayed") or record
        elif not record.terminal and plan.final_delivered(pipeline, record):  # killed before finishing
            record = plan.finish(pipeline, record, "delivery:resumed") or record
        return "delivered" if record.state is State.DELIVERED else "waiting"
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
            attempt = loop.run(sender.send_once(delivery, config, number))
        except DeliveryRefused as refused:
            plan.record_attempt(pipeline, item, "refused", number, DeliveryOutcome.DEAD_LETTERED,
                                error=refused.reason.value)
            if item.final:
                plan.dead_lettered(pipeline, record)
                return "failed"
            continue
        target = attempt.host or "callback"
        if attempt.outcome is AttemptOutcome.DELIVERED:
            plan.record_attempt(pipeline, item, target, number, DeliveryOutcome.SUCCEEDED, status=attempt.status)
            if item.final:
                plan.finish(pipeline, record, f"http:{attempt.status}" if attempt.status else "delivered")
            continue
        retryable = attempt.outcome is AttemptOutcome.RETRY and number < pipeline.timings.delivery_max_attempts
        if not retryable:
            plan.record_attempt(pipeline, item, target, number, DeliveryOutcome.DEAD_LETTERED, status=attempt.status,
                                error=(attempt.error.value if attempt.error else None))
            log.warning("transaction %s: callback dead-lettered after %d attempt(s)", record.id, number)
            if item.final:  # an intermediate answer (999, accepted 277CA) dead-letters alone
                plan.dead_lettered(pipeline, record)
                return "failed"
            continue
        delay = pipeline.backoff(number, pipeline.timings.delivery_retry_base, pipeline.timings.delivery_retry_cap)
        if attempt.retry_after is not None:
            delay = max(delay, min(attempt.retry_after, pipeline.timings.delivery_retry_cap))
        next_at = pipeline.later(delay)
        plan.record_attempt(pipeline, item, target, number, DeliveryOutcome.FAILED, status=attempt.status,
                            error=(attempt.error.value if attempt.error else None), next_at=next_at)
        pipeline.repository.schedule(record.id, next_at)
        return "retrying"
    final = pipeline.repository.require(transaction_id, submitter_id=ALL_SUBMITTERS)
    return "delivered" if final.state is State.DELIVERED else "waiting"


WORKERS: dict[str, type[_PipelineWorker]] = {
    worker.stage: worker
    for worker in (IntakeWorker, TranslateWorker, OutboxWorker, TransportWorker, ResponsesWorker, DeliveryWorker)
}
