"""Issue 5, items 2 and 5: the Temporal server and the emulator restart under running onboardings.

Item 2: the dev server (history in its database file) is stopped and started again on the same
port four times: while identity activities are in flight, while every onboarding waits for its
customer (durable timers and visibility), while the disk encryption sets are being created after
the customers' signals, and, killed with SIGKILL (DevServer has no kill(), so the test kills its
process), while the test disks are created. The worker processes and the test's client are not
restarted; they reconnect by themselves.

Item 5: the emulator (state persisted after every request) is stopped (SIGTERM, or SIGKILL
twice) and started again on the same port and data directory: while identity activities are in
flight, while every onboarding waits for its customer, while the encryption sets' long-running
operations are pending, and while the test disks are created. Its tokens, tenants, resources and
operations survive; the activities see connection errors and retry.

Every restart that claims to hit running activities first waits until at least one activity of the
stage is started on a worker (the server's `pending_activities`), so the test cannot silently
restart between activities; afterwards the workflow histories show how each of those activities
finished (on which attempt, how long after the restart). Every onboarding must complete, and the
emulator must hold exactly the expected resources, each once, wired to its own chain.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client

from emulator.control import EmulatorControl, FaultRule
from harness.fleet import (
    Onboarding,
    Outcome,
    Progress,
    awaiting_customer,
    complete_customer,
    result_of,
    start_all,
)
from harness.polling import assert_eventually
from models import ActivityName
from tests.reliability.conftest import ReliabilityStack
from tests.reliability.fault_fixtures import (
    assert_exactly_one_of_each,
    failures_of,
    mixed_fleet,
)

SHARED = 3
ISOLATED = 2
WORKERS = 2
# How long the emulator holds the identity creates (a latency fault) and each disk long-running
# operation (its lro_delay), so a restart reliably lands while those activities run.
SLOW_WRITE_MS = 3000
LRO_DELAY = 3.0
# A run takes 15-30 s; the margin is for an activity whose result was lost with the server and is
# retried only after its start-to-close timeout (2 minutes for a single Azure call).
WITHIN = 200.0

IDENTITY_ACTIVITIES = {ActivityName.ENSURE_APPLICATION, ActivityName.ENSURE_MANAGED_IDENTITY}
ENCRYPTION_SET_ACTIVITIES = {ActivityName.CREATE_ENCRYPTION_SET}
# verify_encryption_set runs beside it but is one quick GET: too short to aim a restart at.
TEST_DISK_ACTIVITIES = {ActivityName.CREATE_TEST_DISK}
SLOW_IDENTITY_WRITES = [
    FaultRule(
        method="PATCH",
        path_regex=r"^/v1\.0/applications\(uniqueName=",
        kind="latency",
        latency_ms=SLOW_WRITE_MS,
    ),
    FaultRule(
        method="PUT",
        path_regex=r"/userAssignedIdentities/[^/]+$",
        kind="latency",
        latency_ms=SLOW_WRITE_MS,
    ),
]


@dataclass(frozen=True)
class InFlight:
    """An activity the server saw started on a worker just before a restart."""

    workflow_id: str
    activity_id: str
    activity_type: str
    attempt: int


@dataclass
class Restart:
    what: str
    when: str
    down_at: float  # time.time(), comparable with history event times
    up_at: float
    in_flight: list[InFlight] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.up_at - self.down_at


async def started_activities(client: Client, workflow_ids: Iterable[str]) -> list[InFlight]:
    """Every activity of these workflows that a worker has started and not yet finished."""

    async def of(workflow_id: str) -> list[InFlight]:
        description = await client.get_workflow_handle(workflow_id).describe()
        return [
            InFlight(workflow_id, p.activity_id, p.activity_type.name, p.attempt)
            for p in description.raw_description.pending_activities
            if p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        ]

    found = await asyncio.gather(*(of(w) for w in workflow_ids))
    return [a for per_workflow in found for a in per_workflow]


async def when_in_flight(
    client: Client, fleet: list[Onboarding], types: set[ActivityName], within: float = 60.0
) -> list[InFlight]:
    """Wait until at least one activity of `types` runs on a worker; return all that do."""
    ids = [o.workflow_id for o in fleet]

    async def running() -> list[InFlight]:
        found = [a for a in await started_activities(client, ids) if a.activity_type in types]
        assert found, f"no {sorted(types)} activity started in {within}s"
        return found

    return await assert_eventually(running, within=within, interval=0.05)


async def when_all_await_customers(
    client: Client, task_queue: str, fleet: list[Onboarding], within: float = 60.0
) -> None:
    ids = {o.workflow_id for o in fleet}

    async def all_wait() -> None:
        waiting = await awaiting_customer(client, task_queue) & ids
        assert waiting == ids, f"only {len(waiting)} of {len(ids)} wait"

    await assert_eventually(all_wait, within=within, interval=0.2)


async def restart(
    restarts: list[Restart],
    what: str,
    when: str,
    do_restart: Callable[[], Awaitable[None]],
    in_flight: list[InFlight] | None = None,
) -> None:
    down_at = time.time()
    await do_restart()
    restarts.append(Restart(what, when, down_at, time.time(), in_flight or []))


@dataclass(frozen=True)
class Ending:
    """How an activity that was in flight at a restart ended, from its workflow's history."""

    activity: InFlight
    attempt: int | None  # None: it never completed
    completed_at: float | None  # time.time() of ActivityTaskCompleted

    def describe(self, restart_: Restart) -> str:
        if self.completed_at is None:
            return f"{self.activity.activity_type} of {self.activity.workflow_id}: never completed"
        after = self.completed_at - restart_.up_at
        return f"{self.activity.activity_type} attempt {self.attempt}, completed {after:+.1f}s"


