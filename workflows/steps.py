"""Typed activity calls: each one fixes its timeout, retry policy and history summary."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.workflow import ActivityCancellationType

from models import (
    ActivityName,
    ApplicationRef,
    ApplicationSpec,
    CustomerNotification,
    EncryptionSetRef,
    EncryptionSetSpec,
    FeatureRef,
    FeatureState,
    FederatedCredentialRef,
    FederatedCredentialSpec,
    ManagedIdentityRef,
    ManagedIdentitySpec,
    NotificationReceipt,
    ProviderRef,
    ResourceRef,
    TestDiskRef,
    TestDiskSpec,
)
from workflows import options
from workflows.task_queues import AZURE_WRITE_ACTIVITIES, azure_writes_task_queue

# Every call waits for its activity to acknowledge cancellation: compensation then never races a
# create still in flight, and the workflow never closes while one of its activities still runs.
_WAIT = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED


def _queue(name: ActivityName) -> str | None:
    """The paced writes queue for per-onboarding ARM writes; None: the workflow's own queue."""
    if name in AZURE_WRITE_ACTIVITIES:
        return azure_writes_task_queue(workflow.info().task_queue)
    return None


async def get_feature(ref: FeatureRef) -> FeatureState:
    return await workflow.execute_activity(
        ActivityName.GET_FEATURE,
        ref,
        result_type=FeatureState,
        start_to_close_timeout=options.AZURE_CALL_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        retry_policy=options.AZURE_CALL_RETRY,
        cancellation_type=_WAIT,
        summary=f"Read preview feature {ref.namespace}/{ref.feature_name}",
    )


async def register_feature(ref: FeatureRef) -> FeatureState:
    return await workflow.execute_activity(
        ActivityName.REGISTER_FEATURE,
        ref,
        result_type=FeatureState,
        start_to_close_timeout=options.AZURE_CALL_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        retry_policy=options.AZURE_CALL_RETRY,
        cancellation_type=_WAIT,
        summary=f"Register preview feature {ref.feature_name}",
    )


async def wait_feature_registered(ref: FeatureRef, give_up_after: timedelta) -> FeatureState:
    """Poll through activity retries: however long it takes, history records one attempt."""
    return await workflow.execute_activity(
        ActivityName.WAIT_FEATURE_REGISTERED,
        ref,
        result_type=FeatureState,
        start_to_close_timeout=options.FEATURE_POLL_ATTEMPT_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        schedule_to_close_timeout=give_up_after,
        retry_policy=options.FEATURE_POLL_RETRY,
        cancellation_type=_WAIT,
        summary=f"Wait until {ref.feature_name} is Registered (at most {give_up_after})",
    )


async def ensure_feature_registered(ref: FeatureRef, give_up_after: timedelta) -> FeatureState:
    """Read, register if needed, poll through retries, re-register the provider: one activity."""
    return await workflow.execute_activity(
        ActivityName.ENSURE_FEATURE_REGISTERED,
        ref,
        result_type=FeatureState,
        start_to_close_timeout=options.FEATURE_POLL_ATTEMPT_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        schedule_to_close_timeout=give_up_after,
        retry_policy=options.FEATURE_ENSURE_RETRY,
        cancellation_type=_WAIT,
        summary=f"Ensure feature {ref.feature_name} is Registered (at most {give_up_after})",
    )


async def register_provider(ref: ProviderRef) -> str:
    return await workflow.execute_activity(
        ActivityName.REGISTER_PROVIDER,
        ref,
        result_type=str,
        start_to_close_timeout=options.AZURE_CALL_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        retry_policy=options.AZURE_CALL_RETRY,
        cancellation_type=_WAIT,
        summary=f"Re-register resource provider {ref.namespace}",
    )


async def ensure_application(spec: ApplicationSpec) -> ApplicationRef:
    return await workflow.execute_activity(
        ActivityName.ENSURE_APPLICATION,
        spec,
        result_type=ApplicationRef,
        start_to_close_timeout=options.AZURE_CALL_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        retry_policy=options.AZURE_CALL_RETRY,
        cancellation_type=_WAIT,
        summary=f"Ensure multi-tenant application {spec.unique_name}",
    )


