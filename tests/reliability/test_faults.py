"""Issue 5, item 3: concurrent onboardings through injected Azure faults, with real processes.

The emulator throttles (429 + Retry-After), fails (500, 503), slows and drops about a quarter of
the worker's ARM and Graph requests, from a fixed seed. Every onboarding must still complete, the
emulator must hold each resource exactly once, and every 429 must be retried no sooner than its
Retry-After, which the emulator's request log shows.
"""

from __future__ import annotations

import statistics
import time

import pytest

from harness.fleet import onboard_all
from tests.reliability.conftest import ReliabilityStack
from tests.reliability.fault_fixtures import (
    ARM_RETRY_AFTER,
    CLOCK_GRANULARITY,
    GRAPH_RETRY_AFTER,
    assert_exactly_one_of_each,
    azure_fault_mix,
    azure_requests,
    failures_of,
    faults_by_kind,
    mixed_fleet,
    owner_markers,
    throttle_gaps,
)

SEED = 20261128
SHARED = 8
ISOLATED = 12
WORKERS = 2


@pytest.mark.timeout(900)
async def test_concurrent_onboardings_complete_through_azure_faults_without_duplicates(
    reliability_stack: ReliabilityStack,
) -> None:
    stack = reliability_stack
    control = stack.emulator.control
    # Both identity modes: shared onboardings race for one app, identity and credential under
    # faults; isolated ones give every Graph path a single caller, so their 429 gaps are measurable.
    fleet = await mixed_fleet(control, stack.isv, SHARED, ISOLATED)
    stack.start_workers(WORKERS)
    before = await control.snapshot()
    await control.reset_requests()
    await control.set_faults(azure_fault_mix(), seed=SEED)

    started = time.monotonic()
    outcomes = await onboard_all(stack.client, stack.target, control, fleet, within=780)
    elapsed = time.monotonic() - started
    records = azure_requests(await control.requests())
    await control.clear_faults()

    assert failures_of(outcomes) == []
    snapshot = await control.snapshot()
    counts = assert_exactly_one_of_each(before, snapshot, fleet, stack.isv)

    faults = faults_by_kind(records)
    share = sum(faults.values()) / len(records)
    print(
        f"\n{len(fleet)} onboardings with faults: {elapsed:.1f}s, {len(records)} Azure requests, "
        f"{share:.0%} faulted: {dict(sorted(faults.items()))}; resources {counts}; "
        f"duplicates 0"
    )
    # The run must actually have been hostile, with every kind of fault, or it proves nothing.
    assert 0.15 <= share <= 0.40, faults
    for kind in ("throttle", "error_500", "error_503", "latency", "drop"):
        assert faults[kind] > 0, f"no {kind} fault was injected: {faults}"

    # Isolated identities carry the customer's tenant id in their names; their apps' object ids
    # appear in the credential paths.
    tenant_ids = {o.customer.tenant_id.lower() for o in fleet}
    isolated_apps = [
        app["id"]
        for app in snapshot["tenants"][stack.isv.tenant_id.lower()]["applications"].values()
        if any(t in str(app.get("displayName", "")).lower() for t in tenant_ids)
    ]
    gaps, unmeasured = throttle_gaps(
        records,
        {"arm": ARM_RETRY_AFTER, "graph": GRAPH_RETRY_AFTER},
        owner_markers(fleet, isolated_apps),
    )
    early = [g for g in gaps if g.gap < g.retry_after - CLOCK_GRANULARITY]
    by_family = {
        family: [g.gap for g in gaps if g.path.startswith("/v1.0/") == (family == "graph")]
        for family in ("arm", "graph")
    }
    print(
        "429 gaps (s): "
        + ", ".join(
            f"{family} (Retry-After {after}) n={len(values)} min={min(values):.3f} "
            f"median={statistics.median(values):.3f}"
            for (family, values), after in zip(
                by_family.items(), (ARM_RETRY_AFTER, GRAPH_RETRY_AFTER), strict=True
            )
            if values
        )
        + f"; not measurable (shared path or never retried there): {unmeasured}"
    )
    assert early == []
    # Enough 429s were measured on both APIs for the lower bound to mean something.
    assert len(by_family["arm"]) >= 5 and len(by_family["graph"]) >= 2, by_family
