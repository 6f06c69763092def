"""Each activity runs on the task queue its call profile names: DES creates on the queue paced at
DiskRP's DES limit, the other per-onboarding ARM writes on the writes queue, the rest at home."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from harness.fake_azure import FakeAzure
from harness.fake_onboarding import KEY_URL, running
from harness.polling import assert_eventually
from models import ActivityName as A
from models import Stage
from workflows.task_queues import azure_writes_task_queue, des_writes_task_queue

DES_QUEUE = {A.CREATE_ENCRYPTION_SET}
WRITES_QUEUE = {
    A.CREATE_TEST_DISK,
    A.DELETE_TEST_DISK,
    A.DELETE_ENCRYPTION_SET,
    A.DELETE_MANAGED_IDENTITY,
}


def _queue_kinds(fake: FakeAzure, home: str) -> dict[A, set[str]]:
    names = {
        home: "workflow",
        des_writes_task_queue(home): "des-writes",
        azure_writes_task_queue(home): "azure-writes",
    }
    kinds: dict[A, set[str]] = {}
    for activity, queue in fake.queues:
        kinds.setdefault(activity, set()).add(names[queue])
    return kinds


def _expected(activity: A) -> str:
    if activity in DES_QUEUE:
        return "des-writes"
    return "azure-writes" if activity in WRITES_QUEUE else "workflow"


async def test_des_create_runs_on_the_des_queue_other_writes_on_the_writes_queue(
    env: WorkflowEnvironment,
) -> None:
    """Happy path: DES create on `-des-writes`; test disk create/delete on `-azure-writes`."""
    async with running(env, key_url=KEY_URL) as onboarding:
        await onboarding.handle.result()
        home = (await onboarding.handle.describe()).task_queue
    kinds = _queue_kinds(onboarding.fake, home)
    assert kinds[A.CREATE_ENCRYPTION_SET] == {"des-writes"}
    assert kinds[A.CREATE_TEST_DISK] == kinds[A.DELETE_TEST_DISK] == {"azure-writes"}
    assert {activity: {_expected(activity)} for activity in kinds} == kinds


async def test_compensation_deletes_run_on_the_writes_queue(env: WorkflowEnvironment) -> None:
    """A cancelled onboarding's ARM deletes (DES included) go through the writes queue: DiskRP
    counts only DES create/update against its DES limit."""
    fake = FakeAzure()
    fake.fail_with_customer_issues(A.CREATE_TEST_DISK, "key_disabled")
    async with running(env, fake, key_url=KEY_URL) as onboarding:

        async def failed_once() -> None:
            status = await onboarding.status()
            assert status.stage == Stage.AWAITING_CUSTOMER and status.attempts

        await assert_eventually(failed_once)
        await onboarding.handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await onboarding.handle.result()
        home = (await onboarding.handle.describe()).task_queue
    kinds = _queue_kinds(fake, home)
    assert kinds[A.DELETE_ENCRYPTION_SET] == {"azure-writes"}
    assert kinds[A.CREATE_ENCRYPTION_SET] == {"des-writes"}
    assert {activity: {_expected(activity)} for activity in kinds} == kinds
