"""Activity calls of the watch and offboarding workflows, with their timeouts and retries.

Typed references (`execute_activity_method`) to the activity classes; the Azure writes go to the
paced writes queue like the onboarding's (workflows/task_queues.py). Constants are our own: the
onboarding's call profiles (workflows/steps.py, options.py) are being reworked separately.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, is_cancelled_exception
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.encryption import EncryptionActivities
    from activities.graph_apps import GraphActivities
    from activities.identity import ManagedIdentityActivities
    from activities.key_health import KeyHealthActivities
    from activities.key_vault_tenant import KeyVaultTenantActivities
    from activities.lifecycle_notify import LifecycleNotifierActivities
    from models import (
        EncryptionSetRef,
        EncryptionSetSpec,
        ErrorType,
        KeyVaultTenantCheck,
        ResourceRef,
        TestDiskRef,
        TestDiskSpec,
    )
    from models.lifecycle import (
        EncryptionSetHealth,
        LifecycleNotification,
        ProbeResult,
        ProbeSpec,
    )
    from workflows.failures import customer_issue
    from workflows.task_queues import azure_writes_task_queue, des_writes_task_queue

_NEVER_RETRY = [
    ErrorType.INVALID_REQUEST,
    ErrorType.CUSTOMER_SETUP,
    ErrorType.AZURE_REQUEST_REJECTED,
]
# A lost worker is noticed after this (every Azure activity heartbeats in the background).
HEARTBEAT = timedelta(seconds=20)
# A read that keeps failing for ~15 minutes fails this check; the next check tries again.
READ_TIMEOUT = timedelta(minutes=2)
READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=20,
    non_retryable_error_types=_NEVER_RETRY,
)
# Writes wait on Azure long-running operations; deletes and rollbacks keep trying longer.
WRITE_TIMEOUT = timedelta(minutes=20)
WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
    non_retryable_error_types=_NEVER_RETRY,
)
NOTIFY_TIMEOUT = timedelta(seconds=30)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
)
_WAIT = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED


def _writes_queue() -> str:
    return azure_writes_task_queue(workflow.info().task_queue)


def _des_writes_queue() -> str:
    """DES updates count against DiskRP's DES limit: the queue paced at it."""
    return des_writes_task_queue(workflow.info().task_queue)


async def read_encryption_set(encryption_set_id: str) -> EncryptionSetHealth:
    return await workflow.execute_activity_method(
        KeyHealthActivities.read_encryption_set_health,
        ResourceRef(id=encryption_set_id),
        start_to_close_timeout=READ_TIMEOUT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=READ_RETRY,
        cancellation_type=_WAIT,
        summary="Read the disk encryption set",
    )


async def probe_key(spec: ProbeSpec) -> ProbeResult:
    return await workflow.execute_activity_method(
        KeyHealthActivities.probe_key,
        spec,
        task_queue=_writes_queue(),
        start_to_close_timeout=WRITE_TIMEOUT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=WRITE_RETRY,
        cancellation_type=_WAIT,
        summary=f"Prove the key: create and delete disk {spec.disk_name}",
    )


async def vault_exists(key_url: str, customer_tenant_id: str) -> bool | None:
    """Whether the key's vault still answers (Key Vault's unauthenticated challenge, no token,
    no ARM call); None when that cannot be told right now."""
    try:
        await workflow.execute_activity_method(
            KeyVaultTenantActivities.check_key_vault_tenant,
            KeyVaultTenantCheck(key_url=key_url, customer_tenant_id=customer_tenant_id),
            start_to_close_timeout=READ_TIMEOUT,
            retry_policy=READ_RETRY,
            cancellation_type=_WAIT,
            summary="Ask the key's vault whether it still exists",
        )
    except ActivityError as error:
        issue = customer_issue(error)
        if issue is not None and issue.code == "KeyVaultNotFound":
            return False
        workflow.logger.warning("Vault existence check failed: %s", error.cause or error)
        return None if issue is None else True
    return True


