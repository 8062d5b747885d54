"""Per-caller throttling: a burst, then the configured rate; the wait is whole seconds."""

from __future__ import annotations

from analyzer_lambda.frontdoor.throttle import Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_caller_waits_for_the_rate() -> None:
    clock = Clock()
    throttle = Throttle(rate_per_minute=6, burst=3, clock=clock)  # one token per 10 s
    assert [throttle.take("a") for _ in range(3)] == [None, None, None]
    assert throttle.take("a") == 10
    clock.now += 4.2
    assert throttle.take("a") == 6  # rounded up, never 0
    clock.now += 6
    assert throttle.take("a") is None
    assert throttle.take("a") == 10


def test_callers_have_their_own_buckets() -> None:
    clock = Clock()
    throttle = Throttle(rate_per_minute=1, burst=1, clock=clock)
    assert throttle.take("a") is None
    assert throttle.take("a") == 60
    assert throttle.take("b") is None


def test_an_idle_caller_gets_no_more_than_the_burst_back() -> None:
    clock = Clock()
    throttle = Throttle(rate_per_minute=60, burst=2, clock=clock)
    clock.now += 3600
    assert [throttle.take("a") for _ in range(3)] == [None, None, 1]
