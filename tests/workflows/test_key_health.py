"""The key-health watch on the time-skipping server with fake activities: findings, CmkHealth,
notifications, clearing, key changes with rollback, continue-as-new."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from harness.fake_onboarding import record_history, workers_on
from harness.polling import assert_eventually
from models import search_attributes
from models.lifecycle import (
    UPDATE_CHANGE_KEY,
    Health,
    KeyChange,
    KeyChangeRequest,
    WatchInput,
    WatchStatus,
    acting_for,
    offboarding_workflow_id,
    watch_workflow_id,
)
from models.watch_settings import WatchSettings
from tests.workflows.fake_lifecycle import KEY_URL, NEW_KEY_URL, FakeKeyChain, deployment
from workflows import CmkKeyHealthWatchWorkflow

# Real seconds: the test server's env.sleep turned out unreliable across tests (h2 errors,
# timeouts) while a watch waits on a timer, so the checks here run on short real intervals.
SECOND = timedelta(seconds=1)


@dataclass
class Watch:
    handle: WorkflowHandle[CmkKeyHealthWatchWorkflow, WatchStatus]
    chain: FakeKeyChain

    async def status(self) -> WatchStatus:
        try:
            return await self.handle.query(
                CmkKeyHealthWatchWorkflow.health, rpc_timeout=timedelta(seconds=5)
            )
        except RPCError as error:
            # The test server can leave a query unanswered while one run hands over to the next
            # (continue-as-new); the pollers below ask again, so this counts as "not yet".
            raise AssertionError(f"health query unanswered: {error}") from None

    async def after_check(self, checks: int) -> WatchStatus:
        async def done() -> WatchStatus:
            status = await self.status()
            assert status.checks >= checks, f"{status.checks} checks, waiting for {checks}"
            return status

        return await assert_eventually(done)

    async def health_attribute(self) -> str | None:
        description = await self.handle.describe()
        return description.typed_search_attributes.get(search_attributes.HEALTH)


@asynccontextmanager
async def watching(
    env: WorkflowEnvironment,
    chain: FakeKeyChain | None = None,
    *,
    verified_at: datetime | None = None,
    **settings: Any,
) -> AsyncIterator[Watch]:
    chain = chain or FakeKeyChain(deployment(f"des-{uuid.uuid4().hex[:12]}"))
    task_queue = f"tq-{uuid.uuid4()}"
    async with workers_on(env.client, task_queue, chain.activities()):
        handle = await env.client.start_workflow(
            CmkKeyHealthWatchWorkflow.run,
            WatchInput(
                deployment=chain.deployment,
                settings=WatchSettings(**settings),
                verified_at=verified_at,
            ),
            id=watch_workflow_id(chain.deployment.onboarding_workflow_id),
            task_queue=task_queue,
        )
        # Queries and describe go to the latest run: the started handle is pinned to the first
        # run, which a continue-as-new closes (a query to it then times out on the test server).
        latest: WorkflowHandle[CmkKeyHealthWatchWorkflow, WatchStatus] = (
            env.client.get_workflow_handle(
                handle.id,
                first_execution_run_id=handle.first_execution_run_id,
                result_type=WatchStatus,
            )
        )
        yield Watch(latest, chain)
        with contextlib.suppress(RPCError):  # already closed (stopped, or a failed assertion)
            await handle.terminate("test over")


async def test_first_check_probes_and_reports_healthy_without_notifying(
    env: WorkflowEnvironment,
) -> None:
    """The first check reads the DES and proves the key once; healthy is set, nobody is told."""
    async with watching(env) as watch:
        status = await watch.after_check(1)
        assert status.health == Health.HEALTHY and status.findings == []
        assert watch.chain.names() == ["read", "probe"]
        assert await watch.health_attribute() == "healthy"
        assert watch.chain.notifications == []


async def test_fault_seen_in_rotation_error_is_broken_then_clears_after_a_confirming_probe(
    env: WorkflowEnvironment,
) -> None:
    """autoKeyRotationError -> broken (both told, no probe spent); fixed -> one probe -> healthy."""
    async with watching(env, check_interval=SECOND) as watch:
        first = await watch.after_check(1)
        watch.chain.rotation_cause = "KeyDisabled"
        status = await watch.after_check(first.checks + 2)
        assert status.health == Health.BROKEN
        assert [f.code for f in status.findings] == ["KEY_DISABLED"]
        assert status.findings[0].owner == "customer" and "--enabled true" in status.findings[0].fix
        assert await watch.health_attribute() == "broken"
        assert watch.chain.names().count("probe") == 1
        told = [(n.audience, n.health) for n in watch.chain.notifications]
        assert told == [("customer", Health.BROKEN), ("isv", Health.BROKEN)]

        watch.chain.rotation_cause = None
        status = await watch.after_check(status.checks + 2)
        assert status.health == Health.HEALTHY and status.findings == []
        assert watch.chain.names().count("probe") == 2
        assert await watch.health_attribute() == "healthy"
        assert [n.health for n in watch.chain.notifications][-2:] == [Health.HEALTHY] * 2
        await record_history(watch.handle, "key_health_watch_broken_then_cleared")


async def test_watch_started_by_the_onboarding_waits_one_interval_before_azure(
    env: WorkflowEnvironment,
) -> None:
    """The onboarding's verification counts as the first check and probe: healthy at once, no
    Azure call until check_interval has passed, and the next probe only after probe_interval."""
    # The test server's clock, not ours: earlier tests in the session skipped it ahead.
    verified_at = await env.get_current_time()
    async with watching(env, verified_at=verified_at, check_interval=3 * SECOND) as watch:
        status = await assert_eventually(watch.status)
        assert status.health == Health.HEALTHY and status.checks == 0
        assert await watch.health_attribute() == "healthy"
        assert watch.chain.names() == []
        status = await watch.after_check(1)
        assert status.health == Health.HEALTHY
        assert watch.chain.names() == ["read"]
        assert watch.chain.notifications == []


@pytest.mark.parametrize(
    ("cause", "code", "owner"),
    [
        ("ConsentRevoked", "CONSENT_REVOKED", "customer"),
        ("RoleRemoved", "KEY_ROLE_REMOVED", "customer"),
        ("KeyDisabled", "KEY_DISABLED", "customer"),
        ("KeyExpired", "KEY_EXPIRED", "customer"),
        ("KeyDeleted", "KEY_DELETED", "customer"),
        ("VaultGone", "KEY_VAULT_GONE", "customer"),
        ("IdentityDeleted", "IDENTITY_DELETED", "isv"),
        ("FederatedCredentialDeleted", "FEDERATED_CREDENTIAL_DELETED", "isv"),
    ],
)
async def test_probe_only_fault_is_found_and_kept_until_a_probe_passes(
    env: WorkflowEnvironment, cause: str, code: str, owner: str
) -> None:
    """A fault only a disk create shows (rotation off): named by the probe, kept while reads
    look clean, cleared by the next probe (unhealthy_probe_interval) once fixed."""
    chain = FakeKeyChain(deployment(f"des-{uuid.uuid4().hex[:12]}"), probe_cause=cause)
    async with watching(
        env, chain, check_interval=SECOND, unhealthy_probe_interval=4 * SECOND
    ) as watch:
        status = await watch.after_check(1)
        assert status.health == Health.BROKEN
        assert [(f.code, f.owner) for f in status.findings] == [(code, owner)]
        chain.probe_cause = None
        status = await watch.after_check(2)
        assert status.health == Health.BROKEN, "a read alone must not clear a probe's finding"
        assert chain.names().count("probe") == 1

        async def cleared() -> None:
            assert (await watch.status()).health == Health.HEALTHY

        await assert_eventually(cleared, within=15)
        assert chain.names().count("probe") == 2


async def test_deleted_vault_is_told_apart_from_a_removed_role(env: WorkflowEnvironment) -> None:
    """DiskRP says "cannot access the vault" for both; the vault's own challenge tells them apart:
    a vault that no longer answers is KEY_VAULT_GONE, one that answers is KEY_ROLE_REMOVED."""
    async with watching(env, check_interval=SECOND) as watch:
        first = await watch.after_check(1)
        watch.chain.rotation_cause = "RoleRemoved"
        status = await watch.after_check(first.checks + 1)
        assert [f.code for f in status.findings] == ["KEY_ROLE_REMOVED"]
        watch.chain.vault_gone = True
        status = await watch.after_check(status.checks + 2)
        assert [f.code for f in status.findings] == ["KEY_VAULT_GONE"]
        assert "az keyvault recover" in status.findings[0].fix
        assert "vault" in watch.chain.names()


async def test_missing_and_changed_encryption_set(env: WorkflowEnvironment) -> None:
    """Another key, or someone else's modification, is degraded; a deleted DES is broken."""
    async with watching(env) as watch:
        await watch.after_check(1)
        watch.chain.last_modified_by = "mallory@isv.example"
        await watch.handle.signal(CmkKeyHealthWatchWorkflow.check_now, False)
        status = await watch.after_check(2)
        assert status.health == Health.DEGRADED
        assert [f.code for f in status.findings] == ["ENCRYPTION_SET_CHANGED_OUTSIDE_SERVICE"]
        assert "mallory" in status.findings[0].message
        watch.chain.last_modified_by = None
        watch.chain.key_url = (
            "https://other-kv.vault.azure.net/keys/other/0123456789abcdef0123456789abcdef"
        )
        await watch.handle.signal(CmkKeyHealthWatchWorkflow.check_now, False)
        status = await watch.after_check(3)
        assert "other-kv" in status.findings[0].message
        watch.chain.found = False
        await watch.handle.signal(CmkKeyHealthWatchWorkflow.check_now, False)
        status = await watch.after_check(4)
        assert status.health == Health.BROKEN
        assert [f.code for f in status.findings] == ["ENCRYPTION_SET_MISSING"]


