"""Drive N workflows whose customer answers at once, and time them from the server's records.

The same loop serves the onboarding and the floor: start all, send the customer's signal to each one
as soon as visibility shows it waiting (CmkStage = awaiting-customer), and read the close times back
from visibility. Throughput is N over (last close - first start); latency is close - signal sent.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus

from bench.floor import FLOOR_WORKFLOW
from client import operations
from client.connection import TemporalTarget
from harness import fleet
from models import SIGNAL_CUSTOMER_SETUP_COMPLETE, CustomerSetupComplete

DRIVER_CONCURRENCY = 50
IDLE_POLL = 0.2


@dataclass(frozen=True)
class Job:
    """One workflow to start and the signal body its customer sends."""

    workflow_id: str
    start: Callable[[], Awaitable[object]]
    signal_body: Any


@dataclass
class RunResult:
    size: int
    started_at: float
    signalled_at: dict[str, float] = field(default_factory=dict)
    closed_at: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return max(self.closed_at.values(), default=self.started_at) - self.started_at

    @property
    def throughput(self) -> float:
        completed = len(self.closed_at) - len(self.failed)
        return completed / self.elapsed if self.elapsed > 0 else 0.0

    def latencies(self) -> list[float]:
        return sorted(
            self.closed_at[w] - sent for w, sent in self.signalled_at.items() if w in self.closed_at
        )


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values (0.0 when empty)."""
    if not values:
        return 0.0
    rank = max(1, round(share * len(values)))
    return values[min(rank, len(values)) - 1]


async def _bounded(calls: list[Callable[[], Awaitable[object]]]) -> None:
    limit = asyncio.Semaphore(DRIVER_CONCURRENCY)

    async def one(call: Callable[[], Awaitable[object]]) -> None:
        async with limit:
            await call()

    await asyncio.gather(*(one(c) for c in calls))


async def _closed_count(client: Client, task_queue: str) -> int:
    query = f'TaskQueue = "{task_queue}" AND ExecutionStatus != "Running"'
    return (await client.count_workflows(query)).count


async def _read_closes(
    client: Client, task_queue: str, result: RunResult, wanted: Collection[str]
) -> None:
    query = f'TaskQueue = "{task_queue}" AND ExecutionStatus != "Running"'
    async for execution in client.list_workflows(query, page_size=1000):
        if execution.close_time is None or execution.id not in wanted:
            continue
        result.closed_at[execution.id] = execution.close_time.timestamp()
        if execution.status != WorkflowExecutionStatus.COMPLETED:
            result.failed[execution.id] = str(execution.status)


async def drive(client: Client, task_queue: str, jobs: list[Job], *, within: float) -> RunResult:
    """Start every job on `task_queue` (fresh, used by nothing else) and run it to its end."""
    by_id = {job.workflow_id: job for job in jobs}
    result = RunResult(size=len(jobs), started_at=time.time())

    async def send(workflow_id: str) -> None:
        handle = client.get_workflow_handle(workflow_id)
        await handle.signal(SIGNAL_CUSTOMER_SETUP_COMPLETE, by_id[workflow_id].signal_body)
        result.signalled_at[workflow_id] = time.time()

    # Earlier runs on the queue (the warm-up, smaller sizes) are already closed: count past them.
    done_before = await _closed_count(client, task_queue)
    async with asyncio.timeout(within):
        await _bounded([job.start for job in jobs])
        while await _closed_count(client, task_queue) < done_before + len(jobs):
            waiting = await fleet.awaiting_customer(client, task_queue)
            ready = (waiting & by_id.keys()) - result.signalled_at.keys()
            await _bounded([lambda w=w: send(w) for w in ready])  # type: ignore[misc]
            if not ready:
                await asyncio.sleep(IDLE_POLL)
    await _read_closes(client, task_queue, result, by_id.keys())
    return result


def onboarding_jobs(
    client: Client, target: TemporalTarget, prepared: list[tuple[fleet.Onboarding, str]]
) -> list[Job]:
    """Onboardings whose customers already did their part; `prepared` pairs each with its key."""
    jobs = []
    for onboarding, key_url in prepared:
        body = CustomerSetupComplete(
            key_url=key_url, customer_tenant_id=onboarding.customer.tenant_id
        )
        request = onboarding.request
        jobs.append(
            Job(
                onboarding.workflow_id,
                lambda r=request: operations.start_onboarding(client, target, r),  # type: ignore[misc]
                body,
            )
        )
    return jobs


def floor_jobs(client: Client, task_queue: str, count: int) -> list[Job]:
    run = uuid.uuid4().hex[:8]
    jobs = []
    for index in range(count):
        workflow_id = f"bench-floor-{run}-{index}"
        jobs.append(
            Job(
                workflow_id,
                lambda w=workflow_id: client.start_workflow(  # type: ignore[misc]
                    FLOOR_WORKFLOW, {}, id=w, task_queue=task_queue
                ),
                {},
            )
        )
    return jobs
