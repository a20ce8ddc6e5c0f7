"""One real-time 270/271 exchange over CAQH CORE, shared by the API and the transport worker.

The store is told before and after the call (``edi.pipeline.transmission``); this module only
turns what the CORE client raised into one of three outcomes: answered, certainly not sent
(retry later), or failed for good (a timeout after sending is never retried: the 270 may have
been processed).
"""

from __future__ import annotations

import logging
from typing import Any

from connectors.core.client import (
    CoreCircuitOpenError,
    CoreClient,
    CoreClientError,
    CoreErrorResponse,
    CoreResult,
    CoreTimeoutError,
    CoreUnavailableError,
    SyncCoreClient,
)
from connectors.core.envelope import CoreEnvelopeError, PayloadType
from edi.pipeline import Pipeline
from edi.pipeline.transmission import (
    RealtimeSend,
    fail,
    realtime_answered,
    realtime_answered_many,
    realtime_not_sent,
)
from edi.store import State, TransactionRecord

__all__ = ["ClientPool", "settle"]

log = logging.getLogger(__name__)
IN_FLIGHT = 16  # CORE calls to one partner at a time from one transport worker


def settle(
    pipeline: Pipeline, send: RealtimeSend, result: CoreResult | None, error: BaseException | None,
    *, delivered_inline: bool = False,
) -> tuple[TransactionRecord, dict[str, Any] | None]:
    """Record the outcome of one CORE call; (transaction, response document or None)."""
    expected = frozenset({State.SENT})
    if error is not None:
        code = f"core:{type(error).__name__.removeprefix('Core').removesuffix('Error').lower() or 'error'}"
        if isinstance(error, CoreCircuitOpenError):
            return realtime_not_sent(pipeline, send, "core:circuit-open", retry_after=error.retry_after), None
        if isinstance(error, CoreUnavailableError) and error.retryable:
            return realtime_not_sent(pipeline, send, "core:unavailable"), None
        if isinstance(error, CoreTimeoutError):
            description = "the payer did not answer within the CORE time limit"
        elif isinstance(error, CoreErrorResponse):
            description = f"the payer refused the request (CORE {error.response.error_code or 'error'})"
        elif isinstance(error, CoreEnvelopeError):
            description = "the request could not be put in a CORE envelope"
        else:
            description = "the exchange with the payer failed"
        log.warning("transaction %s: CORE exchange failed (%s)", send.transaction.id, type(error).__name__)
        return fail(pipeline, [send.transaction], code[:64], description, expected=expected)[0], None
    assert result is not None
    if result.payload_type != PayloadType.X12_271_RESPONSE:
        log.warning("transaction %s: the payer answered with %s", send.transaction.id, result.payload_type)
        return fail(pipeline, [send.transaction], "core:rejected",
                    "the payer rejected the 270 (it answered with an acknowledgment instead of a 271)",
                    expected=expected)[0], None
    return realtime_answered(pipeline, send, result.payload, delivered_inline=delivered_inline)


class ClientPool:
    """One CORE client per partner, created on first use (sync or async flavour)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._sync: dict[str, SyncCoreClient] = {}
        self._async: dict[str, CoreClient] = {}

    def sync(self, send: RealtimeSend) -> SyncCoreClient:
        client = self._sync.get(send.partner.id)
        if client is None:
            client = self._sync[send.partner.id] = SyncCoreClient(send.partner, **self._options)
        return client

    def async_(self, send: RealtimeSend) -> CoreClient:
        client = self._async.get(send.partner.id)
        if client is None:
            client = self._async[send.partner.id] = CoreClient(send.partner, **self._options)
        return client

    def exchange(self, pipeline: Pipeline, send: RealtimeSend) -> tuple[TransactionRecord, dict[str, Any] | None]:
        try:
            result = self.sync(send).send_270(send.x12, payload_id=None)
        except (CoreClientError, CoreEnvelopeError) as error:
            return settle(pipeline, send, None, error)
        return settle(pipeline, send, result, None)

    def exchange_many(self, pipeline: Pipeline, sends: list[RealtimeSend], *, in_flight: int = IN_FLIGHT) -> None:
        """A group's exchanges side by side (``in_flight`` at a time per partner), then every
        271 recorded in one commit; failures are settled one by one as in ``exchange``."""
        by_partner: dict[str, list[RealtimeSend]] = {}
        for send in sends:
            by_partner.setdefault(send.partner.id, []).append(send)
        answered: list[tuple[RealtimeSend, str]] = []
        failed: list[tuple[RealtimeSend, BaseException]] = []
        for group in by_partner.values():
            outcomes = self.sync(group[0]).send_270_many([s.x12 for s in group], in_flight=in_flight)
            for send, outcome in zip(group, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    failed.append((send, outcome))
                elif outcome.payload_type != PayloadType.X12_271_RESPONSE:
                    failed.append((send, outcome))  # type: ignore[arg-type]
                else:
                    answered.append((send, outcome.payload))
        if answered:
            realtime_answered_many(pipeline, answered)
        for send, outcome in failed:
            if isinstance(outcome, CoreResult):
                settle(pipeline, send, outcome, None)
            else:
                if not isinstance(outcome, CoreClientError | CoreEnvelopeError):
                    log.warning("transaction %s: CORE exchange raised %s", send.transaction.id,
                                type(outcome).__name__)
                settle(pipeline, send, None, outcome)

    def close(self) -> None:
        for client in self._sync.values():
            client.close()
        self._sync.clear()

    async def aclose(self) -> None:
        for client in self._async.values():
            await client.aclose()
        self._async.clear()
