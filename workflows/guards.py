"""Activity calls that guard an onboarding before Azure is written to (policy, vault tenant)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio import workflow

from models import KeyVaultTenant, KeyVaultTenantCheck, Policy
from workflows import options, steps

with workflow.unsafe.imports_passed_through():
    from activities.key_vault_tenant import KeyVaultTenantActivities
    from activities.policy import PolicyActivities
    from activities.run_history import RunHistoryActivities

# Reads the worker's memory: no heartbeat, a short attempt. Not a local activity: its marker
# before the feature patch's marker failed replay (core saw the later patch marker first).
POLICY_READ = dataclasses.replace(
    options.AZURE_CALL, start_to_close=timedelta(seconds=30), heartbeat=None
)


async def load_policy() -> Policy:
    """The worker's policy, once per run: recorded in history, so replay sees the same one."""
    return await steps.run_without_argument(
        PolicyActivities.load_policy, POLICY_READ, "Load the worker's onboarding policy"
    )


async def earlier_completed_run(workflow_id: str) -> str | None:
    """The run id of a completed run with this workflow's id, if one exists."""
    return await steps.run(
        RunHistoryActivities.earlier_completed_run,
        workflow_id,
        POLICY_READ,
        f"Check that no earlier run of {workflow_id} completed",
    )


async def check_key_vault_tenant(check: KeyVaultTenantCheck) -> KeyVaultTenant:
    return await steps.run(
        KeyVaultTenantActivities.check_key_vault_tenant,
        check,
        options.AZURE_CALL,
        f"Check that the vault of {check.key_url} is in tenant {check.customer_tenant_id}",
    )
