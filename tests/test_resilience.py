"""Tests for edi/resilience.py: backoff with full jitter, and the circuit breaker's states.

Everything runs on a fake clock: the policies take `clock`, `sleep` and `random` as arguments, so
no test waits and every number is exact.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from edi.resilience import (
    CircuitBreaker,
    CircuitBreakers,
    CircuitOpenError,
    CircuitState,
    RetryPolicy,
)


class FakeClock:
    """A monotonic clock that only moves when something sleeps or the test advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Flaky:
    """Fails `failures` times with `error`, then returns "ok"."""

    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return "ok"

    async def acall(self) -> str:
        return self()


# ============================================================================ backoff


def test_ceiling_doubles_from_base_up_to_cap():
    policy = RetryPolicy(base=0.1, cap=1.0, max_attempts=10)
    assert [policy.ceiling(n) for n in range(1, 8)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
    assert policy.ceiling(100_000) == 1.0  # no float overflow far out
    with pytest.raises(ValueError):
        policy.ceiling(0)


def test_full_jitter_stays_within_zero_and_the_ceiling():
    policy = RetryPolicy(base=0.5, cap=8.0)
    assert policy.backoff(3, random=lambda: 0.0) == 0.0
    assert policy.backoff(3, random=lambda: 0.5) == pytest.approx(1.0)
    assert policy.backoff(3, random=lambda: 0.999999) < policy.ceiling(3) == 2.0
    rng = random.Random(7)
    for retry in range(1, 12):
        ceiling = policy.ceiling(retry)
        draws = [policy.backoff(retry, random=rng.random) for _ in range(400)]
        assert all(0.0 <= d < ceiling for d in draws)
        # full jitter: spread over the whole range, not bunched at the ceiling ("equal jitter")
        assert min(draws) < 0.05 * ceiling and max(draws) > 0.95 * ceiling
        assert sum(draws) / len(draws) == pytest.approx(ceiling / 2, rel=0.15)


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        RetryPolicy(base=0)
    with pytest.raises(ValueError):
        RetryPolicy(base=2, cap=1)
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


# ============================================================================ retrying


def test_call_retries_until_success_with_bounded_waits():
    clock = FakeClock()
    policy = RetryPolicy(base=0.2, cap=1.0, max_attempts=5)
    flaky = Flaky(3)
    seen: list[tuple[int, str, float]] = []
    result = policy.call(
        flaky,
        sleep=clock.sleep,
        clock=clock,
        random=random.Random(1).random,
        on_retry=lambda n, e, d: seen.append((n, str(e), d)),
    )
    assert result == "ok" and flaky.calls == 4
    assert len(clock.sleeps) == 3
    for retry, wait in enumerate(clock.sleeps, start=1):
        assert 0 <= wait < policy.ceiling(retry)
    assert [(n, e) for n, e, _ in seen] == [(1, "failure 1"), (2, "failure 2"), (3, "failure 3")]
    assert [d for *_, d in seen] == clock.sleeps


def test_call_gives_up_after_max_attempts_with_the_last_error():
    clock = FakeClock()
    policy = RetryPolicy(base=0.1, cap=0.1, max_attempts=3)
    flaky = Flaky(10)
    with pytest.raises(ConnectionError, match="failure 3"):
        policy.call(flaky, sleep=clock.sleep, clock=clock, random=lambda: 0.5)
    assert flaky.calls == 3
    assert clock.sleeps == pytest.approx([0.05, 0.05])


def test_non_retryable_errors_are_raised_at_once():
    clock = FakeClock()
    policy = RetryPolicy(max_attempts=5, retryable=lambda e: isinstance(e, ConnectionError))
    flaky = Flaky(1, error=KeyError)
    with pytest.raises(KeyError):
        policy.call(flaky, sleep=clock.sleep, clock=clock)
    assert flaky.calls == 1 and clock.sleeps == []


def test_no_wait_is_started_that_would_end_past_the_deadline():
    clock = FakeClock()
    policy = RetryPolicy(base=1.0, cap=1.0, max_attempts=10)
    flaky = Flaky(10)
    deadline = clock.now + 2.5
    with pytest.raises(ConnectionError, match="failure 3"):
        policy.call(flaky, sleep=clock.sleep, clock=clock, deadline=deadline, random=lambda: 0.9)
    # waits of 0.9 s: two fit before the deadline (t+1.8), the third would end at t+2.7
    assert clock.sleeps == pytest.approx([0.9, 0.9])
    assert clock.now < deadline


def test_acall_retries_coroutines_on_an_injected_sleep():
    clock = FakeClock()
    policy = RetryPolicy(base=0.5, cap=4.0, max_attempts=4)
    flaky = Flaky(2)
    result = asyncio.run(
        policy.acall(flaky.acall, sleep=clock.asleep, clock=clock, random=random.Random(3).random)
    )
    assert result == "ok" and flaky.calls == 3
    assert len(clock.sleeps) == 2
    assert all(0 <= w < policy.ceiling(i) for i, w in enumerate(clock.sleeps, start=1))


def test_acall_deadline_and_exhaustion():
    clock = FakeClock()
    policy = RetryPolicy(base=1.0, cap=1.0, max_attempts=10)
    flaky = Flaky(10)
    with pytest.raises(ConnectionError):
        asyncio.run(
            policy.acall(
                flaky.acall, sleep=clock.asleep, clock=clock, deadline=clock.now + 1.0, random=lambda: 0.6
            )
        )
    assert flaky.calls == 2 and clock.sleeps == [0.6]


# ============================================================================ circuit breaker


def test_breaker_opens_after_consecutive_failures_only():
    clock = FakeClock()
    breaker = CircuitBreaker("acme", failure_threshold=3, open_seconds=10, clock=clock)
    assert breaker.state is CircuitState.CLOSED
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # a success resets the count
    assert breaker.consecutive_failures == 0
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN


def test_open_breaker_refuses_with_time_to_next_trial():
    clock = FakeClock()
    breaker = CircuitBreaker("acme", failure_threshold=1, open_seconds=10, clock=clock)
    breaker.record_failure()
    clock.advance(4)
    with pytest.raises(CircuitOpenError) as caught:
        breaker.acquire()
    assert caught.value.name == "acme"
    assert caught.value.retry_after == pytest.approx(6)
    assert "acme" in str(caught.value)


def test_half_open_admits_one_trial_and_closes_on_success():
    clock = FakeClock()
    breaker = CircuitBreaker("acme", failure_threshold=2, open_seconds=10, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.advance(9.99)
    assert breaker.state is CircuitState.OPEN
    clock.advance(0.01)
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.acquire()  # the trial
    with pytest.raises(CircuitOpenError):
        breaker.acquire()  # a second caller while the trial runs
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    breaker.acquire()
    assert breaker.consecutive_failures == 0


def test_failed_trial_reopens_for_a_full_period():
    clock = FakeClock()
    breaker = CircuitBreaker("acme", failure_threshold=1, open_seconds=5, clock=clock)
    breaker.record_failure()
    clock.advance(5)
    breaker.acquire()
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    clock.advance(4.9)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.advance(0.1)
    assert breaker.state is CircuitState.HALF_OPEN


def test_several_half_open_trials_must_all_succeed():
    clock = FakeClock()
    breaker = CircuitBreaker("acme", failure_threshold=1, open_seconds=1, half_open_trials=2, clock=clock)
    breaker.record_failure()
    clock.advance(1)
    breaker.acquire()
    breaker.acquire()
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    breaker.record_success()
    assert breaker.state is CircuitState.HALF_OPEN
    with pytest.raises(CircuitOpenError):
        breaker.acquire()  # one success counted, one trial still out: no third trial
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED


def test_guard_counts_outcomes_and_ignores_cancellation():
    clock = FakeClock()
    breaker = CircuitBreaker("acme", failure_threshold=2, open_seconds=1, clock=clock)
    with pytest.raises(ValueError), breaker.guard(is_failure=lambda e: not isinstance(e, ValueError)):
        raise ValueError("our own fault: the partner is fine")
    assert breaker.consecutive_failures == 0
    for _ in range(2):
        with pytest.raises(ConnectionError), breaker.guard():
            raise ConnectionError
    assert breaker.state is CircuitState.OPEN
    clock.advance(1)
    # a cancelled trial frees its slot without a verdict
    with pytest.raises(asyncio.CancelledError), breaker.guard():
        raise asyncio.CancelledError
    assert breaker.state is CircuitState.HALF_OPEN
    with breaker.guard():
        pass
    assert breaker.state is CircuitState.CLOSED


def test_call_and_acall_wrap_sync_and_async_functions():
    clock = FakeClock()
    breaker = CircuitBreaker("acme", failure_threshold=2, open_seconds=30, clock=clock)
    assert breaker.call(lambda: 41 + 1) == 42

    async def boom() -> None:
        raise ConnectionError

    async def scenario() -> None:
        for _ in range(2):
            with pytest.raises(ConnectionError):
                await breaker.acall(boom)
        with pytest.raises(CircuitOpenError):
            await breaker.acall(boom)

    asyncio.run(scenario())
    assert breaker.state is CircuitState.OPEN
    breaker.reset()
    assert breaker.state is CircuitState.CLOSED


def test_breaker_and_policy_compose():
    """The usual stack: retries around a breaker; an open circuit is not retried."""
    clock = FakeClock()
    breaker = CircuitBreaker("acme", failure_threshold=3, open_seconds=60, clock=clock)
    policy = RetryPolicy(
        base=0.1, cap=0.1, max_attempts=10, retryable=lambda e: isinstance(e, ConnectionError)
    )
    flaky = Flaky(100)
    with pytest.raises(CircuitOpenError):
        policy.call(lambda: breaker.call(flaky), sleep=clock.sleep, clock=clock, random=lambda: 0.5)
    assert flaky.calls == 3  # the fourth try was refused by the open circuit, not sent
    assert len(clock.sleeps) == 3


def test_registry_keeps_one_breaker_per_partner():
    clock = FakeClock()
    breakers = CircuitBreakers(failure_threshold=1, open_seconds=5, clock=clock)
    acme = breakers.for_partner("acme")
    assert breakers.for_partner("acme") is acme
    other = breakers.for_partner("bluepeak")
    assert other is not acme
    acme.record_failure()
    assert breakers.states() == {"acme": CircuitState.OPEN, "bluepeak": CircuitState.CLOSED}
    assert other.failure_threshold == 1 and other.open_seconds == 5


def test_breaker_rejects_nonsense():
    with pytest.raises(ValueError):
        CircuitBreaker("x", failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker("x", open_seconds=-1)
    with pytest.raises(ValueError):
        CircuitBreaker("x", half_open_trials=0)


# ============================================================================ per-partner settings


def test_partner_settings_override_the_registry_defaults_and_a_reload_keeps_the_state():
    clock = FakeClock()
    registry = CircuitBreakers(failure_threshold=5, open_seconds=30.0, clock=clock)
    strict = registry.for_partner("strict", failure_threshold=2, open_seconds=4.0)
    lenient = registry.for_partner("lenient")
    assert (strict.failure_threshold, strict.open_seconds) == (2, 4.0)
    assert (lenient.failure_threshold, lenient.open_seconds) == (5, 30.0)

    for breaker in (strict, lenient):
        breaker.acquire()
        breaker.record_failure()
        breaker.acquire()
        breaker.record_failure()
    assert strict.state is CircuitState.OPEN  # its own threshold
    assert lenient.state is CircuitState.CLOSED and lenient.consecutive_failures == 2
    with pytest.raises(CircuitOpenError) as caught:
        strict.acquire()
    assert caught.value.retry_after == pytest.approx(4.0)

    # The same partner asked for again without settings: the same breaker, settings unchanged.
    assert registry.for_partner("strict") is strict and strict.open_seconds == 4.0
    # A reloaded configuration with a shorter open time applies to the open circuit at once.
    assert registry.for_partner("strict", failure_threshold=2, open_seconds=1.0) is strict
    assert strict.state is CircuitState.OPEN
    clock.advance(1.0)
    assert strict.state is CircuitState.HALF_OPEN
    # And a stricter threshold counts the failures already seen.
    registry.for_partner("lenient", failure_threshold=3)
    lenient.acquire()
    lenient.record_failure()
    assert lenient.state is CircuitState.OPEN


def test_bad_partner_settings_are_refused_and_leave_the_breaker_as_it_was():
    registry = CircuitBreakers()
    breaker = registry.for_partner("p", failure_threshold=3)
    with pytest.raises(ValueError, match="failure_threshold"):
        registry.for_partner("p", failure_threshold=0)
    with pytest.raises(ValueError, match="open_seconds"):
        registry.for_partner("q", open_seconds=-1.0)
    assert breaker.failure_threshold == 3 and "q" not in registry.states()
