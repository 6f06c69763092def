"""Fake activities for the key-health watch and offboarding, under the real activity names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio import activity

from harness.fake_azure import customer_error
from models import (
    ActivityName,
    CustomerSetupIssue,
    EncryptionSetRef,
    EncryptionSetSpec,
    KeyVaultTenant,
    KeyVaultTenantCheck,
    ResourceRef,
    TestDiskRef,
    TestDiskSpec,
)
from models.lifecycle import (
    Deployment,
    EncryptionSetHealth,
    LifecycleActivity,
    LifecycleNotification,
    ProbeResult,
    ProbeSpec,
)

SUBSCRIPTION = "99999999-8888-7777-6666-555555555555"
CUSTOMER_TENANT = "11111111-2222-3333-4444-555555555555"
RG = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-cmk"
KEY_URL = "https://contoso-kv.vault.azure.net/keys/cmk/0123456789abcdef0123456789abcdef"
NEW_KEY_URL = "https://contoso-kv.vault.azure.net/keys/cmk-2026/fedcba9876543210fedcba9876543210"


def deployment(des_name: str, *, isolated: bool = False, **overrides: Any) -> Deployment:
    identity = "cmk-cross-tenant-identity" + (f"-{CUSTOMER_TENANT}" if isolated else "")
    values: dict[str, Any] = {
        "onboarding_workflow_id": f"cmk-onboarding-{CUSTOMER_TENANT}-{des_name}",
        "customer_tenant_id": CUSTOMER_TENANT,
        "customer_name": "Contoso",
        "subscription_id": SUBSCRIPTION,
        "resource_group": "rg-cmk",
        "region": "eastus",
        "des_name": des_name,
        "encryption_set_id": f"{RG}/providers/Microsoft.Compute/diskEncryptionSets/{des_name}",
        "identity_id": f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
        + identity,
        "federated_client_id": "0f0f0f0f-1111-2222-3333-444444444444",
        "app_object_id": "app-object-1" if isolated else None,
        "key_url": KEY_URL,
        "identity_mode": "isolated" if isolated else "shared",
    }
    values.update(overrides)
    return Deployment(**values)


@dataclass
class FakeKeyChain:
    """The DES and the key behind it. Set `rotation_cause` (the DES read shows it) or
    `probe_cause` (only a disk create shows it); `rejected_keys` refuse a DES update;
    `vault_gone`: the key's vault no longer answers Key Vault's challenge."""

    deployment: Deployment
    found: bool = True
    key_url: str = KEY_URL
    rotation_cause: str | None = None
    probe_cause: str | None = None
    last_modified_by: str | None = None
    users: list[str] = field(default_factory=list)
    in_use_deletes: int = 0
    rejected_keys: set[str] = field(default_factory=set)
    vault_gone: bool = False
    foreign_owner: bool = False
    calls: list[tuple[str, Any]] = field(default_factory=list)
    notifications: list[LifecycleNotification] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def _ref(self, spec_key: str | None = None) -> EncryptionSetRef:
        d = self.deployment
        return EncryptionSetRef(
            id=d.encryption_set_id,
            provisioning_state="Succeeded",
            key_url=spec_key or self.key_url,
            federated_client_id=d.federated_client_id,
            identity_ids=(d.identity_id,),
            encryption_type=d.encryption_type,
        )

    @activity.defn(name=LifecycleActivity.READ_ENCRYPTION_SET_HEALTH)
    async def read_encryption_set_health(self, ref: ResourceRef) -> EncryptionSetHealth:
        self.calls.append(("read", ref.id))
        if not self.found:
            return EncryptionSetHealth(found=False)
        d = self.deployment
        return EncryptionSetHealth(
            found=True,
            provisioning_state="Succeeded",
            key_url=self.key_url,
            federated_client_id=d.federated_client_id,
            identity_ids=(d.identity_id,),
            rotation_error_cause=self.rotation_cause,
            rotation_error_message=self.rotation_cause and f"{self.rotation_cause} (fake)",
            last_modified_by=self.last_modified_by,
            last_modified_at="2026-12-01T00:00:00Z" if self.last_modified_by else None,
        )

    @activity.defn(name=LifecycleActivity.PROBE_KEY)
    async def probe_key(self, spec: ProbeSpec) -> ProbeResult:
        self.calls.append(("probe", spec.disk_name))
        cause = self.probe_cause or self.rotation_cause
        if cause:
            return ProbeResult(ok=False, cause=cause, message=f"{cause} (fake probe)")
        return ProbeResult(ok=True)

    @activity.defn(name=ActivityName.CHECK_KEY_VAULT_TENANT)
    async def check_key_vault_tenant(self, check: KeyVaultTenantCheck) -> KeyVaultTenant:
        self.calls.append(("vault", check.key_url))
        if self.vault_gone:
            raise customer_error(
                CustomerSetupIssue(
                    code="KeyVaultNotFound", message="No Key Vault answers (fake)", fix="-"
                )
            )
        return KeyVaultTenant(tenant_id=check.customer_tenant_id)

    @activity.defn(name=LifecycleActivity.LIST_ENCRYPTION_SET_USERS)
    async def list_encryption_set_users(self, ref: ResourceRef) -> list[str]:
        self.calls.append(("users", ref.id))
        return [] if not self.found else list(self.users)

    @activity.defn(name=LifecycleActivity.NOTIFY_LIFECYCLE)
    async def notify_lifecycle(self, notification: LifecycleNotification) -> None:
        self.notifications.append(notification)

    @activity.defn(name=ActivityName.CREATE_ENCRYPTION_SET)
    async def create_encryption_set(self, spec: EncryptionSetSpec) -> EncryptionSetRef:
        self.calls.append(("put", spec.key_url))
        if spec.key_url in self.rejected_keys:
            raise customer_error(
                CustomerSetupIssue(
                    code="KeyVaultAccessForbidden",
                    message="Unable to access key vault resource (fake)",
                    fix="Assign the role",
                )
            )
        self.key_url = spec.key_url
        return self._ref()

    @activity.defn(name=ActivityName.VERIFY_ENCRYPTION_SET)
    async def verify_encryption_set(self, spec: EncryptionSetSpec) -> EncryptionSetRef:
        self.calls.append(("verify", spec.key_url))
        return self._ref()

    @activity.defn(name=ActivityName.CREATE_TEST_DISK)
    async def create_test_disk(self, spec: TestDiskSpec) -> TestDiskRef:
        self.calls.append(("disk", spec.name))
        return TestDiskRef(
            id=f"{RG}/providers/Microsoft.Compute/disks/{spec.name}",
            encryption_type=spec.encryption_type,
            encryption_set_id=spec.encryption_set_id,
        )

    @activity.defn(name=ActivityName.DELETE_TEST_DISK)
    async def delete_test_disk(self, ref: ResourceRef) -> None:
        self.calls.append(("delete_disk", ref.id))

    @activity.defn(name=ActivityName.DELETE_ENCRYPTION_SET)
    async def delete_encryption_set(self, ref: ResourceRef) -> bool:
        self.calls.append(("delete_des", ref.id))
        if self.foreign_owner:
            return False  # the real activity keeps a set tagged for another onboarding
        if self.in_use_deletes > 0:
            self.in_use_deletes -= 1
            return False
        existed, self.found = self.found, False
        return existed

    @activity.defn(name=ActivityName.DELETE_MANAGED_IDENTITY)
    async def delete_managed_identity(self, ref: ResourceRef) -> None:
        self.calls.append(("delete_identity", ref.id))

    @activity.defn(name=ActivityName.DELETE_APPLICATION)
    async def delete_application(self, ref: ResourceRef) -> None:
        self.calls.append(("delete_app", ref.id))

    def activities(self) -> list[Any]:
        return [
            self.read_encryption_set_health,
            self.probe_key,
            self.list_encryption_set_users,
            self.check_key_vault_tenant,
            self.notify_lifecycle,
            self.create_encryption_set,
            self.verify_encryption_set,
            self.create_test_disk,
            self.delete_test_disk,
            self.delete_encryption_set,
            self.delete_managed_identity,
            self.delete_application,
        ]