async def how_in_flight_ended(client: Client, restart_: Restart) -> list[Ending]:
    endings: list[Ending] = []
    for activity in restart_.in_flight:
        events = (await client.get_workflow_handle(activity.workflow_id).fetch_history()).events
        scheduled = next(
            e.event_id
            for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_id == activity.activity_id
        )
        completed = next(
            (
                e
                for e in events
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
                and e.activity_task_completed_event_attributes.scheduled_event_id == scheduled
            ),
            None,
        )
        if completed is None:
            endings.append(Ending(activity, None, None))
            continue
        started_id = completed.activity_task_completed_event_attributes.started_event_id
        started = next(e for e in events if e.event_id == started_id)
        endings.append(
            Ending(
                activity,
                started.activity_task_started_event_attributes.attempt,
                completed.event_time.ToMicroseconds() / 1e6,
            )
        )
    return endings


async def results(
    client: Client, fleet: list[Onboarding], progress: Progress, within: float
) -> list[Outcome]:
    async with asyncio.timeout(within):
        return list(
            await asyncio.gather(*(result_of(client, o.workflow_id, progress) for o in fleet))
        )


async def complete_customers(
    client: Client, control: EmulatorControl, fleet: list[Onboarding], progress: Progress
) -> None:
    async def one(onboarding: Onboarding) -> None:
        progress.submitted_at[onboarding.workflow_id] = await complete_customer(
            client, control, onboarding
        )

    await asyncio.gather(*(one(o) for o in fleet))


async def report(
    stack: ReliabilityStack,
    fleet: list[Onboarding],
    outcomes: list[Outcome],
    restarts: list[Restart],
    before: dict[str, Any],
    elapsed: float,
    title: str,
) -> None:
    control = stack.emulator.control
    print(f"\n{title}: {len(restarts)} restarts, {len(fleet)} onboardings, {elapsed:.1f}s")
    endings: dict[str, list[Ending]] = {}
    for done in restarts:
        endings[done.when] = await how_in_flight_ended(stack.client, done)
        print(
            f"  {done.what} restart {done.when}: down {done.seconds:.1f}s; "
            f"in flight {len(done.in_flight)}: "
            f"{'; '.join(e.describe(done) for e in endings[done.when]) or '-'}"
        )
    assert failures_of(outcomes) == []
    for done in restarts:
        never = [e.describe(done) for e in endings[done.when] if e.completed_at is None]
        assert never == [], f"in flight at the restart {done.when}"
        # The restart really cut through running activities: at least one that had started
        # before the component went down had its result recorded after it was back.
        if done.in_flight:
            assert any(
                e.completed_at is not None and e.completed_at > done.up_at
                for e in endings[done.when]
            ), f"every activity in flight at the restart {done.when} finished before it"
    after = await control.snapshot()
    counts = assert_exactly_one_of_each(before, after, fleet, stack.isv)
    print(f"  resources {counts}; duplicates 0")


