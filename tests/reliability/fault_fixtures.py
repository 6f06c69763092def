"""Fault mixes and the analyses the fault, lost-response and load tests share.

The shared stack fixtures (dev server, emulator process, worker factory) live in conftest.py;
this module only knows what to inject and how to read the emulator's request log afterwards.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.control import EmulatorControl, FaultRule, IsvTenant, RequestRecord
from harness.fleet import Onboarding, Outcome, count_resources, duplicated_names, new_fleet
from workflows import plan

# Faults go to the Azure APIs the worker calls (ARM and Graph), never to the token endpoint or the
# admin API the test itself uses to play the customers.
ARM = r"^/subscriptions/"
GRAPH = r"^/v1\.0/"
AZURE = r"^/(subscriptions|v1\.0)/"

# Two throttle rules with different Retry-After values, so the gap check would catch a retry that
# used a fixed delay that happens to fit one of them.
ARM_RETRY_AFTER = 2
GRAPH_RETRY_AFTER = 1
# Clock granularity only: the emulator stamps a request when it arrives (time.time(), one clock for
# both requests), and the 429 is answered before the worker even learns of it, so a retry paced by
# Retry-After arrives strictly more than retry_after later. The tolerance covers the Temporal
# server storing the retry's due time at millisecond precision and timer-wheel rounding, both far
# below 50 ms; anything early by more than that is a retry that ignored Retry-After.
CLOCK_GRANULARITY = 0.05


def azure_fault_mix() -> list[FaultRule]:
    """About a quarter of ARM and Graph requests faulted: 429, 500, 503, latency, drops.

    Each rule draws independently, in order, so the share faulted is 1 - prod(1 - p) ~ 0.25.
    """
    return [
        FaultRule(path_regex=ARM, kind="throttle", probability=0.08, retry_after=ARM_RETRY_AFTER),
        # Graph sees fewer requests per onboarding than ARM; a higher share gives the gap check
        # enough measurable Graph 429s in one batch.
        FaultRule(
            path_regex=GRAPH, kind="throttle", probability=0.12, retry_after=GRAPH_RETRY_AFTER
        ),
        FaultRule(path_regex=AZURE, kind="error", status=500, probability=0.05),
        FaultRule(path_regex=AZURE, kind="error", status=503, probability=0.05, retry_after=1),
        FaultRule(path_regex=AZURE, kind="latency", latency_ms=400, probability=0.06),
        FaultRule(path_regex=AZURE, kind="drop", probability=0.04),
    ]


def azure_requests(records: Iterable[RequestRecord]) -> list[RequestRecord]:
    """The worker's ARM and Graph requests in arrival order (the log is in completion order)."""
    return sorted((r for r in records if re.match(AZURE, r.path)), key=lambda r: r.time)


def faults_by_kind(records: Iterable[RequestRecord]) -> Counter[str]:
    """How many requests each kind of fault hit; 429 and 5xx are told apart by status."""
    counts: Counter[str] = Counter()
    for record in records:
        if record.fault is None:
            continue
        if record.fault == "error":
            counts[f"error_{record.status}"] += 1
        else:
            counts[record.fault] += 1
    return counts


@dataclass(frozen=True)
class ThrottleGap:
    method: str
    path: str
    retry_after: float
    gap: float


def owner_markers(fleet: Sequence[Onboarding], outcomes_resources: Iterable[str]) -> list[str]:
    """Strings that appear only in paths of one onboarding: tenant ids, DES names, app ids."""
    markers = [o.customer.tenant_id.lower() for o in fleet]
    markers += [o.request.des_name.lower() for o in fleet]
    return markers + [m.lower() for m in outcomes_resources]


def single_caller(path: str, markers: Sequence[str]) -> bool:
    """True when only one onboarding ever calls `path`, so its next request is that caller's retry.

    A long-running operation's status URL is unique to the create that started it. Paths of the
    shared identity (app, its credentials, the identity) and of the subscription's feature are
    called by every onboarding at once: the next request there may be another workflow's first.
    """
    lowered = path.lower()
    return "/diskoperations/" in lowered or any(marker in lowered for marker in markers)


def throttle_gaps(
    records: Sequence[RequestRecord], retry_after_of: dict[str, float], markers: Sequence[str]
) -> tuple[list[ThrottleGap], int]:
    """For each 429 on a single-caller path, the time to the next request to the same method+path.

    Returns the gaps and how many 429s were not measurable (shared path, or never called again,
    e.g. an operation URL abandoned because the retried create started a new operation).
    """
    ordered = sorted(records, key=lambda r: r.time)
    gaps: list[ThrottleGap] = []
    unmeasured = 0
    for index, record in enumerate(ordered):
        if record.status != 429 or record.fault != "throttle":
            continue
        following = next(
            (
                later
                for later in ordered[index + 1 :]
                if later.method == record.method and later.path == record.path
            ),
            None,
        )
        if following is None or not single_caller(record.path, markers):
            unmeasured += 1
            continue
        family = "graph" if record.path.startswith("/v1.0/") else "arm"
        gaps.append(
            ThrottleGap(
                record.method, record.path, retry_after_of[family], following.time - record.time
            )
        )
    return gaps, unmeasured