async def test_key_change_moves_the_set_and_verifies_with_a_test_disk(
    env: WorkflowEnvironment,
) -> None:
    """change_key: PUT the new key, read back, test disk created and deleted, both keys kept."""
    async with watching(env) as watch:
        await watch.after_check(1)
        change = await watch.handle.execute_update(
            UPDATE_CHANGE_KEY, KeyChangeRequest(key_url=NEW_KEY_URL), result_type=KeyChange
        )
        assert isinstance(change, KeyChange)
        assert change.outcome == "succeeded"
        assert (change.old_key_url, change.new_key_url) == (
            watch.chain.deployment.key_url,
            NEW_KEY_URL,
        )
        names = watch.chain.names()
        assert names[names.index("put") :][:4] == ["put", "verify", "disk", "delete_disk"]
        status = await watch.after_check(2)
        assert status.key_url == NEW_KEY_URL and status.health == Health.HEALTHY
        assert status.key_changes == [change]
        assert [n.kind for n in watch.chain.notifications] == ["key_changed"] * 2
        await record_history(watch.handle, "key_health_watch_key_change")


async def test_failed_key_change_rolls_back_to_the_old_key(env: WorkflowEnvironment) -> None:
    """A refused new key: the DES is put back on the old one; the status says why and how."""
    async with watching(env) as watch:
        await watch.after_check(1)
        watch.chain.rejected_keys.add(NEW_KEY_URL)
        change = await watch.handle.execute_update(
            UPDATE_CHANGE_KEY, {"key_url": NEW_KEY_URL}, result_type=KeyChange
        )
        assert change.outcome == "rolled_back"
        assert change.reason is not None and "KeyVaultAccessForbidden" in change.reason
        assert [arg for name, arg in watch.chain.calls if name == "put"] == [
            NEW_KEY_URL,
            watch.chain.deployment.key_url,
        ]
        assert watch.chain.key_url == watch.chain.deployment.key_url
        status = await watch.after_check(2)
        assert status.key_url == watch.chain.deployment.key_url
        await record_history(watch.handle, "key_health_watch_key_change_rolled_back")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"key_url": "http://contoso-kv.vault.azure.net/keys/cmk"}, "must use https"),
        ({"key_url": KEY_URL}, "already uses"),
        ({"note": "no key"}, "key_url: is required"),
    ],
)
async def test_bad_key_change_is_rejected_before_history(
    env: WorkflowEnvironment, body: dict[str, Any], reason: str
) -> None:
    """The validator names the field and the fix; no update is accepted into history."""
    async with watching(env) as watch:
        await watch.after_check(1)
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await watch.handle.execute_update(UPDATE_CHANGE_KEY, body, result_type=KeyChange)
        assert reason in str(failed.value.cause)
        events = (await watch.handle.fetch_history()).events
        accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        assert not [e for e in events if e.event_type == accepted]
        assert watch.chain.names() == ["read", "probe"]


