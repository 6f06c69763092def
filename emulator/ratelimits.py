"""Rate-limit state: ARM's regional token buckets and DiskRP's DES windows (no HTTP here).

ARM (since 2024) throttles per region, per subscription, per principal and per operation type
(reads, writes and deletes each have their own bucket), plus a subscription-global bucket 15 times
the principal one that all principals share. DiskRP then applies its own policy to DES
create/update over a 3-minute and a 30-minute window. Every limit is configurable so tests and the
bench can shrink buckets or speed up time; `time_scale` multiplies refill rates and divides windows.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# Learn, "Understand how Azure Resource Manager throttles requests": bucket size, refill per second.
ARM_DEFAULTS: dict[str, tuple[float, float]] = {
    "read": (250, 25),
    "write": (200, 10),
    "delete": (200, 10),
}
GLOBAL_FACTOR = 15.0
# DESIGN.md section 2: DES create/update about 99 per 3 minutes and 289 per 30 minutes. The policy
# names follow CRP's "<Group>3Min/30Min" header convention; DiskRP's real names are not published.
DES_DEFAULTS: list[tuple[str, int, float]] = [
    ("HighCostDiskEncryptionSet3Min", 99, 180.0),
    ("HighCostDiskEncryptionSet30Min", 289, 1800.0),
]
DES_WRITE = re.compile(r"/providers/Microsoft\.Compute/diskEncryptionSets/[^/]+/?$", re.IGNORECASE)


def operation_kind(method: str) -> str:
    if method.upper() == "DELETE":
        return "delete"
    return "read" if method.upper() in ("GET", "HEAD") else "write"


@dataclass
class Bucket:
    capacity: float
    refill: float  # tokens per second, already multiplied by time_scale
    tokens: float
    updated: float

    def take(self, now: float) -> tuple[bool, int, int]:
        """(admitted, whole tokens left, seconds until one token is back when refused)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True, int(self.tokens), 0
        wait = (1 - self.tokens) / self.refill if self.refill > 0 else 3600
        return False, 0, max(1, math.ceil(wait))


@dataclass
class Throttle:
    """Throttling configuration and state for one emulator."""

    enabled: bool = True
    region: str = "eastus"
    time_scale: float = 1.0
    arm: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(ARM_DEFAULTS))
    global_factor: float = GLOBAL_FACTOR
    des_windows: list[tuple[str, int, float]] = field(default_factory=lambda: list(DES_DEFAULTS))
    _buckets: dict[tuple[str, ...], Bucket] = field(default_factory=dict, repr=False)
    _des_calls: dict[str, deque[float]] = field(default_factory=dict, repr=False)

    def configure(self, body: dict[str, Any]) -> None:
        if "enabled" in body:
            self.enabled = bool(body["enabled"])
        if "region" in body:
            self.region = str(body["region"]).lower()
        if "time_scale" in body:
            scale = float(body["time_scale"])
            if scale <= 0:
                raise ValueError("time_scale must be positive")
            self.time_scale = scale
        for kind, limit in (body.get("arm") or {}).items():
            if kind not in ARM_DEFAULTS:
                raise ValueError(f"arm limits are for read, write or delete, not '{kind}'")
            self.arm[kind] = (float(limit[0]), float(limit[1]))
        if "global_factor" in body:
            self.global_factor = float(body["global_factor"])
        if "des_windows" in body:
            self.des_windows = [(str(n), int(c), float(s)) for n, c, s in body["des_windows"]]
        self.reset_state()

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def reset_state(self) -> None:
        self._buckets.clear()
        self._des_calls.clear()

    def describe(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "region": self.region,
            "time_scale": self.time_scale,
            "arm": {k: list(v) for k, v in self.arm.items()},
            "global_factor": self.global_factor,
            "des_windows": [list(w) for w in self.des_windows],
        }

    def _bucket(self, key: tuple[str, ...], capacity: float, refill: float, now: float) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = Bucket(capacity, refill * self.time_scale, capacity, now)
            self._buckets[key] = bucket
        return bucket

    def admit_arm(
        self, scope: str, scope_id: str, principal: str, kind: str, now: float
    ) -> tuple[dict[str, str], int | None]:
        """Take a token from the principal bucket (and the subscription-global one).

        Returns the x-ms-ratelimit-remaining-* headers and, when refused, the seconds to wait.
        """
        capacity, refill = self.arm[kind]
        plural = kind + "s"
        own = self._bucket((self.region, scope_id, principal, kind), capacity, refill, now)
        ok, left, wait = own.take(now)
        headers = {f"x-ms-ratelimit-remaining-{scope}-{plural}": str(left)}
        if scope == "subscription":
            shared = self._bucket(
                (self.region, scope_id, "*", kind),
                capacity * self.global_factor,
                refill * self.global_factor,
                now,
            )
            if ok:
                ok, global_left, wait = shared.take(now)
                if not ok:  # the principal's token is given back: the request never ran
                    own.tokens += 1
            else:
                global_left = int(shared.tokens)
            headers[f"x-ms-ratelimit-remaining-subscription-global-{plural}"] = str(global_left)
        return headers, (None if ok else wait)

    def admit_des_write(self, subscription_id: str, now: float) -> tuple[str, int | None, str]:
        """Count a DES create/update against DiskRP's windows.

        Returns (x-ms-ratelimit-remaining-resource value, wait seconds or None, refusing policy).
        """
        calls = self._des_calls.setdefault(subscription_id.lower(), deque())
        longest = max((w for _, _, w in self.des_windows), default=0) / self.time_scale
        while calls and calls[0] <= now - longest:
            calls.popleft()
        for name, allowed, window in self.des_windows:
            span = window / self.time_scale
            recent = [t for t in calls if t > now - span]
            if len(recent) >= allowed:
                wait = max(1, math.ceil(recent[0] + span - now)) if recent else 1
                return self._remaining(calls, now), wait, name
        calls.append(now)
        return self._remaining(calls, now), None, ""

    def _remaining(self, calls: deque[float], now: float) -> str:
        parts = []
        for name, allowed, window in self.des_windows:
            used = sum(1 for t in calls if t > now - window / self.time_scale)
            parts.append(f"Microsoft.Compute/{name};{max(allowed - used, 0)}")
        return ",".join(parts)
