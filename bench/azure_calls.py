"""Azure calls per onboarding from the emulator's request log, beside the documented minimum."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from emulator.control import RequestRecord

LRO_POLL = "Microsoft.Compute/diskOperations"
THROTTLED = 429

# What one onboarding needs at least once the shared ISV identity exists and the feature is
# Registered (README, "Minimum Azure calls"). Keys are "METHOD resource type" as the emulator logs.
MINIMUM_WRITES: dict[str, int] = {
    "PUT Microsoft.Compute/diskEncryptionSets": 1,
    "PUT Microsoft.Compute/disks": 1,
    "DELETE Microsoft.Compute/disks": 1,
}
MINIMUM_READS: dict[str, int] = {
    "GET Microsoft.Features/features": 1,
    "GET graph/applications": 1,
    "GET Microsoft.ManagedIdentity/userAssignedIdentities": 1,
    "GET graph/applications/federatedIdentityCredentials": 1,
    # Before the PUT (is it ours? README "Security"), the create's final state, verification.
    "GET Microsoft.Compute/diskEncryptionSets": 3,
    "GET Microsoft.Compute/disks": 1,
}
# Once per ISV (tenant and subscription), shared by every onboarding after it.
SHARED_WRITES: dict[str, int] = {
    "PATCH graph/applications": 1,
    "PUT Microsoft.ManagedIdentity/userAssignedIdentities": 1,
    "POST graph/applications/federatedIdentityCredentials": 1,
}
# Once per subscription while the preview-feature policy is on and the feature is not Registered.
FEATURE_WRITES: dict[str, int] = {
    "POST Microsoft.Features/features": 1,
    "POST Microsoft.Compute/register": 1,
}


def minimum_writes() -> int:
    return sum(MINIMUM_WRITES.values())


def minimum_reads() -> int:
    return sum(MINIMUM_READS.values())


def once_per_isv_writes() -> int:
    """Writes the first onboarding of an ISV makes beyond its own: shared identity and feature."""
    return sum(SHARED_WRITES.values()) + sum(FEATURE_WRITES.values())


@dataclass(frozen=True)
class AzureCalls:
    """ARM and Graph requests (token requests excluded) made during one run."""

    writes: int
    reads: int
    lro_polls: int
    throttled: int
    by_call: Counter[str] = field(default_factory=Counter)
    first_write_at: float | None = None
    last_write_at: float | None = None

    def per_onboarding(self, count: int) -> dict[str, float]:
        return {
            "writes": self.writes / count,
            "reads": self.reads / count,
            "lro_polls": self.lro_polls / count,
            "reads_without_lro_polls": (self.reads - self.lro_polls) / count,
            "throttled": self.throttled / count,
        }

    def writes_per_minute(self) -> float:
        if self.first_write_at is None or self.last_write_at is None:
            return 0.0
        span = self.last_write_at - self.first_write_at
        return 60.0 * self.writes / span if span > 0 else 0.0


def _call_name(record: RequestRecord) -> str:
    return f"{record.method} {record.resource_type}"


def count_calls(records: Iterable[RequestRecord], subscription_or_tenant: set[str]) -> AzureCalls:
    """Count the requests that belong to one ISV (its subscription in the path or its tenant).

    A 429 is not a write Azure performed: it counts as throttled, not as a write.
    """
    wanted = {value.lower() for value in subscription_or_tenant}
    writes = reads = polls = throttled = 0
    by_call: Counter[str] = Counter()
    write_times: list[float] = []
    for record in records:
        if record.resource_type.startswith(("entra/", "admin")):
            continue
        path = record.path.lower()
        tenant = (record.tenant_id or "").lower()
        if tenant not in wanted and not any(value in path for value in wanted):
            continue
        if record.status == THROTTLED:
            throttled += 1
            continue
        by_call[_call_name(record)] += 1
        if record.kind == "write":
            writes += 1
            write_times.append(record.time)
        else:
            reads += 1
            polls += record.resource_type == LRO_POLL
    return AzureCalls(
        writes=writes,
        reads=reads,
        lro_polls=polls,
        throttled=throttled,
        by_call=by_call,
        first_write_at=min(write_times, default=None),
        last_write_at=max(write_times, default=None),
    )
