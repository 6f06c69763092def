"""Happy path, feature registration variants and request validation."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from harness.fake_azure import FakeAzure, throttled
from harness.fake_onboarding import KEY_URL, running
from models import ActivityName as A
from models import ErrorType, OnboardingResult
from workflows import CmkOnboardingWorkflow


async def test_happy_path_runs_every_step_in_order(env: WorkflowEnvironment) -> None:
    """A registered feature and an up-front key URL complete, listing every resource id."""
    async with running(env, key_url=KEY_URL) as onboarding:
        result = await onboarding.handle.result()
        fake = onboarding.fake
        events = await onboarding.event_count()
        await onboarding.record_history("happy_path_one_feature_activity")
    print(f"happy path (feature already registered, key up front): {events} history events")
    assert isinstance(result, OnboardingResult)
    names = fake.names()
    assert names[0] == A.ENSURE_FEATURE_REGISTERED
    assert set(names[1:3]) == {A.ENSURE_APPLICATION, A.ENSURE_MANAGED_IDENTITY}
    assert names[3:5] == [A.ENSURE_FEDERATED_CREDENTIAL, A.CREATE_ENCRYPTION_SET]
    assert set(names[5:7]) == {A.VERIFY_ENCRYPTION_SET, A.CREATE_TEST_DISK}
    assert names[7:] == [A.DELETE_TEST_DISK, A.NOTIFY_CUSTOMER]
    assert fake.notifications[-1].kind == "completed"
    assert result.feature_state == "Registered"
    assert result.attempts == 1
    resources = result.resources
    assert resources.key_url == KEY_URL
    assert resources.encryption_set_id and resources.encryption_set_id.endswith(
        f"/diskEncryptionSets/{onboarding.request['des_name']}"
    )
    assert resources.test_disk_id and resources.test_disk_id.endswith("-verify")
    assert resources.encryption_set_id in result.created
    assert resources.identity_id in result.reused
    assert {resources.app_object_id, resources.federated_credential_id} <= set(result.created)
    # 80 before the worker-policy, vault-tenant and completed-id guards (activities, markers).
    assert events <= 95


async def test_feature_registration_polls_then_reregisters_provider(
    env: WorkflowEnvironment,
) -> None:
    """An unregistered feature is registered, polled by retries, then the provider re-registered,
    all in one activity: the registration path's history is as small as the happy path's."""
    fake = FakeAzure(feature_state="NotRegistered", polls_until_registered=3)
    fake.errors[A.REGISTER_PROVIDER].append(throttled())
    async with running(env, fake, key_url=KEY_URL) as onboarding:
        result = await onboarding.handle.result()
        events = await onboarding.event_count()
        await onboarding.record_history("feature_registration_in_one_activity")
    print(f"happy path with feature registration: {events} history events")
    names = fake.names()
    # The provider call is throttled once: the activity retries and re-registers it again.
    assert names[:3] == [A.ENSURE_FEATURE_REGISTERED, A.REGISTER_PROVIDER, A.REGISTER_PROVIDER]
    assert names.index(A.REGISTER_PROVIDER) < names.index(A.ENSURE_APPLICATION)
    assert not {A.GET_FEATURE, A.REGISTER_FEATURE, A.WAIT_FEATURE_REGISTERED} & set(names)
    assert result.feature_state == "Registered"
    # What the UI shows beside each activity: durations in words, not `6:00:00`.
    summaries = await onboarding.activity_summaries()
    assert (
        "Ensure feature EncryptionAtRestWithCrossTenantKey is Registered (at most 6 hours)"
        in summaries
    ), summaries
    # 80 before the worker-policy, vault-tenant and completed-id guards (activities, markers).
    assert events <= 95


async def test_feature_unknown_to_the_subscription_is_not_required(
    env: WorkflowEnvironment,
) -> None:
    """A feature read answering 404 (no registration step any more) shows as NotRequired."""
    fake = FakeAzure(feature_state="NotRequired")
    async with running(env, fake, key_url=KEY_URL) as ob:
        result = await ob.handle.result()
        status = await ob.status()
    assert result.feature_state == status.feature_state == "NotRequired"
    assert A.REGISTER_PROVIDER not in fake.names()


async def test_feature_step_skipped_when_policy_off(env: WorkflowEnvironment) -> None:
    """policy.register_preview_feature=false never touches the feature or provider."""
    async with running(env, key_url=KEY_URL, policy={"register_preview_feature": False}) as ob:
        result = await ob.handle.result()
    assert result.feature_state == "Skipped"
    touched = {A.ENSURE_FEATURE_REGISTERED, A.GET_FEATURE, A.REGISTER_PROVIDER}
    assert not touched & set(ob.fake.names())


async def test_feature_registration_timeout_fails_clearly(env: WorkflowEnvironment) -> None:
    """A feature that never registers fails with FeatureRegistrationTimeout after the deadline."""
    fake = FakeAzure(feature_state="NotRegistered", polls_until_registered=-1)
    async with running(env, fake, key_url=KEY_URL, feature_registration_timeout="PT3M") as ob:
        with pytest.raises(WorkflowFailureError) as failure:
            await ob.handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == ErrorType.FEATURE_REGISTRATION_TIMEOUT
    assert "EncryptionAtRestWithCrossTenantKey" in cause.message
    assert A.ENSURE_APPLICATION not in fake.names()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer_tenant_id": "not-a-guid"}, "customer_tenant_id"),
        ({"region": "westeurope"}, "region"),
        ({"disk_sku": "UltraSSD_LRS"}, "disk_sku"),
        ({"key_url": "http://contoso-kv.vault.azure.net/keys/cmk"}, "key_url"),
        ({"key_url": "https://contoso-kv.vault.azure.net/keys/cmk"}, "key_url"),
        ({"des_name": "bad name!"}, "des_name"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_invalid_request_fails_before_any_activity(
    env: WorkflowEnvironment, overrides: dict[str, Any], field: str
) -> None:
    """Invalid input fails at once, non-retryable, naming the field, with no activity run."""
    async with running(env, **overrides) as onboarding:
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
        status = await onboarding.handle.query(CmkOnboardingWorkflow.status)
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == ErrorType.INVALID_REQUEST and cause.non_retryable
    assert field in cause.message
    assert any(problem[0] == field for problem in cause.details[0]["problems"])
    assert onboarding.fake.calls == []
    assert status.stage == "failed"


async def test_non_object_request_fails_instead_of_retrying_the_task(
    env: WorkflowEnvironment,
) -> None:
    """A request that is not a JSON object (e.g. from `temporal workflow start`) fails clearly."""
    async with running(env, key_url=KEY_URL) as onboarding:
        await onboarding.handle.result()
        handle = await env.client.start_workflow(
            CmkOnboardingWorkflow.run,
            "not an object",
            id=f"{onboarding.handle.id}-raw",
            task_queue=(await onboarding.handle.describe()).task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == ErrorType.INVALID_REQUEST
    assert "request: must be a JSON object" in cause.message


async def test_isv_side_rejection_fails_with_its_type(env: WorkflowEnvironment) -> None:
    """A non-retryable ISV-side rejection fails the workflow, naming the stage, keeping the type."""
    fake = FakeAzure()
    fake.errors[A.ENSURE_MANAGED_IDENTITY].append(
        ApplicationError(
            "quota exceeded", type=ErrorType.AZURE_REQUEST_REJECTED, non_retryable=True
        )
    )
    async with running(env, fake, key_url=KEY_URL) as onboarding:
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == ErrorType.AZURE_REQUEST_REJECTED
    assert "ensuring-identity failed: quota exceeded" in cause.message
    assert A.NOTIFY_CUSTOMER not in fake.names()


async def test_verification_mismatch_fails_and_compensates(env: WorkflowEnvironment) -> None:
    """A test disk with the wrong encryption type fails verification and removes DES and disk."""
    fake = FakeAzure(disk_encryption_type="EncryptionAtRestWithPlatformKey")
    async with running(env, fake, key_url=KEY_URL) as onboarding:
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == ErrorType.VERIFICATION_FAILED
    assert "EncryptionAtRestWithPlatformKey" in cause.message
    assert fake.names()[-2:] == [A.DELETE_TEST_DISK, A.DELETE_ENCRYPTION_SET]
