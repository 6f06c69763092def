"""Offboarding on the time-skipping server with fakes: refuses while in use, deletes only what is
the customer's, stops the watch, is idempotent."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from harness.fake_onboarding import record_history, workers_on
from models.lifecycle import OffboardInput, WatchInput, watch_workflow_id
from tests.workflows.fake_lifecycle import RG, FakeKeyChain, deployment
from workflows import CmkKeyHealthWatchWorkflow, CmkOffboardingWorkflow
from workflows.offboarding import ENCRYPTION_SET_IN_USE, ENCRYPTION_SET_NOT_OURS


async def offboard(
    env: WorkflowEnvironment, chain: FakeKeyChain, *, with_watch: bool, record: str = ""
) -> object:
    """Run one offboarding (and a watch for it to stop); with `record`, save both histories."""
    task_queue = f"tq-{uuid.uuid4()}"
    async with workers_on(env.client, task_queue, chain.activities()):
        watch = None
        if with_watch:
            watch = await env.client.start_workflow(
                CmkKeyHealthWatchWorkflow.run,
                WatchInput(deployment=chain.deployment),
                id=watch_workflow_id(chain.deployment.onboarding_workflow_id),
                task_queue=task_queue,
            )
        handle = await env.client.start_workflow(
            CmkOffboardingWorkflow.run,
            OffboardInput(deployment=chain.deployment),
            id=f"offboard-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        try:
            result = await handle.result()
        finally:
            if record:
                await record_history(handle, f"offboarding_{record}")
        if watch is not None:
            assert (await watch.result()).stopped_reason == "offboarded"
            if record:
                await record_history(watch, f"key_health_watch_stopped_by_offboarding_{record}")
        return result


async def test_refuses_while_disks_use_the_set_and_names_them(env: WorkflowEnvironment) -> None:
    """associatedResources lists a disk: nothing is deleted, the error names the disk."""
    chain = FakeKeyChain(deployment(f"des-{uuid.uuid4().hex[:8]}"))
    chain.users = [f"{RG}/providers/Microsoft.Compute/disks/vm1-os"]
    with pytest.raises(WorkflowFailureError) as failed:
        await offboard(env, chain, with_watch=False, record="refused_disks_in_use")
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == ENCRYPTION_SET_IN_USE
    assert "vm1-os" in cause.message
    assert [n for n in chain.names() if n.startswith("delete")] == []


async def test_shared_mode_deletes_the_set_only_and_stops_the_watch(
    env: WorkflowEnvironment,
) -> None:
    """The shared identity is never touched; both audiences are told; the watch ends."""
    chain = FakeKeyChain(deployment(f"des-{uuid.uuid4().hex[:8]}"))
    result = await offboard(env, chain, with_watch=True, record="shared")
    assert result.deleted == (chain.deployment.encryption_set_id,)  # type: ignore[attr-defined]
    assert chain.deployment.identity_id in result.kept_shared  # type: ignore[attr-defined]
    assert result.watch_stopped  # type: ignore[attr-defined]
    assert "delete_identity" not in chain.names() and "delete_app" not in chain.names()
    assert sorted(n.audience for n in chain.notifications if n.kind == "offboarded") == [
        "customer",
        "isv",
    ]


async def test_isolated_mode_deletes_the_customer_identity_chain_and_is_idempotent(
    env: WorkflowEnvironment,
) -> None:
    """Per-customer identity and app go too; a second run finds the set gone and succeeds."""
    chain = FakeKeyChain(deployment(f"des-{uuid.uuid4().hex[:8]}", isolated=True))
    chain.in_use_deletes = 1  # our own probe disk still there for a moment
    chain.users = [f"{RG}/providers/Microsoft.Compute/disks/{chain.deployment.des_name}-health"]
    result = await offboard(env, chain, with_watch=False, record="isolated")
    assert set(result.deleted) == {  # type: ignore[attr-defined]
        chain.deployment.encryption_set_id,
        chain.deployment.identity_id,
        "app-object-1",
    }
    again = await offboard(env, chain, with_watch=False)
    assert again.watch_stopped is False  # type: ignore[attr-defined]


async def test_a_set_kept_as_not_ours_fails_instead_of_passing_as_gone(
    env: WorkflowEnvironment,
) -> None:
    """Delete keeps a set tagged for another onboarding; the offboarding reads it back and fails
    naming the tag instead of reporting success."""
    chain = FakeKeyChain(deployment(f"des-{uuid.uuid4().hex[:8]}"))
    chain.foreign_owner = True
    with pytest.raises(WorkflowFailureError) as failed:
        await offboard(env, chain, with_watch=False)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == ENCRYPTION_SET_NOT_OURS
    assert "cmk-onboarding tag" in cause.message