def expected_resources(fleet: Sequence[Onboarding]) -> dict[str, int]:
    """What a clean run leaves: one shared identity chain (if any onboarding shares it), one per
    isolated onboarding, one DES per onboarding, and no test disk."""
    isolated = sum(1 for o in fleet if o.request.policy.identity_mode == "isolated")
    chains = isolated + (1 if isolated < len(fleet) else 0)
    return {
        "applications": chains,
        "federated_credentials": chains,
        "managed_identities": chains,
        "disk_encryption_sets": len(fleet),
        "disks": 0,
    }


RESOURCE_KINDS = (
    "applications",
    "federated_credentials",
    "managed_identities",
    "disk_encryption_sets",
    "disks",
)


def resource_report(
    before: dict[str, Any], after: dict[str, Any], isv: IsvTenant
) -> tuple[dict[str, int], list[str]]:
    """What the onboardings added to the ISV (the kinds expected_resources names; the ISV tenant
    starts with the worker's own app registration), and every name that exists twice."""
    old, new = count_resources(before, isv), count_resources(after, isv)
    return {k: new.get(k, 0) - old.get(k, 0) for k in RESOURCE_KINDS}, duplicated_names(after, isv)


async def mixed_fleet(
    control: EmulatorControl, isv: IsvTenant, shared: int, isolated: int
) -> list[Onboarding]:
    """Onboardings of both identity modes: `shared` ones race for the ISV's one app, identity and
    credential; `isolated` ones each create their own chain."""
    fleet = await new_fleet(control, isv, shared)
    return fleet + await new_fleet(control, isv, isolated, policy={"identity_mode": "isolated"})


def assert_exactly_one_of_each(
    before: dict[str, Any], after: dict[str, Any], fleet: Sequence[Onboarding], isv: IsvTenant
) -> dict[str, int]:
    """What every reliability test ends with: nothing duplicated, nothing missing, no test disk
    left, and each DES wired to its own chain. Returns what the onboardings added."""
    counts, duplicates = resource_report(before, after, isv)
    assert duplicates == [], f"created twice: {duplicates}"
    assert counts == expected_resources(fleet)
    assert wiring_problems(after, fleet, isv) == []
    return counts


def wiring_problems(
    snapshot: dict[str, Any], fleet: Sequence[Onboarding], isv: IsvTenant
) -> list[str]:
    """Each onboarding's DES trusts its own chain: the app and identity its mode names, and that
    app's one federated credential trusts that identity. Counts alone miss a credential put on
    the wrong app: the totals stay the same."""
    apps = {
        str(a.get("uniqueName", "")).lower(): a
        for a in snapshot["tenants"][isv.tenant_id.lower()]["applications"].values()
    }
    resources = snapshot["resources"]
    problems: list[str] = []
    for onboarding in fleet:
        request = onboarding.request
        app = apps.get(plan.app_unique_name(request).lower())
        identity = resources.get(plan.identity_id(request).lower())
        des = resources.get(plan.encryption_set_id(request).lower())
        if app is None or identity is None or des is None:
            problems.append(f"{onboarding.workflow_id}: app, identity or DES missing")
            continue
        principal = identity["properties"]["principalId"]
        credentials = app.get("federatedIdentityCredentials", [])
        if [c["subject"] for c in credentials] != [principal]:
            problems.append(
                f"{onboarding.workflow_id}: app {app['uniqueName']} has credentials for "
                f"{[c['subject'] for c in credentials]}, expected only {principal}"
            )
        if des["properties"].get("federatedClientId") != app["appId"]:
            problems.append(
                f"{onboarding.workflow_id}: DES federatedClientId "
                f"{des['properties'].get('federatedClientId')} is not {app['appId']}"
            )
        if [i.lower() for i in des["identity"]["userAssignedIdentities"]] != [
            identity["id"].lower()
        ]:
            problems.append(f"{onboarding.workflow_id}: DES does not use {identity['id']}")
    return problems


async def print_progress(client: Any, task_queue: str, every: float = 20.0) -> None:
    """Print how many onboardings are at each stage until cancelled: where a slow run waits."""
    import asyncio
    import time

    from models.search_attributes import STAGE

    started = time.monotonic()
    while True:
        await asyncio.sleep(every)
        stages: Counter[str] = Counter()
        async for execution in client.list_workflows(f'TaskQueue = "{task_queue}"'):
            stages[str(execution.typed_search_attributes.get(STAGE))] += 1
        print(f"  progress {time.monotonic() - started:5.0f}s: {dict(sorted(stages.items()))}")


def failures_of(outcomes: Iterable[Outcome]) -> list[str]:
    return [f"{o.workflow_id}: {o.failure}" for o in outcomes if not o.completed]