async def list_encryption_set_users(encryption_set_id: str) -> list[str]:
    return await workflow.execute_activity_method(
        KeyHealthActivities.list_encryption_set_users,
        ResourceRef(id=encryption_set_id),
        start_to_close_timeout=READ_TIMEOUT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=READ_RETRY,
        cancellation_type=_WAIT,
        summary="List the disks that use the encryption set",
    )


async def put_encryption_set(spec: EncryptionSetSpec) -> EncryptionSetRef:
    return await workflow.execute_activity_method(
        EncryptionActivities.create_encryption_set,
        spec,
        task_queue=_des_writes_queue(),
        start_to_close_timeout=WRITE_TIMEOUT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=WRITE_RETRY,
        cancellation_type=_WAIT,
        summary=f"Point encryption set {spec.name} at {spec.key_url}",
    )


async def verify_encryption_set(spec: EncryptionSetSpec) -> EncryptionSetRef:
    return await workflow.execute_activity_method(
        EncryptionActivities.verify_encryption_set,
        spec,
        start_to_close_timeout=READ_TIMEOUT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=READ_RETRY,
        cancellation_type=_WAIT,
        summary=f"Read back encryption set {spec.name}",
    )


async def create_test_disk(spec: TestDiskSpec) -> TestDiskRef:
    return await workflow.execute_activity_method(
        EncryptionActivities.create_test_disk,
        spec,
        task_queue=_writes_queue(),
        start_to_close_timeout=WRITE_TIMEOUT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=WRITE_RETRY,
        cancellation_type=_WAIT,
        summary=f"Create verification disk {spec.name}",
    )


async def delete_test_disk(disk_id: str) -> None:
    await workflow.execute_activity_method(
        EncryptionActivities.delete_test_disk,
        ResourceRef(id=disk_id),
        task_queue=_writes_queue(),
        start_to_close_timeout=WRITE_TIMEOUT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=WRITE_RETRY,
        cancellation_type=_WAIT,
        summary=f"Delete verification disk {disk_id.rsplit('/', 1)[-1]}",
    )


async def delete_encryption_set(encryption_set_id: str) -> bool:
    return await workflow.execute_activity_method(
        EncryptionActivities.delete_encryption_set,
        ResourceRef(id=encryption_set_id),
        task_queue=_writes_queue(),
        start_to_close_timeout=WRITE_TIMEOUT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=WRITE_RETRY,
        cancellation_type=_WAIT,
        summary=f"Delete encryption set {encryption_set_id.rsplit('/', 1)[-1]}",
    )


async def delete_managed_identity(identity_id: str) -> None:
    await workflow.execute_activity_method(
        ManagedIdentityActivities.delete_managed_identity,
        ResourceRef(id=identity_id),
        task_queue=_writes_queue(),
        start_to_close_timeout=WRITE_TIMEOUT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=WRITE_RETRY,
        cancellation_type=_WAIT,
        summary=f"Delete per-customer identity {identity_id.rsplit('/', 1)[-1]}",
    )


async def delete_application(app_object_id: str) -> None:
    await workflow.execute_activity_method(
        GraphActivities.delete_application,
        ResourceRef(id=app_object_id),
        start_to_close_timeout=READ_TIMEOUT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=WRITE_RETRY,
        cancellation_type=_WAIT,
        summary=f"Delete per-customer application {app_object_id}",
    )


async def notify(notification: LifecycleNotification) -> None:
    """Best effort: status and search attributes still show everything if a channel is down."""
    try:
        await workflow.execute_activity_method(
            LifecycleNotifierActivities.notify_lifecycle,
            notification,
            start_to_close_timeout=NOTIFY_TIMEOUT,
            retry_policy=NOTIFY_RETRY,
            summary=f"Notify the {notification.audience}: {notification.kind}",
        )
    except ActivityError as error:
        if is_cancelled_exception(error):
            raise  # the workflow's own cancellation, not a channel failure: never swallow it
        workflow.logger.warning(
            "Notification %s to %s failed: %s",
            notification.kind,
            notification.audience,
            error.cause or error,
        )