async def ensure_managed_identity(spec: ManagedIdentitySpec) -> ManagedIdentityRef:
    return await workflow.execute_activity(
        ActivityName.ENSURE_MANAGED_IDENTITY,
        spec,
        result_type=ManagedIdentityRef,
        start_to_close_timeout=options.AZURE_CALL_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        retry_policy=options.AZURE_CALL_RETRY,
        cancellation_type=_WAIT,
        summary=f"Ensure managed identity {spec.name}",
    )


async def ensure_federated_credential(spec: FederatedCredentialSpec) -> FederatedCredentialRef:
    return await workflow.execute_activity(
        ActivityName.ENSURE_FEDERATED_CREDENTIAL,
        spec,
        result_type=FederatedCredentialRef,
        start_to_close_timeout=options.AZURE_CALL_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        retry_policy=options.AZURE_CALL_RETRY,
        cancellation_type=_WAIT,
        summary=f"Ensure federated credential {spec.name} (subject {spec.subject})",
    )


async def create_encryption_set(spec: EncryptionSetSpec, attempt: int) -> EncryptionSetRef:
    return await workflow.execute_activity(
        ActivityName.CREATE_ENCRYPTION_SET,
        spec,
        task_queue=_queue(ActivityName.CREATE_ENCRYPTION_SET),
        result_type=EncryptionSetRef,
        start_to_close_timeout=options.LONG_RUNNING_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        retry_policy=options.LONG_RUNNING_RETRY,
        cancellation_type=_WAIT,
        summary=f"Create disk encryption set {spec.name} (attempt {attempt})",
    )


async def verify_encryption_set(spec: EncryptionSetSpec) -> EncryptionSetRef:
    return await workflow.execute_activity(
        ActivityName.VERIFY_ENCRYPTION_SET,
        spec,
        result_type=EncryptionSetRef,
        start_to_close_timeout=options.AZURE_CALL_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        retry_policy=options.AZURE_CALL_RETRY,
        cancellation_type=_WAIT,
        summary=f"Verify disk encryption set {spec.name}",
    )


async def create_test_disk(spec: TestDiskSpec) -> TestDiskRef:
    return await workflow.execute_activity(
        ActivityName.CREATE_TEST_DISK,
        spec,
        task_queue=_queue(ActivityName.CREATE_TEST_DISK),
        result_type=TestDiskRef,
        start_to_close_timeout=options.LONG_RUNNING_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        retry_policy=options.LONG_RUNNING_RETRY,
        cancellation_type=_WAIT,
        summary=f"Create test disk {spec.name} encrypted with the new set",
    )


async def delete(name: ActivityName, resource_id: str, what: str) -> object:
    """Run one idempotent delete activity for compensation or cleanup."""
    return await workflow.execute_activity(
        name,
        ResourceRef(id=resource_id),
        task_queue=_queue(name),
        result_type=bool if name == ActivityName.DELETE_ENCRYPTION_SET else type(None),
        start_to_close_timeout=options.COMPENSATION_TIMEOUT,
        heartbeat_timeout=options.AZURE_HEARTBEAT,
        retry_policy=options.COMPENSATION_RETRY,
        cancellation_type=_WAIT,
        summary=f"Delete {what}",
    )


async def notify(notification: CustomerNotification) -> NotificationReceipt | None:
    """None from histories recorded before the activity returned a receipt."""
    return await workflow.execute_activity(
        ActivityName.NOTIFY_CUSTOMER,
        notification,
        result_type=NotificationReceipt | None,  # type: ignore[arg-type]
        start_to_close_timeout=options.NOTIFY_TIMEOUT,
        retry_policy=options.NOTIFY_RETRY,
        cancellation_type=_WAIT,
        summary=f"Notify {notification.customer_name}: {notification.kind}",
    )
