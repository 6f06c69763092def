"""Failures after the customer's submission that only the ISV operator can judge: the onboarding
waits (flagged in status, details and the CmkNeedsOperator search attribute) instead of failing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from harness.fake_azure import FakeAzure
from harness.fake_onboarding import FIXED_KEY_URL, KEY_URL, Onboarding, running
from harness.polling import assert_eventually
from models import ActivityName as A
from models import CustomerSetupComplete, ErrorType, Stage, search_attributes
from workflows import CmkOnboardingWorkflow
from workflows.instructions import current_details

SIGNAL = CmkOnboardingWorkflow.customer_setup_complete


def unrecognized(code: str = "BrandNewDiskRPCode") -> ApplicationError:
    """What activities/errors.py raises for an unknown, non-transient Azure code."""
    return ApplicationError(
        f"create disk encryption set was rejected by Azure with an unrecognized error: {code}",
        {
            "code": code,
            "message": "The operation was refused for a reason. (redacted)",
            "status": 200,
            "request_id": "req-123",
            "operation": "create disk encryption set des-1",
        },
        type=ErrorType.UNRECOGNIZED_REJECTION,
        non_retryable=True,
    )


def fic_never_matched() -> ApplicationError:
    """The classifier's answer once AADSTS70021 outlasted the propagation window."""
    return ApplicationError(
        "the federated credential still does not match after 8 attempts",
        {"code": "FederatedCredentialMismatch", "fix": "re-run the identity step"},
        type=ErrorType.AZURE_REQUEST_REJECTED,
        non_retryable=True,
    )


async def flagged(onboarding: Onboarding, outcome: str) -> Any:
    async def waiting_with_flag() -> Any:
        status = await onboarding.status()
        assert status.stage == Stage.AWAITING_CUSTOMER
        assert status.attempts and status.attempts[-1].outcome == outcome
        assert status.operator_attention is not None
        return status

    return await assert_eventually(waiting_with_flag)


async def needs_operator_attribute(onboarding: Onboarding) -> str | None:
    description = await onboarding.handle.describe()
    return description.typed_search_attributes.get(search_attributes.NEEDS_OPERATOR)


@pytest.mark.parametrize("activity", [A.CREATE_ENCRYPTION_SET, A.CREATE_TEST_DISK])
async def test_unrecognized_rejection_goes_back_to_the_customer_and_flags_the_operator(
    env: WorkflowEnvironment, activity: A
) -> None:
    """An unknown Azure code at DES or test-disk creation neither fails the onboarding nor is
    retried: the customer gets Azure's words, the operator a flag; a new submission completes."""
    fake = FakeAzure()
    fake.errors[activity].append(unrecognized())
    async with running(env, fake, key_url=KEY_URL) as onboarding:
        status = await flagged(onboarding, "azure_rejected")
        assert status.waiting_for == "customer"
        attention = status.operator_attention
        assert attention.code == "BrandNewDiskRPCode" and attention.attempt == 1
        assert attention.message == "The operation was refused for a reason. (redacted)"
        assert attention.request_id == "req-123"
        assert "Needs the ISV operator" in current_details(status)
        assert await needs_operator_attribute(onboarding) == "BrandNewDiskRPCode"
        await onboarding.handle.signal(SIGNAL, CustomerSetupComplete(key_url=FIXED_KEY_URL))
        result = await onboarding.handle.result()
        final = await onboarding.status()
        assert await needs_operator_attribute(onboarding) is None
        if activity == A.CREATE_ENCRYPTION_SET:
            await onboarding.record_history("operator_attention_unrecognized_rejection")
    assert result.resources.key_url == FIXED_KEY_URL
    assert final.operator_attention is None
    assert fake.names().count(activity) == 2  # not retried: once per submission
    told = [n for n in fake.notifications if n.kind == "attempt_failed"]
    assert len(told) == 1 and told[0].reason == attention.message


async def test_unrecognized_rejections_still_count_against_the_attempts(
    env: WorkflowEnvironment,
) -> None:
    """The customer saw Azure's words and may resubmit; the attempt limit still holds."""
    fake = FakeAzure()
    fake.errors[A.CREATE_ENCRYPTION_SET].append(unrecognized())
    async with running(env, fake, key_url=KEY_URL, max_customer_attempts=1) as onboarding:
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
    assert getattr(failure.value.cause, "type", None) == ErrorType.CUSTOMER_ATTEMPTS_EXHAUSTED


async def test_federated_credential_that_never_matches_goes_to_the_operator_not_the_customer(
    env: WorkflowEnvironment,
) -> None:
    """After the propagation window, AADSTS70021 is the ISV's problem: the workflow waits for
    the operator, sends the customer nothing and does not count it as the customer's attempt."""
    fake = FakeAzure()
    fake.errors[A.CREATE_ENCRYPTION_SET].append(fic_never_matched())
    async with running(env, fake, key_url=KEY_URL, max_customer_attempts=1) as onboarding:
        status = await flagged(onboarding, "isv_error")
        assert status.waiting_for == "isv"
        assert status.operator_attention.code == "FederatedCredentialMismatch"
        assert await needs_operator_attribute(onboarding) == "FederatedCredentialMismatch"
        # The operator fixed the identity and sends the same key URL again.
        await onboarding.handle.signal(SIGNAL, CustomerSetupComplete(key_url=KEY_URL))
        await onboarding.handle.result()
    assert not [n for n in fake.notifications if n.kind == "attempt_failed"]


async def test_federated_credential_propagating_is_retried(env: WorkflowEnvironment) -> None:
    """FederatedCredentialPropagating is retryable: the DES create is retried, not failed."""
    fake = FakeAzure()
    fake.errors[A.CREATE_ENCRYPTION_SET].extend(
        ApplicationError(
            "AADSTS70021 right after the FIC was written",
            type=ErrorType.FIC_PROPAGATING,
            next_retry_delay=timedelta(seconds=60),
        )
        for _ in range(3)
    )
    async with running(env, fake, key_url=KEY_URL) as onboarding:
        result = await onboarding.handle.result()
        status = await onboarding.status()
    assert result.attempts == 1 and status.operator_attention is None
    assert fake.names().count(A.CREATE_ENCRYPTION_SET) == 4
