"""Retries with exponential backoff and full jitter, and a circuit breaker per trading partner.

Partners go down, answer 503 while they deploy, or time out under load. Retrying at once and in
step with every other worker makes that worse (a thundering herd), and hammering a partner that is
plainly down wastes the 20 seconds a real-time caller was promised. Two small policies answer this:

* `RetryPolicy`: try again only when the caller's predicate says the failure is safe to repeat,
  waiting ``uniform(0, min(cap, base * 2 ** (attempt - 1)))`` seconds between tries ("full
  jitter"), never past an optional deadline, at most ``max_attempts`` tries in all.
* `CircuitBreaker`: after ``failure_threshold`` consecutive failures the circuit opens and calls
  fail fast with `CircuitOpenError`; after ``open_seconds`` it lets ``half_open_trials`` trial
  calls through (half-open); if they succeed it closes, a failure opens it again.

This module is pure logic: time, sleeping and randomness are injected (``clock``, ``sleep``,
``random``), so tests drive them with a fake clock, and the same objects serve synchronous code
(`RetryPolicy.call`, `CircuitBreaker.call`) and asyncio code (`RetryPolicy.acall`,
`CircuitBreaker.acall`). The breaker is guarded by a lock and never awaits while holding it, so
one instance may be shared by threads and tasks alike. Messages name partners and timings only.
"""

from __future__ import annotations

import asyncio
import random as _random
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

__all__ = [
    "CircuitBreaker",
    "CircuitBreakers",
    "CircuitOpenError",
    "CircuitState",
    "RetryPolicy",
    "retry_always",
]

T = TypeVar("T")
Clock = Callable[[], float]


def retry_always(_error: BaseException) -> bool:
    """The default retryable predicate: every `Exception` may be tried again."""
    return True


# ============================================================================ retry


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait before trying an operation again.

    ``base`` and ``cap`` are seconds; ``max_attempts`` counts the first try (1 means no retry).
    ``retryable`` decides, per exception, whether another try is safe: a request that may have
    reached the partner must not be sent twice, so callers pass a narrow predicate.
    """

    base: float = 0.1
    cap: float = 5.0
    max_attempts: int = 4
    retryable: Callable[[BaseException], bool] = retry_always

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap <= 0:
            raise ValueError("base and cap must be positive")
        if self.cap < self.base:
            raise ValueError("cap must not be below base")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def ceiling(self, retry: int) -> float:
        """Upper bound of the wait before retry number `retry` (1 = the wait after the first failure)."""
        if retry < 1:
            raise ValueError("retry counts from 1")
        # 2 ** 1024 overflows a float; the cap is reached long before, so stop doubling there.
        exponent = min(retry - 1, 1000)
        return min(self.cap, self.base * 2.0**exponent)

    def backoff(self, retry: int, random: Callable[[], float] = _random.random) -> float:
        """Full jitter: a wait drawn uniformly from ``[0, ceiling(retry))``."""
        return self.ceiling(retry) * random()

    def _next_delay(
        self,
        error: BaseException,
        attempt: int,
        clock: Clock,
        deadline: float | None,
        random: Callable[[], float],
    ) -> float | None:
        """The wait before the next try, or None when `error` must be raised now."""
        if attempt >= self.max_attempts or not self.retryable(error):
            return None
        delay = self.backoff(attempt, random)
        if deadline is not None and clock() + delay >= deadline:
            return None
        return delay

    def call(
        self,
        fn: Callable[[], T],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock = time.monotonic,
        deadline: float | None = None,
        random: Callable[[], float] = _random.random,
        on_retry: Callable[[int, BaseException, float], None] | None = None,
    ) -> T:
        """Run `fn` until it returns, retrying retryable failures; the last failure is re-raised.

        `deadline` is a `clock` reading: no wait is started that would end at or after it.
        `on_retry(attempt, error, delay)` is told about each retry (for metrics or logs).
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except Exception as error:
                delay = self._next_delay(error, attempt, clock, deadline, random)
                if delay is None:
                    raise
                if on_retry is not None:
                    on_retry(attempt, error, delay)
            sleep(delay)

    async def acall(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Clock | None = None,
        deadline: float | None = None,
        random: Callable[[], float] = _random.random,
        on_retry: Callable[[int, BaseException, float], None] | None = None,
    ) -> T:
        """`call` for coroutines: awaits `fn()` and sleeps with `sleep` (default `asyncio.sleep`).

        The default clock is the running loop's, so a `deadline` from ``loop.time()`` fits.
        """
        if clock is None:
            clock = asyncio.get_running_loop().time
        attempt = 0
        while True:
            attempt += 1
            try:
                return await fn()
            except Exception as error:
                delay = self._next_delay(error, attempt, clock, deadline, random)
                if delay is None:
                    raise
                if on_retry is not None:
                    on_retry(attempt, error, delay)
            await sleep(delay)