async def test_continues_as_new_carrying_its_status(env: WorkflowEnvironment) -> None:
    """After checks_per_run checks a new run starts with the same findings and counters."""
    async with watching(env, checks_per_run=2, check_interval=SECOND) as watch:
        await watch.after_check(1)
        watch.chain.rotation_cause = "RoleRemoved"
        status = await watch.after_check(4)
        assert status.health == Health.BROKEN and status.checks >= 3
        description = await watch.handle.describe()
        assert description.run_id != watch.handle.first_execution_run_id
        assert [n.health for n in watch.chain.notifications] == [Health.BROKEN] * 2
        await record_history(watch.handle, "key_health_watch_after_continue_as_new")


async def test_stop_signal_ends_the_watch(env: WorkflowEnvironment) -> None:
    async with watching(env) as watch:
        await watch.after_check(1)
        await watch.handle.signal(CmkKeyHealthWatchWorkflow.stop, "offboarded")
        result = await watch.handle.result()
        assert result.stopped_reason == "offboarded"


def test_watch_and_offboarding_act_for_their_onboarding() -> None:
    """Their activities check the DES's owner tag against the onboarding's id, not their own."""
    onboarding = "cmk-onboarding-11111111-2222-3333-4444-555555555555-des-a"
    assert acting_for(watch_workflow_id(onboarding)) == onboarding
    assert acting_for(offboarding_workflow_id(onboarding)) == onboarding
    assert acting_for(onboarding) == onboarding
