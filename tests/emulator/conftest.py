"""Fixtures: one in-process emulator per session, a fresh ISV tenant per test, real SDK clients.

ARM request bodies are built as raw wire-format JSON (camelCase, sometimes deliberately invalid)
so the emulator's own validation is what the tests exercise; see `as_des` and `as_disk`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ODataV4Format
from azure.identity.aio import ClientSecretCredential
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.mgmt.compute.models import Disk, DiskEncryptionSet
from azure.mgmt.msi.aio import ManagedServiceIdentityClient
from azure.mgmt.resource.features.aio import FeatureClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.application import Application
from msgraph.generated.models.federated_identity_credential import FederatedIdentityCredential

from emulator.control import CustomerTenant, IsvTenant
from emulator.runner import EmulatorProcess, RunningEmulator
from tests.conftest import default_emulator_knobs

ARM_SCOPE = "https://management.azure.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
REGION = "eastus"


def arm_error(error: HttpResponseError) -> ODataV4Format:
    """The ARM error body the SDK parsed from a failed response; asserts there was one."""
    assert error.error is not None, f"no ARM error body: {error}"
    return error.error


def arm_message(error: HttpResponseError) -> str:
    """The message of the ARM error body; asserts there was one."""
    message = arm_error(error).message
    assert message is not None, f"ARM error without a message: {error}"
    return message


@pytest.fixture(autouse=True)
async def _reset_knobs(emulator: RunningEmulator) -> AsyncIterator[None]:
    async with default_emulator_knobs(emulator.control, lro_delay=0.1):
        yield


def make_credential(
    emulator: RunningEmulator | EmulatorProcess, tenant: IsvTenant
) -> ClientSecretCredential:
    return ClientSecretCredential(
        tenant.tenant_id,
        tenant.client_id,
        tenant.client_secret,
        authority=emulator.url,
        disable_instance_discovery=True,
        connection_verify=str(emulator.ca_path),
    )


def arm_kwargs(emulator: RunningEmulator | EmulatorProcess, **extra: Any) -> dict[str, Any]:
    """Keyword arguments for an azure-mgmt client pointed at the emulator."""
    return {
        "base_url": emulator.url,
        "credential_scopes": [ARM_SCOPE],
        "connection_verify": str(emulator.ca_path),
        **extra,
    }


@pytest.fixture
async def credential(
    emulator: RunningEmulator, isv: IsvTenant
) -> AsyncIterator[ClientSecretCredential]:
    cred = make_credential(emulator, isv)
    yield cred
    await cred.close()


@dataclass
class Arm:
    compute: ComputeManagementClient
    msi: ManagedServiceIdentityClient
    features: FeatureClient
    resources: ResourceManagementClient


@pytest.fixture
async def arm(
    emulator: RunningEmulator, isv: IsvTenant, credential: ClientSecretCredential
) -> AsyncIterator[Arm]:
    kw = arm_kwargs(emulator, retry_total=0)
    clients = Arm(
        compute=ComputeManagementClient(credential, isv.subscription_id, **kw),
        msi=ManagedServiceIdentityClient(credential, isv.subscription_id, **kw),
        features=FeatureClient(credential, isv.subscription_id, **kw),
        resources=ResourceManagementClient(credential, isv.subscription_id, **kw),
    )
    yield clients
    for client in (clients.compute, clients.msi, clients.features, clients.resources):
        await client.close()


def make_graph(
    emulator: RunningEmulator, credential: ClientSecretCredential, http: httpx.AsyncClient
) -> GraphServiceClient:
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"]
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{emulator.url}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


@pytest.fixture
async def graph(
    emulator: RunningEmulator, credential: ClientSecretCredential
) -> AsyncIterator[GraphServiceClient]:
    http = httpx.AsyncClient(verify=str(emulator.ca_path))
    yield make_graph(emulator, credential, http)
    await http.aclose()


def create_if_missing() -> RequestConfiguration:
    config: RequestConfiguration = RequestConfiguration()
    config.headers.add("Prefer", "create-if-missing")
    return config


@dataclass
class Chain:
    """Every link of a working cross-tenant trust chain, built through the real clients."""

    isv: IsvTenant
    customer: CustomerTenant
    app_id: str
    app_object_id: str
    identity_id: str
    principal_id: str
    vault: str
    key_name: str
    key_url: str

    def des_body(self, **properties: Any) -> dict[str, Any]:
        return {
            "location": REGION,
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {self.identity_id: {}}},
            "properties": {
                "activeKey": {"keyUrl": self.key_url},
                "federatedClientId": self.app_id,
                "encryptionType": "EncryptionAtRestWithCustomerKey",
                "rotationToLatestKeyVersionEnabled": True,
                **properties,
            },
        }


async def build_chain(
    emulator: RunningEmulator,
    isv: IsvTenant,
    customer: CustomerTenant,
    arm: Arm,
    graph: GraphServiceClient,
    *,
    fic: bool = True,
    consent: bool = True,
    role: bool = True,
    vault_region: str = REGION,
) -> Chain:
    app = await graph.applications_with_unique_name(f"app-{isv.tenant_id[:8]}").patch(
        Application(display_name="CMK app", sign_in_audience="AzureADMultipleOrgs"),
        request_configuration=create_if_missing(),
    )
    assert app is not None and app.app_id and app.id
    identity = await arm.msi.user_assigned_identities.create_or_update(
        "cmk-rg", "cmk-identity", {"location": REGION}
    )
    if fic:
        await graph.applications.by_application_id(app.id).federated_identity_credentials.post(
            FederatedIdentityCredential(
                name="cmk-fic",
                issuer=f"https://login.microsoftonline.com/{isv.tenant_id}/v2.0",
                subject=identity.principal_id,
                audiences=["api://AzureADTokenExchange"],
            )
        )
    vault = f"kv{customer.tenant_id.replace('-', '')[:18]}"
    control = emulator.control
    if consent:
        await control.grant_consent(customer.tenant_id, app.app_id)
    await control.create_vault(customer.tenant_id, vault, region=vault_region)
    key_url = await control.create_key(customer.tenant_id, vault, "cmk-key")
    if consent and role:
        await control.assign_key_role(customer.tenant_id, vault, app.app_id)
    return Chain(
        isv=isv,
        customer=customer,
        app_id=app.app_id,
        app_object_id=app.id,
        identity_id=identity.id,
        principal_id=identity.principal_id,
        vault=vault,
        key_name="cmk-key",
        key_url=key_url,
    )


@pytest.fixture
async def chain(
    emulator: RunningEmulator,
    isv: IsvTenant,
    customer: CustomerTenant,
    arm: Arm,
    graph: GraphServiceClient,
) -> Chain:
    return await build_chain(emulator, isv, customer, arm, graph)


def disk_body(des_id: str | None, *, sku: str = "Premium_LRS") -> dict[str, Any]:
    properties: dict[str, Any] = {"creationData": {"createOption": "Empty"}, "diskSizeGB": 4}
    if des_id:
        properties["encryption"] = {
            "diskEncryptionSetId": des_id,
            "type": "EncryptionAtRestWithCustomerKey",
        }
    return {"location": REGION, "sku": {"name": sku}, "properties": properties}


def as_des(body: dict[str, Any]) -> DiskEncryptionSet:
    """Type a raw DES body for `disk_encryption_sets.begin_create_or_update`.

    The client sends any mapping as JSON unchanged, but its overloads accept only the model, a
    TypedDict that marks optional fields (tags, zones, ...) as required, or IO[bytes]. Building the
    model instead would drop read-only fields on serialisation, so the body is cast, not converted.
    """
    return cast(DiskEncryptionSet, body)


def as_disk(body: dict[str, Any]) -> Disk:
    """Type a raw disk body for `disks.begin_create_or_update` (see `as_des`)."""
    return cast(Disk, body)


def data_dir_of(emulator: RunningEmulator) -> Path:
    return emulator.context.data_dir
