"""Fault injection rules, deterministic from a seed, and the per-subscription ARM write quota."""

from __future__ import annotations

import math
import random
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["throttle", "error", "latency", "drop", "lost_response"]
FAULT_KINDS = ("throttle", "error", "latency", "drop", "lost_response")


@dataclass
class FaultRule:
    """One injected fault: which requests it hits, what happens, how often and how many times."""

    method: str = "*"
    path_regex: str = ".*"
    kind: FaultKind = "error"
    probability: float = 1.0
    status: int = 503
    retry_after: int = 1
    latency_ms: int = 0
    max_count: int | None = None
    fired: int = 0
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}, not '{self.kind}'")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        try:
            self.pattern = re.compile(self.path_regex)
        except re.error as error:
            raise ValueError(f"path_regex is not a valid regular expression: {error}") from None

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self.max_count is not None and self.fired >= self.max_count:
            return False
        return self.pattern.search(path) is not None

    def describe(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path_regex": self.path_regex,
            "kind": self.kind,
            "probability": self.probability,
            "status": self.status,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "max_count": self.max_count,
            "fired": self.fired,
        }


class FaultEngine:
    """Picks the fault (if any) for a request.

    The same seed and request order give the same faults.
    """

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._random = random.Random(0)

    def configure(self, rules: list[FaultRule], seed: int) -> None:
        self.rules = rules
        self._random = random.Random(seed)

    def pick(self, method: str, path: str) -> FaultRule | None:
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            if rule.probability < 1.0 and self._random.random() >= rule.probability:
                continue
            rule.fired += 1
            return rule
        return None


class WriteQuota:
    """ARM-like per-subscription write budget over a sliding minute."""

    WINDOW_SECONDS = 60.0
    DEFAULT_HOURLY_WRITES = 1200

    def __init__(self) -> None:
        self.limits: dict[str, int] = {}
        self._writes: dict[str, deque[float]] = {}

    def set_limit(self, subscription_id: str, writes_per_minute: int | None) -> None:
        key = subscription_id.lower()
        if writes_per_minute is None:
            self.limits.pop(key, None)
        else:
            self.limits[key] = writes_per_minute
        self._writes.pop(key, None)

    def admit(self, subscription_id: str, now: float | None = None) -> tuple[bool, int, int]:
        """Record a write: (admitted, remaining writes, seconds to wait when refused)."""
        key = subscription_id.lower()
        now = time.monotonic() if now is None else now
        window = self._writes.setdefault(key, deque())
        while window and window[0] <= now - self.WINDOW_SECONDS:
            window.popleft()
        limit = self.limits.get(key)
        if limit is None:
            window.append(now)
            return True, max(self.DEFAULT_HOURLY_WRITES - len(window), 0), 0
        if len(window) >= limit:
            wait = math.ceil(window[0] + self.WINDOW_SECONDS - now) if window else 1
            return False, 0, max(wait, 1)
        window.append(now)
        return True, limit - len(window), 0
