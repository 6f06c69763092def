"""The heartbeat interceptor keeps a long activity alive and lets a lost one be retried quickly.

Both run against a real dev server, because heartbeat timeouts are enforced by the server.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Interceptor, UnsandboxedWorkflowRunner, Worker

from activities.keep_alive import HeartbeatWhileRunning

HEARTBEAT_TIMEOUT = timedelta(seconds=1)
# Several heartbeat timeouts long, and never heartbeating by itself.
WORK = 3.5


@activity.defn
async def slow_call() -> str:
    await asyncio.sleep(WORK)
    return "done"


@workflow.defn
class SlowCallWorkflow:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            slow_call,
            start_to_close_timeout=timedelta(minutes=1),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


async def _run(env: WorkflowEnvironment, interceptors: list[Interceptor]) -> str:
    task_queue = f"keep-alive-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[SlowCallWorkflow],
        activities=[slow_call],
        interceptors=interceptors,
        # The workflow lives in this test module, which the sandbox would re-import.
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        return await env.client.execute_workflow(
            SlowCallWorkflow.run, id=task_queue, task_queue=task_queue
        )


async def test_an_activity_longer_than_its_heartbeat_timeout_completes(
    dev_server: WorkflowEnvironment,
) -> None:
    assert await _run(dev_server, [HeartbeatWhileRunning()]) == "done"


async def test_without_the_interceptor_the_same_activity_times_out_on_heartbeat(
    dev_server: WorkflowEnvironment,
) -> None:
    """The control: proves the first test needs the interceptor, i.e. the server enforces it."""
    with pytest.raises(WorkflowFailureError) as raised:
        await _run(dev_server, [])
    cause = raised.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, TimeoutError)
    assert cause.cause.type == TimeoutType.HEARTBEAT
