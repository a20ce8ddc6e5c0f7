"""A per-database signal that this process has just committed outbox rows.

The outbox relay (``connectors.queues.relay``) polls the outbox. Polling often keeps the latency
from commit to queue low but costs CPU all the time (20 empty polls a second cost an idle relay
~150 ms of CPU per 8 s); polling rarely makes every hand-over between stages wait. Most outbox rows are
committed by the stages of the very process that runs the relay, so the repository rings this
bell after such a commit and the relay, between polls, waits on it: it publishes at once after a
local commit and polls only now and then for rows other processes (without a relay of their own)
committed.

A counter under a condition rather than an ``Event``: each waiter compares against the count it
saw before its last poll, so a commit that lands while it polls is never lost, and several relays
of one process never clear each other's wake-up.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlalchemy.engine import URL

__all__ = ["OutboxBell", "outbox_bell"]


class OutboxBell:
    __slots__ = ("_condition", "_rings")

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._rings = 0

    @property
    def rings(self) -> int:
        """How often it has rung: read before polling, then ``wait`` for a change from it."""
        return self._rings

    def ring(self) -> None:
        with self._condition:
            self._rings += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Block until it has rung since ``seen`` was read, or ``timeout`` seconds; True if it rang."""
        with self._condition:
            return self._condition.wait_for(lambda: self._rings != seen, timeout)


_bells: dict[URL, OutboxBell] = {}
_lock = threading.Lock()


def outbox_bell(engine: Engine) -> OutboxBell:
    """The bell of ``engine``'s database in this process (one per URL: repositories on separate
    engines of the same database share it)."""
    bell = _bells.get(engine.url)
    if bell is None:
        with _lock:
            bell = _bells.setdefault(engine.url, OutboxBell())
    return bell
