"""Search attributes and current details as a real dev server shows them to the UI and CLI."""

from __future__ import annotations

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from harness.fake_onboarding import CUSTOMER_TENANT, KEY_URL, running
from harness.polling import assert_eventually
from models import CustomerSetupComplete, Stage, search_attributes
from workflows import CmkOnboardingWorkflow


async def test_search_attributes_and_details_follow_the_stage(dev_env: WorkflowEnvironment) -> None:
    """The UI sees stage, customer tenant and name, and markdown details with the consent link."""
    async with running(dev_env) as onboarding:
        handle = onboarding.handle

        async def awaiting_is_indexed() -> None:
            found = [
                wf.id
                async for wf in dev_env.client.list_workflows(
                    f"CmkStage = '{Stage.AWAITING_CUSTOMER}' "
                    f"AND CmkCustomerTenantId = '{CUSTOMER_TENANT}'"
                )
            ]
            assert handle.id in found

        await assert_eventually(awaiting_is_indexed, within=20)
        described = await handle.describe()
        attributes = described.typed_search_attributes
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        status = await onboarding.status()
        await handle.signal(
            CmkOnboardingWorkflow.customer_setup_complete, CustomerSetupComplete(key_url=KEY_URL)
        )
        await handle.result()
        final = (await handle.describe()).typed_search_attributes
    assert attributes.get(search_attributes.CUSTOMER_NAME) == "Contoso"
    assert attributes.get(search_attributes.CUSTOMER_TENANT_ID) == CUSTOMER_TENANT
    assert final.get(search_attributes.STAGE) == Stage.COMPLETED
    details = metadata.current_details
    assert "`awaiting-customer`" in details
    assert status.instructions.consent_url in details
    assert "az ad sp create" in details


async def test_run_started_without_the_cli_shows_its_summary(dev_env: WorkflowEnvironment) -> None:
    """A run started with no static summary (`temporal workflow start`, a raw client) has the
    one-line summary as the first line of its current details."""
    async with running(dev_env, customer_name="Contoso *Ltd*") as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        handle = onboarding.handle
        described = await handle.describe()
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        await handle.cancel()
    des_name = onboarding.request["des_name"]
    assert await described.static_summary() is None
    assert metadata.current_details.splitlines()[0] == (
        rf"Cross-tenant CMK onboarding of Contoso \*Ltd\* ({CUSTOMER_TENANT}): "
        f"disk encryption set {des_name} in eastus"
    )
