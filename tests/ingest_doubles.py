"""Shared by the message-door tests (AMQP, JMS): a waiting helper and a recording Intake double."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from connectors.ingest.door import IntakeReceipt, Submission

WAIT = 60.0


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class RecordingIntake:
    """Test double for the pipeline's Intake: records each submission, answers with ``receipt``
    (a function of the submission), and raises ``failures`` times first."""

    receipt: Callable[[Submission], IntakeReceipt] = lambda s: IntakeReceipt(accepted=[f"txn-{s.name}"])
    failures: int = 0
    calls: list[Submission] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, submission: Submission) -> IntakeReceipt:
        with self.lock:
            self.calls.append(submission)
            if self.failures > 0:
                self.failures -= 1
                raise ConnectionError("store unavailable (test)")
        return self.receipt(submission)
