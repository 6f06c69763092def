"""Activity calls that guard an onboarding before Azure is written to (policy, vault tenant)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.workflow import ActivityCancellationType

from models import ActivityName, KeyVaultTenant, KeyVaultTenantCheck, Policy
from workflows import options

# Reads the worker's memory. Not a local activity: its marker before the feature patch's marker
# failed replay (core saw the later patch marker before the workflow code reached it).
POLICY_TIMEOUT = timedelta(seconds=30)


async def load_policy() -> Policy:
    """The worker's policy, once per run: recorded in history, so replay sees the same one."""
    return await workflow.execute_activity(
        ActivityName.LOAD_POLICY,
        result_type=Policy,
        start_to_close_timeout=POLICY_TIMEOUT,
        retry_policy=options.AZURE_CALL_RETRY,
        summary="Load the worker's onboarding policy",
    )


async def check_key_vault_tenant(check: KeyVaultTenantCheck) -> KeyVaultTenant:
    return await workflow.execute_activity(
        ActivityName.CHECK_KEY_VAULT_TENANT,
        check,
        result_type=KeyVaultTenant,
        start_to_close_timeout=options.AZURE_CALL_TIMEOUT,
        retry_policy=options.AZURE_CALL_RETRY,
        cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        summary=f"Check that the vault of {check.key_url} is in tenant {check.customer_tenant_id}",
    )
