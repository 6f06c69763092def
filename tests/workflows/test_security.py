"""Issue 14: the worker's policy, the vault's tenant, bounded and escaped customer input."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from harness.fake_azure import FakeAzure
from harness.fake_onboarding import CUSTOMER_TENANT, KEY_URL, running
from harness.polling import assert_eventually
from models import (
    DEFAULT_POLICY,
    ErrorType,
    OnboardingStatus,
    Policy,
    RequestInvalid,
    Stage,
    narrow_policy,
)
from models import ActivityName as A
from workflows import CmkOnboardingWorkflow
from workflows.instructions import current_details

OTHER_TENANT = "22222222-3333-4444-5555-666666666666"
OWN_KEY_URL = "https://own-kv.vault.azure.net/keys/cmk/0123456789abcdef0123456789abcdef"
SIGNAL = CmkOnboardingWorkflow.customer_setup_complete
SUBMIT = CmkOnboardingWorkflow.submit_customer_setup


async def test_key_in_another_tenants_vault_goes_back_to_the_customer(
    env: WorkflowEnvironment,
) -> None:
    """Customer B sends customer A's key URL: refused with the reason, no DES is created."""
    fake = FakeAzure(vault_tenants={"contoso-kv.vault.azure.net": OTHER_TENANT})
    async with running(env, fake, key_url=KEY_URL) as onboarding:

        async def refused() -> OnboardingStatus:
            status = await onboarding.status()
            assert status.stage == Stage.AWAITING_CUSTOMER
            assert status.attempts and status.attempts[0].outcome == "customer_error"
            return status

        status = await assert_eventually(refused)
        assert status.attempts[0].code == "KeyVaultInAnotherTenant"
        assert OTHER_TENANT in (status.attempts[0].reason or "")
        assert A.CREATE_ENCRYPTION_SET not in fake.names()
        assert fake.notifications[-1].kind == "attempt_failed"
        await onboarding.handle.execute_update(SUBMIT, {"key_url": OWN_KEY_URL})
        result = await onboarding.handle.result()
        await onboarding.record_history("vault_in_another_tenant_then_own_vault")
    assert result.resources.key_url == OWN_KEY_URL
    checks = [c for n, c in fake.guard_calls if n == A.CHECK_KEY_VAULT_TENANT]
    assert [c.key_url for c in checks] == [KEY_URL, OWN_KEY_URL]
    assert {c.customer_tenant_id for c in checks} == {CUSTOMER_TENANT}


async def test_worker_policy_applies_to_a_request_that_does_not_narrow_it(
    env: WorkflowEnvironment,
) -> None:
    """A default request is held to the worker's narrower regions before Azure is touched."""
    fake = FakeAzure(policy=Policy(supported_regions=("northeurope",)))
    async with running(env, fake, region="eastus") as onboarding:
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == ErrorType.INVALID_REQUEST
    assert "region: 'eastus'" in cause.message and "northeurope" in cause.message
    assert fake.names() == []


async def test_request_cannot_widen_the_worker_policy(env: WorkflowEnvironment) -> None:
    """Adding a region (or a key host) in the request is refused, naming the policy field."""
    policy = {
        "supported_regions": [*DEFAULT_POLICY.supported_regions, "westeurope"],
        "key_host_suffixes": [".vault.azure.net", ".evil.example"],
    }
    fake = FakeAzure()
    async with running(env, fake, region="westeurope", policy=policy) as onboarding:
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == ErrorType.INVALID_REQUEST
    assert "policy.supported_regions: 'westeurope' widens" in cause.message
    assert "policy.key_host_suffixes: '.evil.example' widens" in cause.message
    assert fake.names() == []


async def test_request_may_narrow_the_worker_policy(env: WorkflowEnvironment) -> None:
    fake = FakeAzure()
    async with running(
        env, fake, key_url=KEY_URL, policy={"supported_regions": ["eastus"]}
    ) as onboarding:
        await onboarding.handle.result()
    assert [n for n, _ in fake.guard_calls][0] == A.LOAD_POLICY


def test_narrow_policy_rules() -> None:
    worker = Policy(supported_regions=("eastus", "westus"), identity_mode="isolated")
    narrowed = narrow_policy(Policy(register_preview_feature=False), worker)
    assert narrowed.supported_regions == ("eastus", "westus")
    assert narrowed.identity_mode == "isolated"  # a request cannot undo isolation
    assert narrowed.register_preview_feature is False
    with pytest.raises(RequestInvalid) as widened:
        narrow_policy(Policy(unsupported_disk_skus=("UltraSSD_LRS",)), DEFAULT_POLICY)
    assert widened.value.problems[0][0] == "policy.unsupported_disk_skus"
    assert "PremiumV2_LRS" in widened.value.problems[0][1]


async def test_rejected_signals_are_capped(env: WorkflowEnvironment) -> None:
    """A flood of bad signals keeps the last 20 and counts the rest."""
    async with running(env) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        for n in range(25):
            await onboarding.handle.signal(SIGNAL, {"key_url": f"http://x{n}.example/" + "a" * 900})

        async def capped() -> OnboardingStatus:
            status = await onboarding.status()
            assert status.rejected_submissions_dropped == 5
            return status

        status = await assert_eventually(capped)
        await onboarding.handle.cancel()
    assert len(status.rejected_submissions) == 20
    assert (status.rejected_submissions[-1].key_url or "").startswith("http://x24.example/")
    assert all(len(r.key_url or "") <= 600 for r in status.rejected_submissions)


async def test_submission_tenant_must_be_a_guid(env: WorkflowEnvironment) -> None:
    async with running(env) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await onboarding.handle.execute_update(
                SUBMIT, {"key_url": KEY_URL, "customer_tenant_id": "contoso.onmicrosoft.com"}
            )
        await onboarding.handle.cancel()
    assert "customer_tenant_id: must be your tenant's GUID" in str(rejected.value.cause)


async def test_customer_name_markup_is_escaped(env: WorkflowEnvironment) -> None:
    name = "Evil [click](https://x.example) **now** <img src=x>"
    async with running(env, customer_name=name) as onboarding:
        status = await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        await onboarding.handle.cancel()
    escaped = r"Evil \[click\]\(https://x.example\) \*\*now\*\* \<img src=x\>"
    assert escaped in status.instructions.markdown
    assert "[click](" not in status.instructions.markdown
    details = current_details(status)
    assert escaped in details and "[click](" not in details
