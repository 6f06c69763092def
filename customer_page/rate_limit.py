"""Per-link token buckets in memory: a burst of `capacity`, refilled at `per_minute`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# Past this many links in memory, buckets that are full again (idle links) are dropped.
MAX_TRACKED_KEYS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`try_acquire(key)` is 0 when allowed, else the seconds to wait (for Retry-After)."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def try_acquire(self, key: str) -> int:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            self._forget_idle(now)
            bucket = self._buckets[key] = _Bucket(self._capacity, now)
        refill = (now - bucket.updated) * self._per_second
        bucket.tokens = min(self._capacity, bucket.tokens + refill)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / self._per_second))

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) < MAX_TRACKED_KEYS:
            return
        full_after = self._capacity / self._per_second
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if now - bucket.updated < full_after
        }
