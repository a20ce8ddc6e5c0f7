"""What the two broker doors (AMQP, JMS) share: a consuming thread that outlives its broker, and
the memory of which messages the ``Intake`` failed on.

A message door must never give up on its broker -- a restart of RabbitMQ or ActiveMQ is routine --
yet must not hammer one that is down, so ``run`` reconnects for ever with a back-off that doubles
up to ``backoff_max`` and starts over once a connection was made. And a message that makes the
``Intake`` raise is handed over again (the broker redelivers it) only ``max_intake_failures``
times: then the door dead-letters it, so one message cannot stall the queue. How a broker is
spoken to, acknowledged and dead-lettered stays in each door. Log lines name the submitter and
counts, never a message's id: publishers choose ids, and an id may carry PHI.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from connectors.ingest.door import Intake, IntakeReceipt, ItemError, ReplyAddress
from connectors.ingest.receipts import answer_document, refusal_document

__all__ = ["FAILURES_KEPT", "MessageDoor"]

log = logging.getLogger(__name__)

FAILURES_KEPT = 10_000  # message names whose intake failed, remembered for max_intake_failures


class _Sink(Protocol):
    def send(self, address: ReplyAddress, name: str, body: bytes) -> None: ...

    def close(self) -> None: ...


class MessageDoor:
    """Lifecycle and failure memory of a broker door; subclasses implement ``_session``.

    ``run()`` blocks until ``stop()``; ``start()`` runs it in a daemon thread. ``connected`` is set
    while consuming (tests and health checks wait on it); ``stored`` and ``dead_lettered`` count
    messages acknowledged after the Intake took them and messages moved to the dead letters.
    """

    label = "message door"  # for logs and the thread's name

    def __init__(self, intake: Intake, replies: _Sink, *, own_sink: bool, send_receipts: bool,
                 max_intake_failures: int, backoff_initial: float, backoff_max: float) -> None:
        self.intake = intake
        self.replies: Any = replies
        self._own_sink = own_sink  # made by the door, so closed by it
        self.send_receipts = send_receipts
        self.max_intake_failures = max_intake_failures
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.connected = threading.Event()
        self.stored = 0
        self.dead_lettered = 0
        self._failures: dict[str, int] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Any:
        self._thread = threading.Thread(target=self.run, name=self.label.lower().replace(" ", "-"), daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._own_sink:
            self.replies.close()

    def run(self) -> None:
        backoff = self.backoff_initial
        while not self._stopping.is_set():
            try:
                if self._session(backoff):
                    backoff = self.backoff_initial
            finally:
                self.connected.clear()
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, self.backoff_max)

    def _session(self, backoff: float) -> bool:
        """Connect and consume until the connection ends or ``stop()``, logging why it ended
        (``backoff``: the wait that follows a failure to connect). True when the connection had
        been made and went healthy: the back-off starts over."""
        raise NotImplementedError

    # the Intake failing ------------------------------------------------------------------------

    def _intake_failed(self, name: str, submitter: str, exc: Exception) -> int:
        """Count one more failure of message ``name``; its number. At ``max_intake_failures`` the
        message is forgotten: the door dead-letters it with ``_given_up``."""
        failures = self._failures.get(name, 0) + 1
        if len(self._failures) >= FAILURES_KEPT:  # ids of messages another consumer took since
            self._failures.clear()
        self._failures[name] = failures
        log.error("%s: intake failed for a message of %s (%s), attempt %d of %d", self.label, submitter,
                  type(exc).__name__, failures, self.max_intake_failures)
        if failures >= self.max_intake_failures:
            self._failures.pop(name, None)
        return failures

    def _given_up(self, failures: int, exc: Exception) -> list[ItemError] | None:
        """The dead-letter reason once a message failed ``max_intake_failures`` times, else None."""
        if failures < self.max_intake_failures:
            return None
        return [ItemError("message", f"the pipeline could not store it ({type(exc).__name__}) after {failures} "
                                     "attempts; it was not processed, send it again later")]

    def _intake_returned(self, name: str) -> None:
        self._failures.pop(name, None)

    # answers -----------------------------------------------------------------------------------

    def _answer(self, reply: ReplyAddress, name: str, receipt: IntakeReceipt | None, errors: list[ItemError],
                submission_id: str | None) -> None:
        """The door's own answer to a request with a reply address: its receipt, or why it was refused."""
        if not reply.target:
            return
        body = (answer_document(name, receipt, submission_id=submission_id) if receipt is not None
                else refusal_document(name, errors, submission_id=submission_id))
        self.replies.send(reply, name, body)

    def _stored(self, name: str, submitter: str, receipt: IntakeReceipt) -> None:
        self.stored += 1
        log.info("%s: stored a message of %s (%d accepted, %d rejected)", self.label, submitter,
                 len(receipt.accepted), len(receipt.rejected))
