"""Configurable fake activities registered under the real activity names."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from models import (
    DEFAULT_POLICY,
    ActivityName,
    ApplicationRef,
    ApplicationSpec,
    CustomerNotification,
    CustomerSetupIssue,
    EncryptionSetRef,
    EncryptionSetSpec,
    ErrorType,
    FeatureRef,
    FeatureState,
    FederatedCredentialRef,
    FederatedCredentialSpec,
    KeyVaultTenant,
    KeyVaultTenantCheck,
    ManagedIdentityRef,
    ManagedIdentitySpec,
    Policy,
    ProviderRef,
    ResourceRef,
    TestDiskRef,
    TestDiskSpec,
)

ISSUES = {
    "no_consent": CustomerSetupIssue(
        code="AADSTS700016",
        message="Application not found in the directory of the customer tenant",
        fix="Grant admin consent with the consent URL or run `az ad sp create --id <appId>`",
    ),
    "no_role": CustomerSetupIssue(
        code="KeyVaultAccessForbidden",
        message="Unable to access key vault resource 'kv' to enable encryption at rest",
        fix="Assign 'Key Vault Crypto Service Encryption User' to the application on the vault",
    ),
    "key_disabled": CustomerSetupIssue(
        code="KeyDisabled",
        message="The key is disabled",
        fix="Enable the key: az keyvault key set-attributes --enabled true",
    ),
    "wrong_region": CustomerSetupIssue(
        code="KeyVaultRegionMismatch",
        message="The key vault is in westeurope, the disks are in eastus",
        fix="Create the vault in eastus",
    ),
}


def customer_error(issue: CustomerSetupIssue) -> ApplicationError:
    return ApplicationError(
        f"{issue.code}: {issue.message}",
        issue.model_dump(),
        type=ErrorType.CUSTOMER_SETUP,
        non_retryable=True,
    )


def throttled() -> ApplicationError:
    return ApplicationError(
        "429 Too Many Requests",
        type=ErrorType.THROTTLED,
        next_retry_delay=timedelta(seconds=1),
    )


def _guid(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


@dataclass
class FakeAzure:
    """Records every call; `errors[name]` are raised by successive calls, `blocked` never return.

    `lost[name]` calls fail as if their worker was killed mid-call: the server counts such an
    attempt (a heartbeat timeout) like any retryable failure, and a real one costs 20 s of wall
    time that the test server does not skip (tests/reliability/test_worker_crash.py SIGKILLs real
    workers). Every call of an activity in `down` fails as during an Azure outage.
    """

    feature_state: str = "Registered"
    polls_until_registered: int = 0
    errors: dict[ActivityName, list[BaseException]] = field(
        default_factory=lambda: defaultdict(list)
    )
    blocked: set[ActivityName] = field(default_factory=set)
    lost: dict[ActivityName, int] = field(default_factory=lambda: defaultdict(int))
    down: set[ActivityName] = field(default_factory=set)
    encryption_set_in_use: bool = False
    disk_encryption_type: str | None = None
    calls: list[tuple[ActivityName, Any]] = field(default_factory=list)
    # The task queue each recorded call ran on (activity.info().task_queue), in call order.
    queues: list[tuple[ActivityName, str]] = field(default_factory=list)
    cancelled: list[ActivityName] = field(default_factory=list)
    notifications: list[CustomerNotification] = field(default_factory=list)
    # The worker's policy, and vault host -> tenant (unlisted: the customer's own tenant).
    # These guard calls go to `guard_calls`, not `calls`, so step-order assertions stay as they are.
    policy: Policy = DEFAULT_POLICY
    vault_tenants: dict[str, str] = field(default_factory=dict)
    guard_calls: list[tuple[ActivityName, Any]] = field(default_factory=list)

    def names(self) -> list[ActivityName]:
        return [name for name, _ in self.calls]

    def inputs(self, name: ActivityName) -> list[Any]:
        return [arg for called, arg in self.calls if called == name]

    def fail_with_customer_issues(self, name: ActivityName, *issues: str) -> None:
        self.errors[name].extend(customer_error(ISSUES[i]) for i in issues)

    async def _enter(self, name: ActivityName, arg: Any) -> None:
        self.calls.append((name, arg))
        self.queues.append((name, activity.info().task_queue))
        if self.errors.get(name):
            raise self.errors[name].pop(0)
        if name in self.down:
            raise ApplicationError("503 Service Unavailable", type="HttpResponseError")
        if self.lost.get(name):
            self.lost[name] -= 1
            raise ApplicationError("worker lost mid-call", type="WorkerLost")
        if name in self.blocked:
            try:
                while name in self.blocked:  # a test releases the call by discarding the name
                    activity.heartbeat()
                    await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                self.cancelled.append(name)
                raise

    @activity.defn(name=ActivityName.GET_FEATURE)
    async def get_feature(self, ref: FeatureRef) -> FeatureState:
        await self._enter(ActivityName.GET_FEATURE, ref)
        return FeatureState(state=self.feature_state)

    @activity.defn(name=ActivityName.REGISTER_FEATURE)
    async def register_feature(self, ref: FeatureRef) -> FeatureState:
        await self._enter(ActivityName.REGISTER_FEATURE, ref)
        return FeatureState(state="Registering")

    @activity.defn(name=ActivityName.WAIT_FEATURE_REGISTERED)
    async def wait_feature_registered(self, ref: FeatureRef) -> FeatureState:
        if activity.info().attempt == 1:
            await self._enter(ActivityName.WAIT_FEATURE_REGISTERED, ref)
        attempt = activity.info().attempt
        if self.polls_until_registered < 0 or attempt <= self.polls_until_registered:
            raise ApplicationError(
                "feature is Registering",
                type=ErrorType.NOT_READY,
                category=ApplicationErrorCategory.BENIGN,
            )
        self.feature_state = "Registered"
        return FeatureState(state="Registered")

    @activity.defn(name=ActivityName.ENSURE_FEATURE_REGISTERED)
    async def ensure_feature_registered(self, ref: FeatureRef) -> FeatureState:
        """Like the real one: done at first look, else polled by retries, then the provider."""
        attempt = activity.info().attempt
        if attempt == 1:
            await self._enter(ActivityName.ENSURE_FEATURE_REGISTERED, ref)
            if self.feature_state in ("Registered", "NotRequired"):
                return FeatureState(state=self.feature_state)
        if self.polls_until_registered < 0 or attempt <= self.polls_until_registered:
            raise ApplicationError(
                "feature is Registering",
                type=ErrorType.NOT_READY,
                category=ApplicationErrorCategory.BENIGN,
            )
        self.feature_state = "Registered"
        await self._enter(
            ActivityName.REGISTER_PROVIDER, ProviderRef(subscription_id=ref.subscription_id)
        )
        return FeatureState(state="Registered")

    @activity.defn(name=ActivityName.REGISTER_PROVIDER)
    async def register_provider(self, ref: ProviderRef) -> str:
        await self._enter(ActivityName.REGISTER_PROVIDER, ref)
        return "Registered"

    @activity.defn(name=ActivityName.ENSURE_APPLICATION)
    async def ensure_application(self, spec: ApplicationSpec) -> ApplicationRef:
        await self._enter(ActivityName.ENSURE_APPLICATION, spec)
        return ApplicationRef(
            object_id=_guid("object:" + spec.unique_name),
            app_id=_guid("app:" + spec.unique_name),
            created=True,
        )

    @activity.defn(name=ActivityName.ENSURE_MANAGED_IDENTITY)
    async def ensure_managed_identity(self, spec: ManagedIdentitySpec) -> ManagedIdentityRef:
        await self._enter(ActivityName.ENSURE_MANAGED_IDENTITY, spec)
        identity_id = (
            f"/subscriptions/{spec.subscription_id}/resourceGroups/{spec.resource_group}"
            f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{spec.name}"
        )
        return ManagedIdentityRef(
            id=identity_id,
            principal_id=_guid("principal:" + spec.name),
            client_id=_guid("client:" + spec.name),
            tenant_id=_guid("isv-tenant"),
            created=False,
        )

    @activity.defn(name=ActivityName.ENSURE_FEDERATED_CREDENTIAL)
    async def ensure_federated_credential(
        self, spec: FederatedCredentialSpec
    ) -> FederatedCredentialRef:
        await self._enter(ActivityName.ENSURE_FEDERATED_CREDENTIAL, spec)
        return FederatedCredentialRef(id=_guid("fic:" + spec.name), name=spec.name, created=True)

    def _encryption_set(self, spec: EncryptionSetSpec) -> EncryptionSetRef:
        return EncryptionSetRef(
            id=(
                f"/subscriptions/{spec.subscription_id}/resourceGroups/{spec.resource_group}"
                f"/providers/Microsoft.Compute/diskEncryptionSets/{spec.name}"
            ),
            provisioning_state="Succeeded",
            key_url=spec.key_url,
            federated_client_id=spec.federated_client_id,
            identity_ids=(spec.identity_id,),
            encryption_type=spec.encryption_type,
        )

    @activity.defn(name=ActivityName.CREATE_ENCRYPTION_SET)
    async def create_encryption_set(self, spec: EncryptionSetSpec) -> EncryptionSetRef:
        await self._enter(ActivityName.CREATE_ENCRYPTION_SET, spec)
        return self._encryption_set(spec)

    @activity.defn(name=ActivityName.VERIFY_ENCRYPTION_SET)
    async def verify_encryption_set(self, spec: EncryptionSetSpec) -> EncryptionSetRef:
        await self._enter(ActivityName.VERIFY_ENCRYPTION_SET, spec)
        return self._encryption_set(spec)

    @activity.defn(name=ActivityName.CREATE_TEST_DISK)
    async def create_test_disk(self, spec: TestDiskSpec) -> TestDiskRef:
        await self._enter(ActivityName.CREATE_TEST_DISK, spec)
        return TestDiskRef(
            id=(
                f"/subscriptions/{spec.subscription_id}/resourceGroups/{spec.resource_group}"
                f"/providers/Microsoft.Compute/disks/{spec.name}"
            ),
            encryption_type=self.disk_encryption_type or spec.encryption_type,
            encryption_set_id=spec.encryption_set_id,
        )

    @activity.defn(name=ActivityName.DELETE_TEST_DISK)
    async def delete_test_disk(self, ref: ResourceRef) -> None:
        await self._enter(ActivityName.DELETE_TEST_DISK, ref)

    @activity.defn(name=ActivityName.DELETE_ENCRYPTION_SET)
    async def delete_encryption_set(self, ref: ResourceRef) -> bool:
        await self._enter(ActivityName.DELETE_ENCRYPTION_SET, ref)
        return not self.encryption_set_in_use

    @activity.defn(name=ActivityName.DELETE_MANAGED_IDENTITY)
    async def delete_managed_identity(self, ref: ResourceRef) -> None:
        await self._enter(ActivityName.DELETE_MANAGED_IDENTITY, ref)

    @activity.defn(name=ActivityName.DELETE_APPLICATION)
    async def delete_application(self, ref: ResourceRef) -> None:
        await self._enter(ActivityName.DELETE_APPLICATION, ref)

    @activity.defn(name=ActivityName.NOTIFY_CUSTOMER)
    async def notify_customer(self, notification: CustomerNotification) -> None:
        await self._enter(ActivityName.NOTIFY_CUSTOMER, notification)
        self.notifications.append(notification)

    @activity.defn(name=ActivityName.EARLIER_COMPLETED_RUN)
    async def earlier_completed_run(self, workflow_id: str) -> str | None:
        return None

    @activity.defn(name=ActivityName.LOAD_POLICY)
    async def load_policy(self) -> Policy:
        self.guard_calls.append((ActivityName.LOAD_POLICY, None))
        return self.policy

    @activity.defn(name=ActivityName.CHECK_KEY_VAULT_TENANT)
    async def check_key_vault_tenant(self, check: KeyVaultTenantCheck) -> KeyVaultTenant:
        self.guard_calls.append((ActivityName.CHECK_KEY_VAULT_TENANT, check))
        host = check.key_url.split("/")[2]
        tenant = self.vault_tenants.get(host, check.customer_tenant_id)
        if tenant != check.customer_tenant_id:
            raise customer_error(
                CustomerSetupIssue(
                    code="KeyVaultInAnotherTenant",
                    message=f"The vault '{host}' belongs to tenant {tenant}",
                    fix="Use a key in a vault of your own tenant",
                )
            )
        return KeyVaultTenant(tenant_id=tenant)

    def activities(self) -> list[Any]:
        return [
            self.earlier_completed_run,
            self.load_policy,
            self.check_key_vault_tenant,
            self.get_feature,
            self.register_feature,
            self.wait_feature_registered,
            self.ensure_feature_registered,
            self.register_provider,
            self.ensure_application,
            self.ensure_managed_identity,
            self.ensure_federated_credential,
            self.create_encryption_set,
            self.verify_encryption_set,
            self.create_test_disk,
            self.delete_test_disk,
            self.delete_encryption_set,
            self.delete_managed_identity,
            self.delete_application,
            self.notify_customer,
        ]
