"""A new run with the id of a completed onboarding is refused by the workflow itself."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.run_history import RunHistoryActivities
from harness.fake_azure import FakeAzure
from harness.fake_onboarding import KEY_URL, make_request
from harness.polling import assert_eventually
from models import CustomerSetupComplete, ErrorType, Stage, workflow_id_for
from workflows import WORKFLOWS, CmkOnboardingWorkflow
from workflows.task_queues import azure_writes_task_queue, des_writes_task_queue


async def test_second_run_of_a_completed_onboarding_fails_before_notifying(
    dev_env: WorkflowEnvironment,
) -> None:
    """`temporal workflow start` with ALLOW_DUPLICATE after a completed onboarding: the new run
    fails with OnboardingAlreadyCompleted naming the earlier run, and sends nothing."""
    fake = FakeAzure()
    activities = [
        *(a for a in fake.activities() if a.__name__ != "earlier_completed_run"),
        RunHistoryActivities(dev_env.client).earlier_completed_run,
    ]
    task_queue = f"tq-{uuid.uuid4()}"
    request = make_request()
    workflow_id = workflow_id_for(request["customer_tenant_id"], request["des_name"])
    async with (
        Worker(dev_env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=activities),
        Worker(
            dev_env.client, task_queue=azure_writes_task_queue(task_queue), activities=activities
        ),
        Worker(dev_env.client, task_queue=des_writes_task_queue(task_queue), activities=activities),
    ):
        first = await dev_env.client.start_workflow(
            CmkOnboardingWorkflow.run, request, id=workflow_id, task_queue=task_queue
        )

        async def awaiting() -> None:
            status = await first.query(CmkOnboardingWorkflow.status)
            assert status.stage == Stage.AWAITING_CUSTOMER

        await assert_eventually(awaiting, within=30)
        await first.signal(
            CmkOnboardingWorkflow.customer_setup_complete, CustomerSetupComplete(key_url=KEY_URL)
        )
        await first.result()
        sent = len(fake.notifications)
        second = await dev_env.client.start_workflow(
            CmkOnboardingWorkflow.run,
            request,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
        # Without the check the new run would wait for the customer again, for days.
        with pytest.raises(WorkflowFailureError) as failure:
            async with asyncio.timeout(60):
                await second.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == ErrorType.ALREADY_COMPLETED and cause.non_retryable
    assert first.result_run_id and first.result_run_id in cause.message
    assert "starter.py status" in cause.message
    assert len(fake.notifications) == sent