@pytest.mark.timeout(300)
async def test_onboardings_complete_across_temporal_server_restarts(
    reliability_stack: ReliabilityStack,
) -> None:
    stack = reliability_stack
    control = stack.emulator.control
    client, queue = stack.client, stack.target.task_queue
    fleet = await mixed_fleet(control, stack.isv, SHARED, ISOLATED)
    ids = {o.workflow_id for o in fleet}
    stack.start_workers(WORKERS)
    before = await control.snapshot()
    restarts: list[Restart] = []
    progress = Progress()
    started = time.monotonic()

    # 1. Mid-activity: the Graph app upsert and the identity PUT are held by the emulator, so the
    # workers are inside ensure_application / ensure_managed_identity when the server goes away
    # and report their results to the restarted server.
    await control.set_faults(SLOW_IDENTITY_WRITES)
    await start_all(client, stack.target, fleet)
    running = await when_in_flight(client, fleet, IDENTITY_ACTIVITIES)
    await restart(restarts, "server", "during identity", stack.server.restart, running)
    await control.clear_faults()

    # 2. Every onboarding waits for its customer: a timer and the AWAITING_CUSTOMER search
    # attribute, both of which must come back from the database file.
    await when_all_await_customers(client, queue, fleet)
    await restart(restarts, "server", "awaiting customers", stack.server.restart)
    assert await awaiting_customer(client, queue) & ids == ids, "stages lost in the restart"

    # 3. Mid-activity: the customers' signals are in, the workers poll the encryption sets'
    # long-running operations (create_encryption_set) when the server goes away.
    await control.set_lro_delay(LRO_DELAY)
    await complete_customers(client, control, fleet, progress)
    running = await when_in_flight(client, fleet, ENCRYPTION_SET_ACTIVITIES)
    await restart(restarts, "server", "during encryption sets", stack.server.restart, running)

    # 4. A crash: SIGKILL while create_test_disk polls the test disk's long-running operation.
    # Nothing is flushed on the way down; what the server acknowledged must be in the database.
    async def crash_server() -> None:
        await stack.server.restart(crash=True)

    running = await when_in_flight(client, fleet, TEST_DISK_ACTIVITIES)
    await restart(restarts, "server", "during test disks (SIGKILL)", crash_server, running)

    outcomes = await results(client, fleet, progress, WITHIN)
    elapsed = time.monotonic() - started
    await report(stack, fleet, outcomes, restarts, before, elapsed, "Temporal server restarts")
    assert [bool(r.in_flight) for r in restarts] == [True, False, True, True]


@pytest.mark.timeout(300)
async def test_onboardings_complete_across_emulator_restarts_with_persisted_state(
    persistent_stack: ReliabilityStack,
) -> None:
    stack = persistent_stack
    client, queue = stack.client, stack.target.task_queue
    fleet = await mixed_fleet(stack.emulator.control, stack.isv, SHARED, ISOLATED)
    stack.start_workers(WORKERS)
    before = await stack.emulator.control.snapshot()
    restarts: list[Restart] = []
    progress = Progress()

    async def emulator_restart(kill: bool) -> None:
        await stack.restart_emulator(kill=kill)

    started = time.monotonic()
    # 1. SIGKILL while the identity creates are held (latency fault): the requests in flight die
    # with their connections and the activities retry against the restarted emulator. The fault
    # rules are not persisted, so the restarted emulator answers at once.
    await stack.emulator.control.set_faults(SLOW_IDENTITY_WRITES)
    await start_all(client, stack.target, fleet)
    running = await when_in_flight(client, fleet, IDENTITY_ACTIVITIES)
    await restart(
        restarts, "emulator", "during identity (SIGKILL)", lambda: emulator_restart(True), running
    )

    # 2. Every onboarding waits for its customer: the customers then set up their side in the
    # restarted emulator, which must still know the tenants and the ISV apps they consent to.
    await when_all_await_customers(client, queue, fleet)
    await restart(restarts, "emulator", "awaiting customers", lambda: emulator_restart(False))
    await stack.emulator.control.set_lro_delay(LRO_DELAY)
    await complete_customers(client, stack.emulator.control, fleet, progress)

    # 3. SIGKILL while create_encryption_set polls a pending long-running operation: the
    # operation and the DES being created must come back from the persisted state.
    running = await when_in_flight(client, fleet, ENCRYPTION_SET_ACTIVITIES)
    await restart(
        restarts,
        "emulator",
        "during encryption sets (SIGKILL)",
        lambda: emulator_restart(True),
        running,
    )

    # 4. SIGTERM while create_test_disk polls the test disk's long-running operation.
    running = await when_in_flight(client, fleet, TEST_DISK_ACTIVITIES)
    await restart(
        restarts, "emulator", "during verification", lambda: emulator_restart(False), running
    )

    outcomes = await results(client, fleet, progress, WITHIN)
    elapsed = time.monotonic() - started
    await report(stack, fleet, outcomes, restarts, before, elapsed, "Emulator restarts")
    assert [bool(r.in_flight) for r in restarts] == [True, False, True, True]
