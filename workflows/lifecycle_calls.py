"""Activity calls of the watch, key change and offboarding workflows.

The same runner and call profiles as the onboarding (workflows/steps.py, options.py): idempotent
writes and deletes are bounded by time windows that worker crashes cannot exhaust, and go to the
paced writes queues like the onboarding's.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

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
    from workflows import options, steps
    from workflows.failures import customer_issue


def _name(resource_id: str) -> str:
    return resource_id.rsplit("/", 1)[-1]


async def read_encryption_set(encryption_set_id: str) -> EncryptionSetHealth:
    return await steps.run(
        KeyHealthActivities.read_encryption_set_health,
        ResourceRef(id=encryption_set_id),
        options.WATCH_READ,
        "Read the disk encryption set",
    )


async def probe_key(spec: ProbeSpec) -> ProbeResult:
    return await steps.run(
        KeyHealthActivities.probe_key,
        spec,
        options.WATCH_PROBE,
        f"Prove the key: create and delete disk {spec.disk_name}",
    )


async def vault_exists(key_url: str, customer_tenant_id: str) -> bool | None:
    """Whether the key's vault still answers (Key Vault's unauthenticated challenge, no token,
    no ARM call); None when that cannot be told right now."""
    try:
        await steps.run(
            KeyVaultTenantActivities.check_key_vault_tenant,
            KeyVaultTenantCheck(key_url=key_url, customer_tenant_id=customer_tenant_id),
            options.WATCH_READ,
            "Ask the key's vault whether it still exists",
        )
    except ActivityError as error:
        issue = customer_issue(error)
        if issue is not None and issue.code == "KeyVaultNotFound":
            return False
        workflow.logger.warning("Vault existence check failed: %s", error.cause or error)
        return None if issue is None else True
    return True


async def list_encryption_set_users(encryption_set_id: str) -> list[str]:
    return await steps.run(
        KeyHealthActivities.list_encryption_set_users,
        ResourceRef(id=encryption_set_id),
        options.WATCH_READ,
        "List the disks that use the encryption set",
    )


async def put_encryption_set(spec: EncryptionSetSpec) -> EncryptionSetRef:
    """DES updates count against DiskRP's DES limit: the queue paced at it."""
    return await steps.run(
        EncryptionActivities.create_encryption_set,
        spec,
        options.PACED_DES_WRITE,
        f"Point encryption set {spec.name} at {spec.key_url}",
    )


async def verify_encryption_set(spec: EncryptionSetSpec) -> EncryptionSetRef:
    return await steps.run(
        EncryptionActivities.verify_encryption_set,
        spec,
        options.WATCH_READ,
        f"Read back encryption set {spec.name}",
    )


async def create_test_disk(spec: TestDiskSpec) -> TestDiskRef:
    return await steps.run(
        EncryptionActivities.create_test_disk,
        spec,
        options.PACED_LONG_RUNNING_WRITE,
        f"Create verification disk {spec.name}",
    )


async def delete_test_disk(disk_id: str) -> None:
    await steps.run(
        EncryptionActivities.delete_test_disk,
        ResourceRef(id=disk_id),
        options.PACED_CLEANUP,
        f"Delete verification disk {_name(disk_id)}",
    )


async def delete_encryption_set(encryption_set_id: str) -> bool:
    return await steps.run(
        EncryptionActivities.delete_encryption_set,
        ResourceRef(id=encryption_set_id),
        options.PACED_CLEANUP,
        f"Delete encryption set {_name(encryption_set_id)}",
    )


async def delete_managed_identity(identity_id: str) -> None:
    await steps.run(
        ManagedIdentityActivities.delete_managed_identity,
        ResourceRef(id=identity_id),
        options.PACED_CLEANUP,
        f"Delete per-customer identity {_name(identity_id)}",
    )


async def delete_application(app_object_id: str) -> None:
    await steps.run(
        GraphActivities.delete_application,
        ResourceRef(id=app_object_id),
        options.CLEANUP,
        f"Delete per-customer application {app_object_id}",
    )


async def notify(notification: LifecycleNotification) -> None:
    """Best effort: status and search attributes still show everything if a channel is down."""
    try:
        await steps.run(
            LifecycleNotifierActivities.notify_lifecycle,
            notification,
            options.LIFECYCLE_NOTIFY,
            f"Notify the {notification.audience}: {notification.kind}",
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