# ============================================================================ circuit breaker


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitOpenError(Exception):
    """A call refused without being tried because the partner's circuit is open."""

    def __init__(self, name: str, retry_after: float) -> None:
        self.name = name
        self.retry_after = max(0.0, retry_after)
        super().__init__(f"circuit {name!r} is open; next trial in {self.retry_after:.1f} s")


def _count_everything(_error: BaseException) -> bool:
    return True


@dataclass(slots=True)
class CircuitBreaker:
    """Closed -> open after `failure_threshold` consecutive failures; open -> half-open after
    `open_seconds`; half-open -> closed after `half_open_trials` successful trial calls, or back to
    open on any trial failure. While half-open, at most `half_open_trials` calls are let through at
    once; the others are refused like in the open state.

    Use `call`/`acall`, the `guard()` context manager, or `acquire()` then exactly one of
    `record_success()`, `record_failure()` or `release()` (the call ended with no verdict, e.g. it
    was cancelled).
    """

    name: str
    failure_threshold: int = 5
    open_seconds: float = 30.0
    half_open_trials: int = 1
    clock: Clock = time.monotonic
    _state: CircuitState = field(default=CircuitState.CLOSED, init=False)
    _failures: int = field(default=0, init=False)
    _opened_at: float = field(default=0.0, init=False)
    _trials_in_flight: int = field(default=0, init=False)
    _trial_successes: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.open_seconds < 0:
            raise ValueError("open_seconds must not be negative")
        if self.half_open_trials < 1:
            raise ValueError("half_open_trials must be at least 1")

    # ------------------------------------------------------------------ state

    def _refresh(self) -> None:
        if self._state is CircuitState.OPEN and self.clock() - self._opened_at >= self.open_seconds:
            self._state = CircuitState.HALF_OPEN
            self._trials_in_flight = 0
            self._trial_successes = 0

    @property
    def state(self) -> CircuitState:
        with self._lock:
            self._refresh()
            return self._state

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._failures

    def _open(self) -> None:
        self._state = CircuitState.OPEN
        self._opened_at = self.clock()
        self._trials_in_flight = 0
        self._trial_successes = 0

    def configure(self, *, failure_threshold: int, open_seconds: float, half_open_trials: int) -> None:
        """New thresholds for a live breaker (its state is kept; the new values apply from now)."""
        probe = CircuitBreaker(self.name, failure_threshold, open_seconds, half_open_trials)  # validates
        with self._lock:
            self.failure_threshold = probe.failure_threshold
            self.open_seconds = probe.open_seconds
            self.half_open_trials = probe.half_open_trials

    def reset(self) -> None:
        """Back to closed with no failures counted (an operator's override)."""
        with self._lock:
            self._state = CircuitState.CLOSED
            self._failures = 0
            self._trials_in_flight = 0
            self._trial_successes = 0

    # ------------------------------------------------------------------ protocol

    def acquire(self) -> None:
        """Admit one call or raise `CircuitOpenError`."""
        with self._lock:
            self._refresh()
            if self._state is CircuitState.CLOSED:
                return
            if self._state is CircuitState.HALF_OPEN:
                if self._trials_in_flight + self._trial_successes < self.half_open_trials:
                    self._trials_in_flight += 1
                    return
                raise CircuitOpenError(self.name, 0.0)
            raise CircuitOpenError(self.name, self._opened_at + self.open_seconds - self.clock())

    def record_success(self) -> None:
        with self._lock:
            if self._state is CircuitState.HALF_OPEN:
                self._trials_in_flight = max(0, self._trials_in_flight - 1)
                self._trial_successes += 1
                if self._trial_successes >= self.half_open_trials:
                    self._state = CircuitState.CLOSED
                    self._failures = 0
            elif self._state is CircuitState.CLOSED:
                self._failures = 0

    def record_failure(self) -> None:
        with self._lock:
            if self._state is CircuitState.HALF_OPEN:
                self._failures += 1
                self._open()
            elif self._state is CircuitState.CLOSED:
                self._failures += 1
                if self._failures >= self.failure_threshold:
                    self._open()
            # OPEN: a late answer from a call admitted before the circuit opened changes nothing

    def release(self) -> None:
        """The admitted call ended without telling anything about the partner's health."""
        with self._lock:
            if self._state is CircuitState.HALF_OPEN:
                self._trials_in_flight = max(0, self._trials_in_flight - 1)

    @contextmanager
    def guard(self, is_failure: Callable[[BaseException], bool] = _count_everything) -> Iterator[None]:
        """Admit, run the block, record its outcome. Works around sync code and inside coroutines
        alike (nothing here awaits). Exceptions for which `is_failure` is false count as success
        (the partner answered; the fault was ours); cancellation counts as neither."""
        self.acquire()
        try:
            yield
        except Exception as error:
            if is_failure(error):
                self.record_failure()
            else:
                self.record_success()
            raise
        except BaseException:
            self.release()
            raise
        else:
            self.record_success()

    def call(self, fn: Callable[[], T], is_failure: Callable[[BaseException], bool] = _count_everything) -> T:
        with self.guard(is_failure):
            return fn()

    async def acall(
        self, fn: Callable[[], Awaitable[T]], is_failure: Callable[[BaseException], bool] = _count_everything
    ) -> T:
        with self.guard(is_failure):
            return await fn()


