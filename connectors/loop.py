"""An asyncio loop in a daemon thread, for async clients used from synchronous code.

The thread is a daemon so a forgotten ``stop()`` never blocks interpreter exit. A caller
interrupted while waiting (KeyboardInterrupt, a timeout) cancels the coroutine it was waiting for.

The loop is uvloop's where uvloop is installed (a dependency on all but Windows; uvicorn runs
the API on it already), asyncio's otherwise (``new_event_loop``): the delivery stage's callback
POSTs spend much of their CPU in the event loop itself (scheduling, timers, socket readiness),
which uvloop does in C. ``LoopThread(loop_factory=...)`` takes another factory.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["LoopThread", "ServingThread", "new_event_loop"]

log = logging.getLogger(__name__)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new uvloop loop, or asyncio's when uvloop cannot be imported."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class LoopThread:
    def __init__(self, name: str,
                 loop_factory: Callable[[], asyncio.AbstractEventLoop] = new_event_loop) -> None:
        self.name = name
        self._loop = loop_factory()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"loop-{name}", daemon=True)
        self._thread.start()
        self._stopped = False

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if self._stopped:
            coroutine.close()
            raise RuntimeError(f"the {self.name} loop is stopped")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()


class ServingThread:
    """An asyncio server (anything with ``close()`` and ``wait_closed()``) on a ``LoopThread``
    of its own, for synchronous callers: ``start()`` binds it and returns it, ``stop()`` closes it
    and the loop. Shared by the SFTP servers of the payer simulator and of the ingest door."""

    def __init__(self, name: str, start: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self.name = name
        self._start = start
        self._loop: LoopThread | None = None
        self.server: Any = None

    def start(self) -> Any:
        self._loop = LoopThread(self.name)
        try:
            self.server = self._loop.run(self._start(), timeout=30)
        except BaseException:
            self._loop.stop()
            raise
        return self.server

    def stop(self) -> None:
        loop, server = self._loop, self.server
        if loop is None:
            return
        self._loop = None
        if server is not None:

            async def close() -> None:
                server.close()
                await server.wait_closed()

            try:
                loop.run(close(), timeout=10)
            except Exception as error:
                log.warning("%s: unclean stop (%s)", self.name, type(error).__name__)
        loop.stop()
