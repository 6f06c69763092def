"""Typed activity calls: each names its activity method, call profile and history summary."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow

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
from models.wording import duration_words
from workflows import options
from workflows.options import CallProfile
from workflows.task_queues import paced_queue

# Only the method references are used here (their names and types); the worker registers the
# bound methods. Passed through: the workflow sandbox must not re-import the Azure SDKs.
with workflow.unsafe.imports_passed_through():
    from activities.encryption import EncryptionActivities
    from activities.features import FeatureActivities
    from activities.graph_apps import GraphActivities
    from activities.identity import ManagedIdentityActivities
    from activities.notify import NotifierActivities

Arg = TypeVar("Arg")
Result = TypeVar("Result")


async def run(
    activity: Callable[[Any, Arg], Awaitable[Result]],
    arg: Arg,
    profile: CallProfile,
    summary: str,
) -> Result:
    """Schedule one activity method with the timeouts, retries and queue of its profile."""
    return await workflow.execute_activity_method(activity, arg, **_scheduling(profile, summary))


async def run_without_argument(
    activity: Callable[[Any], Awaitable[Result]], profile: CallProfile, summary: str
) -> Result:
    """`run` for an activity method that takes no argument."""
    return await workflow.execute_activity_method(activity, **_scheduling(profile, summary))


def _scheduling(profile: CallProfile, summary: str) -> dict[str, Any]:
    return {
        "task_queue": paced_queue(profile.queue),
        "start_to_close_timeout": profile.start_to_close,
        "schedule_to_close_timeout": profile.schedule_to_close,
        "heartbeat_timeout": profile.heartbeat,
        "retry_policy": profile.retry,
        "cancellation_type": profile.cancellation,
        "summary": summary,
    }


async def get_feature(ref: FeatureRef) -> FeatureState:
    return await run(
        FeatureActivities.get_feature,
        ref,
        options.AZURE_CALL,
        f"Read preview feature {ref.namespace}/{ref.feature_name}",
    )


async def register_feature(ref: FeatureRef) -> FeatureState:
    return await run(
        FeatureActivities.register_feature,
        ref,
        options.AZURE_CALL,
        f"Register preview feature {ref.feature_name}",
    )


async def wait_feature_registered(ref: FeatureRef, give_up_after: timedelta) -> FeatureState:
    """Poll through activity retries: however long it takes, history records one attempt."""
    return await run(
        FeatureActivities.wait_feature_registered,
        ref,
        options.FEATURE_POLL.within(give_up_after),
        f"Wait until {ref.feature_name} is Registered (at most {duration_words(give_up_after)})",
    )


async def ensure_feature_registered(ref: FeatureRef, give_up_after: timedelta) -> FeatureState:
    """Read, register if needed, poll through retries, re-register the provider: one activity."""
    return await run(
        FeatureActivities.ensure_feature_registered,
        ref,
        options.FEATURE_ENSURE.within(give_up_after),
        f"Ensure feature {ref.feature_name} is Registered"
        f" (at most {duration_words(give_up_after)})",
    )


async def register_provider(ref: ProviderRef) -> str:
    return await run(
        FeatureActivities.register_provider,
        ref,
        options.AZURE_CALL,
        f"Re-register resource provider {ref.namespace}",
    )


async def ensure_application(spec: ApplicationSpec) -> ApplicationRef:
    return await run(
        GraphActivities.ensure_application,
        spec,
        options.AZURE_CALL,
        f"Ensure multi-tenant application {spec.unique_name}",
    )


async def ensure_managed_identity(spec: ManagedIdentitySpec) -> ManagedIdentityRef:
    return await run(
        ManagedIdentityActivities.ensure_managed_identity,
        spec,
        options.AZURE_CALL,
        f"Ensure managed identity {spec.name}",
    )


async def ensure_federated_credential(spec: FederatedCredentialSpec) -> FederatedCredentialRef:
    return await run(
        GraphActivities.ensure_federated_credential,
        spec,
        options.AZURE_CALL,
        f"Ensure federated credential {spec.name} (subject {spec.subject})",
    )


async def create_encryption_set(spec: EncryptionSetSpec, attempt: int) -> EncryptionSetRef:
    return await run(
        EncryptionActivities.create_encryption_set,
        spec,
        options.PACED_DES_WRITE,
        f"Create disk encryption set {spec.name} (attempt {attempt})",
    )


async def verify_encryption_set(spec: EncryptionSetSpec) -> EncryptionSetRef:
    return await run(
        EncryptionActivities.verify_encryption_set,
        spec,
        options.AZURE_CALL,
        f"Verify disk encryption set {spec.name}",
    )


async def create_test_disk(spec: TestDiskSpec) -> TestDiskRef:
    return await run(
        EncryptionActivities.create_test_disk,
        spec,
        options.PACED_LONG_RUNNING_WRITE,
        f"Create test disk {spec.name} encrypted with the new set",
    )


DeleteMethod = Callable[[Any, ResourceRef], Awaitable[object]]

# Compensation and cleanup name their deletes by activity name; each is an idempotent delete.
_DELETES: dict[ActivityName, tuple[DeleteMethod, CallProfile]] = {
    ActivityName.DELETE_TEST_DISK: (EncryptionActivities.delete_test_disk, options.PACED_CLEANUP),
    ActivityName.DELETE_ENCRYPTION_SET: (
        EncryptionActivities.delete_encryption_set,
        options.PACED_CLEANUP,
    ),
    ActivityName.DELETE_MANAGED_IDENTITY: (
        ManagedIdentityActivities.delete_managed_identity,
        options.PACED_CLEANUP,
    ),
    ActivityName.DELETE_APPLICATION: (GraphActivities.delete_application, options.CLEANUP),
}


async def delete(name: ActivityName, resource_id: str, what: str) -> object:
    """Run one idempotent delete activity for compensation or cleanup."""
    activity, profile = _DELETES[name]
    return await run(activity, ResourceRef(id=resource_id), profile, f"Delete {what}")


async def notify(
    notification: CustomerNotification, *, abandon_on_cancel: bool = True
) -> NotificationReceipt | None:
    """None from histories recorded before the activity returned a receipt (their null payload
    decodes to None whatever the annotation says)."""
    return await run(
        NotifierActivities.notify_customer,
        notification,
        options.NOTIFY if abandon_on_cancel else options.NOTIFY_WAITING_ON_CANCEL,
        f"Notify {notification.customer_name}: {notification.kind}",
    )
