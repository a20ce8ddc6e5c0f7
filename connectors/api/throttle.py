"""Failed-login throttling for the token endpoint: guessing client secrets gets slow, fast.

Each failed client authentication counts against both the client id it named and the address it
came from; once either has ``max_failures`` within ``window_seconds``, the endpoint answers 429
(problem+json, ``Retry-After``) without checking credentials -- and without spending scrypt work,
so a flood costs the server almost nothing. Per client id stops a distributed guess at one
client; per address stops one machine guessing at many. Successful logins do not reset anything:
a valid secret among guesses should not buy more guesses.

State is in memory, per API process: with several API processes behind a balancer the limit is
per process (still a hard cap on the guessing rate); a restart forgets it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["DEFAULT_MAX_FAILURES", "DEFAULT_WINDOW_SECONDS", "FailureThrottle"]

DEFAULT_MAX_FAILURES = 10
DEFAULT_WINDOW_SECONDS = 300.0
_MAX_TRACKED = 100_000  # keys remembered at most (oldest dropped): an attacker cannot exhaust memory


class FailureThrottle:
    def __init__(self, max_failures: int = DEFAULT_MAX_FAILURES, window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 *, clock: Callable[[], float] = time.monotonic) -> None:
        if max_failures < 1 or window_seconds <= 0:
            raise ValueError("max_failures must be at least 1 and window_seconds positive")
        self.max_failures, self.window, self._clock = max_failures, window_seconds, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, *keys: str | None) -> int | None:
        """Seconds until the first of ``keys`` that is blocked may try again; None if none is."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in filter(None, keys):
                times = self._recent(key, now)
                if times is not None and len(times) >= self.max_failures:
                    wait = max(wait, times[len(times) - self.max_failures] + self.window - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, *keys: str | None) -> None:
        now = self._clock()
        with self._lock:
            for key in filter(None, keys):
                times = self._recent(key, now) or self._failures.setdefault(key, deque())
                times.append(now)
                if len(times) > self.max_failures:
                    times.popleft()
            while len(self._failures) > _MAX_TRACKED:
                del self._failures[next(iter(self._failures))]
