"""An asyncio loop in a daemon thread, for async clients used from synchronous code.

The thread is a daemon so a forgotten ``stop()`` never blocks interpreter exit. A caller
interrupted while waiting (KeyboardInterrupt, a timeout) cancels the coroutine it was waiting for.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["LoopThread"]


class LoopThread:
    def __init__(self, name: str) -> None:
        self.name = name
        self._loop = asyncio.new_event_loop()
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
