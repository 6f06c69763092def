"""Issue 5, item 1: the worker process is SIGKILLed at every stage of an onboarding, in turn.

A batch of onboardings runs on one worker.py process at a time. Whenever some onboarding reaches
the next stage with an Azure activity started (or, for the customer hand-off, parked on its
timers), the worker is killed with SIGKILL, the way an OOM kill or a lost host ends it, and a fresh
worker process takes over. The killed activities are retried on the new worker once their
heartbeat timeout passes; a workflow task lost with the worker moves off its sticky queue.

Every onboarding must complete, and the emulator must hold exactly one app, identity, federated
credential and DES per chain, with no test disk left over: a crash neither loses work nor repeats
a create.

Every Azure request is slowed down (latency fault on all of them), so that a stage lasts long
enough to be caught with its activity in flight: otherwise the kill could land between
activities and prove less than it claims. Each kill asserts what was in flight when it landed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client

from emulator.control import FaultRule
from harness.fleet import Onboarding, Progress, play_customers, result_of, start_all, unless_failed
from harness.polling import assert_eventually
from models import Stage
from models.search_attributes import STAGE
from tests.reliability.conftest import ReliabilityStack
from tests.reliability.fault_fixtures import (
    AZURE,
    assert_exactly_one_of_each,
    failures_of,
    mixed_fleet,
)

SHARED = 2
ISOLATED = 2
# Long enough that a stage's activity is reliably in flight when polled; short enough that the
# whole run, with four activities lost to kills, stays around two minutes.
AZURE_LATENCY_MS = 1000
POLL_INTERVAL = 0.3
# Stages with an Azure activity to kill mid-flight, and the hand-off where nothing runs.
KILL_STAGES_BEFORE_CUSTOMER = (Stage.REGISTERING_FEATURE, Stage.ENSURING_IDENTITY)
KILL_STAGES_AFTER_CUSTOMER = (Stage.CREATING_ENCRYPTION_SET, Stage.VERIFYING)


@dataclass(frozen=True)
class Kill:
    stage: Stage
    workflow_id: str
    # Activity types started on the killed worker for that workflow (empty when parked).
    in_flight: tuple[str, ...]
    pid: int | None


async def _describe(client: Client, onboarding: Onboarding) -> tuple[str | None, list[str]]:
    description = await client.get_workflow_handle(onboarding.workflow_id).describe()
    started = [
        activity.activity_type.name
        for activity in description.raw_description.pending_activities
        if activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    ]
    return description.typed_search_attributes.get(STAGE), started


async def _wait_for(
    client: Client,
    fleet: Sequence[Onboarding],
    stage: Stage,
    *,
    with_activity: bool,
    within: float = 180.0,
) -> tuple[str, tuple[str, ...]]:
    """The first onboarding seen in `stage` with an activity started (or, without, parked)."""

    async def seen() -> tuple[str, tuple[str, ...]]:
        for onboarding in fleet:
            current, started = await _describe(client, onboarding)
            if current == stage.value and with_activity == bool(started):
                return onboarding.workflow_id, tuple(started)
        how = "with an activity started" if with_activity else "parked"
        raise AssertionError(f"no onboarding in {stage.value} {how} within {within:.0f}s")

    return await assert_eventually(seen, within=within, interval=POLL_INTERVAL)


async def _kill_at(
    stack: ReliabilityStack,
    fleet: Sequence[Onboarding],
    stage: Stage,
    *,
    with_activity: bool = True,
) -> Kill:
    workflow_id, in_flight = await _wait_for(
        stack.client, fleet, stage, with_activity=with_activity
    )
    worker = stack.workers[-1]
    pid = worker.pid
    worker.kill()
    stack.start_workers(1)
    print(f"  SIGKILL worker {pid} at {stage.value} of {workflow_id}, in flight: {in_flight}")
    return Kill(stage, workflow_id, in_flight, pid)


@pytest.mark.timeout(600)
async def test_worker_killed_at_every_stage_loses_nothing_and_repeats_nothing(
    reliability_stack: ReliabilityStack,
) -> None:
    stack = reliability_stack
    control = stack.emulator.control
    fleet = await mixed_fleet(control, stack.isv, SHARED, ISOLATED)
    before = await control.snapshot()
    await control.set_faults(
        [FaultRule(path_regex=AZURE, kind="latency", latency_ms=AZURE_LATENCY_MS)]
    )
    stack.start_workers(1)

    started = time.monotonic()
    await start_all(stack.client, stack.target, fleet)
    kills = [await _kill_at(stack, fleet, stage) for stage in KILL_STAGES_BEFORE_CUSTOMER]
    # Parked on the deadline and reminder timers: the state lives only in the history now.
    kills.append(await _kill_at(stack, fleet, Stage.AWAITING_CUSTOMER, with_activity=False))
    progress = Progress()
    customers = asyncio.create_task(
        play_customers(stack.client, stack.target, control, fleet, progress)
    )
    try:
        for stage in KILL_STAGES_AFTER_CUSTOMER:
            kills.append(await unless_failed(customers, _kill_at(stack, fleet, stage)))
        outcomes = await unless_failed(
            customers,
            asyncio.wait_for(
                asyncio.gather(*(result_of(stack.client, o.workflow_id, progress) for o in fleet)),
                timeout=300,
            ),
        )
    finally:
        customers.cancel()
    elapsed = time.monotonic() - started
    await control.clear_faults()

    assert [k.stage for k in kills] == [
        *KILL_STAGES_BEFORE_CUSTOMER,
        Stage.AWAITING_CUSTOMER,
        *KILL_STAGES_AFTER_CUSTOMER,
    ]
    mid_activity = [k for k in kills if k.stage != Stage.AWAITING_CUSTOMER]
    assert all(k.in_flight for k in mid_activity), kills
    assert failures_of(outcomes) == []
    snapshot = await control.snapshot()
    counts = assert_exactly_one_of_each(before, snapshot, fleet, stack.isv)
    print(
        f"\n{len(kills)} worker crashes survived ({sum(len(k.in_flight) for k in kills)} "
        f"activities killed in flight), {len(fleet)} onboardings completed in {elapsed:.1f}s; "
        f"resources {counts}; duplicates 0"
    )
