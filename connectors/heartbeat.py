"""A heartbeat: call a function every few seconds while a block runs.

Leases that outlive their holder are how work survives a ``kill -9`` (the embedded broker's
message leases, the delivery leases in the store), and they must be short for a crash to be
recovered soon. Work that may take longer than one lease -- a group of messages, a group of
callbacks to a slow receiver -- keeps its leases by renewing them from this thread until the
block ends. A failed beat is logged and tried again at the next one: the lease may then
lapse, which costs a duplicate (delivery is at least once), never a loss.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

__all__ = ["Heartbeat"]

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, interval: float, beat: Callable[[], object], *, name: str = "heartbeat") -> None:
        if interval <= 0:
            raise ValueError("a heartbeat interval must be positive")
        self.interval = interval
        self.beat = beat
        self.beats = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            try:
                self.beat()
                self.beats += 1
            except Exception as error:
                log.warning("%s: renewing failed (%s)", self._thread.name, type(error).__name__)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, _type: type[BaseException] | None, _value: BaseException | None,
                 _tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()
