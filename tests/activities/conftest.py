"""Fixtures: one in-process emulator per session; per test a fresh ISV tenant and real clients."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities import LogNotifier, build_activities
from activities.azure_clients import AzureClients
from config.settings import AzureSettings
from emulator.control import CustomerTenant, IsvTenant
from emulator.runner import RunningEmulator
from models import (
    ActivityName,
    ApplicationRef,
    ApplicationSpec,
    EncryptionSetSpec,
    FederatedCredentialRef,
    FederatedCredentialSpec,
    ManagedIdentityRef,
    ManagedIdentitySpec,
    TestDiskSpec,
)
from tests.conftest import default_emulator_knobs

REGION = "eastus"
RESOURCE_GROUP = "cmk-rg"


@pytest.fixture(autouse=True)
async def _reset_knobs(emulator: RunningEmulator) -> AsyncIterator[None]:
    # Short LROs: the activities poll every 0.05 s.
    async with default_emulator_knobs(emulator.control, lro_delay=0.05):
        yield


def emulator_settings(emulator: RunningEmulator, isv: IsvTenant) -> AzureSettings:
    return AzureSettings(
        mode="emulator",
        tenant_id=isv.tenant_id,
        client_id=isv.client_id,
        client_secret=isv.client_secret,
        subscription_id=isv.subscription_id,
        emulator_url=emulator.url,
        emulator_ca_bundle=emulator.ca_path,
    )


@dataclass
class Activities:
    """Every activity by name, run through an ActivityEnvironment like a worker would."""

    by_name: dict[str, Callable[..., Any]]
    environment: ActivityEnvironment

    async def run(self, name: ActivityName, arg: Any) -> Any:
        # Scheduled just now, as a worker's first attempt is (the environment's default is 1970,
        # which would make every time-bounded retry look long over).
        now = datetime.now(UTC)
        self.environment.info = dataclasses.replace(
            self.environment.info, scheduled_time=now, current_attempt_scheduled_time=now
        )
        return await self.environment.run(self.by_name[name], arg)


def by_name(functions: list[Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    return {fn.__temporal_activity_definition.name: fn for fn in functions}  # type: ignore[attr-defined]


@pytest.fixture
async def clients(emulator: RunningEmulator, isv: IsvTenant) -> AsyncIterator[AzureClients]:
    # No SDK retries: each test sees exactly the fault it injected.
    async with AzureClients(emulator_settings(emulator, isv), arm_retries=0) as built:
        yield built


@pytest.fixture
def acts(clients: AzureClients) -> Activities:
    functions = build_activities(clients, LogNotifier(), poll_seconds=0.05)
    return Activities(by_name=by_name(functions), environment=ActivityEnvironment())


@dataclass
class IsvIdentity:
    """The ISV-side trust chain built through the activities themselves."""

    app: ApplicationRef
    identity: ManagedIdentityRef
    credential: FederatedCredentialRef


def application_spec(isv: IsvTenant) -> ApplicationSpec:
    return ApplicationSpec(unique_name=f"cmk-{isv.tenant_id[:8]}", display_name="CMK app")


def identity_spec(isv: IsvTenant, name: str = "cmk-identity") -> ManagedIdentitySpec:
    return ManagedIdentitySpec(
        subscription_id=isv.subscription_id,
        resource_group=RESOURCE_GROUP,
        name=name,
        region=REGION,
        tags={"purpose": "test"},
    )


def credential_spec(
    isv: IsvTenant, app: ApplicationRef, principal_id: str
) -> FederatedCredentialSpec:
    return FederatedCredentialSpec(
        app_object_id=app.object_id,
        name="cmk-fic",
        issuer=f"https://login.microsoftonline.com/{isv.tenant_id}/v2.0",
        subject=principal_id,
    )


async def build_isv_identity(acts: Activities, isv: IsvTenant) -> IsvIdentity:
    app = await acts.run(ActivityName.ENSURE_APPLICATION, application_spec(isv))
    identity = await acts.run(ActivityName.ENSURE_MANAGED_IDENTITY, identity_spec(isv))
    credential = await acts.run(
        ActivityName.ENSURE_FEDERATED_CREDENTIAL, credential_spec(isv, app, identity.principal_id)
    )
    return IsvIdentity(app=app, identity=identity, credential=credential)


async def customer_key(
    emulator: RunningEmulator,
    customer: CustomerTenant,
    app_id: str,
    *,
    consent: bool = True,
    role: bool = True,
    region: str = REGION,
    **vault_and_key: Any,
) -> str:
    """The customer's side: consent, vault, key, role; returns the key URL."""
    control = emulator.control
    vault = f"kv{customer.tenant_id.replace('-', '')[:18]}"
    vault_options = {
        k: vault_and_key.pop(k) for k in ("soft_delete", "purge_protection") if k in vault_and_key
    }
    if consent:
        await control.grant_consent(customer.tenant_id, app_id)
    await control.create_vault(customer.tenant_id, vault, region=region, **vault_options)
    key_url = await control.create_key(customer.tenant_id, vault, "cmk-key", **vault_and_key)
    if consent and role:
        await control.assign_key_role(customer.tenant_id, vault, app_id)
    return key_url


def encryption_set_spec(
    isv: IsvTenant, chain: IsvIdentity, key_url: str, name: str = "des-1"
) -> EncryptionSetSpec:
    return EncryptionSetSpec(
        subscription_id=isv.subscription_id,
        resource_group=RESOURCE_GROUP,
        name=name,
        region=REGION,
        identity_id=chain.identity.id,
        federated_client_id=chain.app.app_id,
        key_url=key_url,
        encryption_type="EncryptionAtRestWithCustomerKey",
        rotation_to_latest_key_version_enabled=True,
        tags={"onboarding": "test"},
    )


def disk_spec(isv: IsvTenant, encryption_set_id: str, name: str = "cmk-test-disk") -> TestDiskSpec:
    return TestDiskSpec(
        subscription_id=isv.subscription_id,
        resource_group=RESOURCE_GROUP,
        name=name,
        region=REGION,
        sku="Premium_LRS",
        size_gb=4,
        encryption_set_id=encryption_set_id,
        encryption_type="EncryptionAtRestWithCustomerKey",
    )