@dataclass(slots=True)
class CircuitBreakers:
    """One `CircuitBreaker` per partner id, created on first use; the settings here are the
    defaults for partners whose configuration names none."""

    failure_threshold: int = 5
    open_seconds: float = 30.0
    half_open_trials: int = 1
    clock: Clock = time.monotonic
    _breakers: dict[str, CircuitBreaker] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def for_partner(
        self,
        partner_id: str,
        *,
        failure_threshold: int | None = None,
        open_seconds: float | None = None,
        half_open_trials: int | None = None,
    ) -> CircuitBreaker:
        """The partner's breaker. Settings given here (the partner's own configuration) win over
        the registry's defaults; given again with other values (a reloaded configuration) they
        apply to the existing breaker, whose state and failure count are kept."""
        wanted = {
            "failure_threshold": self.failure_threshold if failure_threshold is None else failure_threshold,
            "open_seconds": self.open_seconds if open_seconds is None else open_seconds,
            "half_open_trials": self.half_open_trials if half_open_trials is None else half_open_trials,
        }
        given = failure_threshold is not None or open_seconds is not None or half_open_trials is not None
        with self._lock:
            breaker = self._breakers.get(partner_id)
            if breaker is None:
                breaker = CircuitBreaker(partner_id, clock=self.clock, **wanted)  # type: ignore[arg-type]
                self._breakers[partner_id] = breaker
            elif given:
                breaker.configure(**wanted)  # type: ignore[arg-type]
            return breaker

    def states(self) -> dict[str, CircuitState]:
        """Every partner's circuit state, for health endpoints."""
        with self._lock:
            breakers = list(self._breakers.items())
        return {name: b.state for name, b in breakers}
