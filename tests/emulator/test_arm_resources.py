"""Features, providers, resource groups and user-assigned identities.

All through the azure-mgmt clients.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.emulator.conftest import Arm, assert_eventually

FEATURE = "EncryptionAtRestWithCrossTenantKey"


async def test_feature_state_machine(arm: Arm) -> None:
    """NotRegistered -> Registering on register -> Registered after the feature delay; listed."""
    initial = await arm.features.features.get("Microsoft.Compute", FEATURE)
    assert initial.properties is not None
    assert initial.properties.state == "NotRegistered"
    registered = await arm.features.features.register("Microsoft.Compute", FEATURE)
    assert registered.properties is not None
    assert registered.properties.state == "Registering"
    assert registered.name == f"Microsoft.Compute/{FEATURE}"
    assert registered.type == "Microsoft.Features/providers/features"

    async def is_registered() -> bool:
        feature = await arm.features.features.get("Microsoft.Compute", FEATURE)
        assert feature.properties is not None
        return feature.properties.state == "Registered"

    await assert_eventually(is_registered)
    listed = [f.name async for f in arm.features.features.list("Microsoft.Compute")]
    assert listed == [f"Microsoft.Compute/{FEATURE}"]


async def test_provider_register(arm: Arm) -> None:
    """Registering Microsoft.Compute flips its registrationState to Registered."""
    assert (
        await arm.resources.providers.get("Microsoft.Compute")
    ).registration_state == "NotRegistered"
    provider = await arm.resources.providers.register("Microsoft.Compute")
    assert provider.namespace == "Microsoft.Compute" and provider.registration_state == "Registered"


async def test_resource_groups(emulator, isv, arm: Arm) -> None:
    """The admin-created RG is readable and a new one can be created with PUT.

    Creating resource groups is outside the worker's default role set, so it is granted here.
    """
    assert (await arm.resources.resource_groups.get("cmk-rg")).location == "eastus"
    await emulator.control.grant_role(
        isv.subscription_id,
        action="Microsoft.Resources/subscriptions/resourceGroups/write",
        app_id=isv.client_id,
    )
    created = await arm.resources.resource_groups.create_or_update(
        "other-rg", {"location": "westus"}
    )
    assert created.name == "other-rg" and created.location == "westus"


async def test_user_assigned_identity_crud(emulator, isv, arm: Arm) -> None:
    """PUT creates with principal/client ids (a managed-identity SP).

    GET and list read it back; DELETE removes it.
    """
    identity = await arm.msi.user_assigned_identities.create_or_update(
        "cmk-rg", "uami-1", {"location": "eastus", "tags": {"a": "b"}}
    )
    assert identity.principal_id and identity.client_id and identity.tenant_id == isv.tenant_id
    again = await arm.msi.user_assigned_identities.create_or_update(
        "cmk-rg", "uami-1", {"location": "eastus"}
    )
    assert again.principal_id == identity.principal_id
    assert (await arm.msi.user_assigned_identities.get("cmk-rg", "uami-1")).id == identity.id
    assert [
        i.name async for i in arm.msi.user_assigned_identities.list_by_resource_group("cmk-rg")
    ] == ["uami-1"]
    snapshot = await emulator.control.snapshot()
    assert identity.principal_id in snapshot["tenants"][isv.tenant_id]["service_principals"]
    await arm.msi.user_assigned_identities.delete("cmk-rg", "uami-1")
    with pytest.raises(ResourceNotFoundError):
        await arm.msi.user_assigned_identities.get("cmk-rg", "uami-1")
