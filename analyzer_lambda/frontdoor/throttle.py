"""Per-caller throttling: a token bucket per API key or IAM principal, ``rate`` requests a
minute with bursts of ``burst``; a refused request gets 429 and ``Retry-After`` (whole seconds,
rounded up, as RFC 9110 wants).

In memory, per process: ``make serve`` is one process; in AWS each warm function instance
keeps its own buckets, so the effective limit is the rate times the instances running
(bounded by the function's reserved concurrency, infra/template.yaml). That is a guard against
a runaway script, not billing-grade metering. The clock is injected so tests need no sleep."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

_MAX_CALLERS = 10_000  # buckets kept; the fullest (idle longest) are dropped beyond that


@dataclass
class _Bucket:
    tokens: float
    at: float


class Throttle:
    def __init__(
        self, rate_per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate_per_minute / 60.0  # tokens per second
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> int | None:
        """None when ``caller`` may go on (a token is spent), else the seconds to wait."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None:
                if len(self._buckets) >= _MAX_CALLERS:
                    self._forget_idle(now)
                bucket = self._buckets[caller] = _Bucket(self._burst, now)
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - bucket.tokens) / self._rate))

    def _forget_idle(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self._rate >= 1]
        for key in full[: max(1, len(full))]:
            del self._buckets[key]
