"""Role-based access for the ISV worker: ARM actions, linked authorization, Graph permissions."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.application import Application
from msgraph.generated.models.o_data_errors.main_error import MainError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from emulator.rbac import DEFAULT_ISV_ROLES
from tests.emulator.conftest import Arm, Chain, arm_error, arm_message, as_des, as_disk, disk_body

OPERATOR = "CMK Disk Encryption Operator"


async def test_default_role_set(emulator, isv) -> None:
    """The seeded worker holds exactly the documented roles, at subscription scope."""
    assignments = await emulator.control.role_assignments(isv.subscription_id)
    assert sorted(a["role"] for a in assignments) == sorted(r for r, _ in DEFAULT_ISV_ROLES)
    assert {a["scope"] for a in assignments} == {f"/subscriptions/{isv.subscription_id}"}


async def test_missing_action_is_authorization_failed(emulator, isv, arm: Arm) -> None:
    """Without a role granting diskEncryptionSets/read, GET is 403 with ARM's exact text."""
    await emulator.control.revoke_role(isv.subscription_id, role=OPERATOR, app_id=isv.client_id)
    with pytest.raises(HttpResponseError) as error:
        await arm.compute.disk_encryption_sets.get("cmk-rg", "des-x")
    assert error.value.status_code == 403 and arm_error(error.value).code == "AuthorizationFailed"
    scope = (
        f"/subscriptions/{isv.subscription_id}/resourceGroups/cmk-rg/providers/"
        "Microsoft.Compute/diskEncryptionSets/des-x"
    )
    message = arm_message(error.value)
    oid = message.split("'")[1]
    assert message == (
        f"The client '{oid}' with object id '{oid}' does not have authorization to perform "
        f"action 'Microsoft.Compute/diskEncryptionSets/read' over scope '{scope}' or the scope "
        "is invalid. If access was recently granted, please refresh your credentials."
    )
    await emulator.control.grant_role(
        isv.subscription_id,
        action="Microsoft.Compute/diskEncryptionSets/read",
        app_id=isv.client_id,
        scope="/resourceGroups/cmk-rg",
    )
    with pytest.raises(ResourceNotFoundError):
        await arm.compute.disk_encryption_sets.get("cmk-rg", "des-x")


async def test_feature_registration_needs_its_action(emulator, isv, arm: Arm) -> None:
    """Registering a preview feature is Microsoft.Features/providers/features/register/action."""
    await emulator.control.revoke_role(isv.subscription_id, role=OPERATOR, app_id=isv.client_id)
    with pytest.raises(HttpResponseError) as error:
        await arm.features.features.register(
            "Microsoft.Compute", "EncryptionAtRestWithCrossTenantKey"
        )
    assert "'Microsoft.Features/providers/features/register/action'" in arm_message(error.value)
    with pytest.raises(HttpResponseError) as provider:
        await arm.resources.providers.register("Microsoft.Compute")
    assert "'Microsoft.Compute/register/action'" in arm_message(provider.value)


async def test_des_needs_assign_on_the_identity(emulator, isv, arm: Arm, chain: Chain) -> None:
    """A DES naming a UAMI needs userAssignedIdentities/assign/action on it (linked scope)."""
    await emulator.control.revoke_role(
        isv.subscription_id, role="Managed Identity Operator", app_id=isv.client_id
    )
    with pytest.raises(HttpResponseError) as error:
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-l", as_des(chain.des_body())
        )
    assert arm_error(error.value).code == "LinkedAuthorizationFailed"
    assert "'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action'" in arm_message(
        error.value
    )
    assert chain.identity_id in arm_message(error.value)


async def test_disk_needs_read_on_its_des(emulator, isv, arm: Arm, chain: Chain) -> None:
    """An encrypted disk needs diskEncryptionSets/read on the DES it names."""
    des = await (
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-d", as_des(chain.des_body())
        )
    ).result()
    await emulator.control.revoke_role(isv.subscription_id, role=OPERATOR, app_id=isv.client_id)
    await emulator.control.grant_role(
        isv.subscription_id, action="Microsoft.Compute/disks/write", app_id=isv.client_id
    )
    with pytest.raises(HttpResponseError) as error:
        await arm.compute.disks.begin_create_or_update("cmk-rg", "dd", as_disk(disk_body(des.id)))
    assert arm_error(error.value).code == "LinkedAuthorizationFailed"
    assert "'Microsoft.Compute/diskEncryptionSets/read'" in arm_message(error.value)


async def test_graph_needs_application_readwrite(emulator, isv, graph) -> None:
    """Without Application.ReadWrite.OwnedBy/All, Graph answers Authorization_RequestDenied."""
    await emulator.control.set_graph_permissions(isv.tenant_id, isv.client_id, [])
    with pytest.raises(APIError) as error:
        await graph.applications.post(Application(display_name="denied"))
    assert error.value.response_status_code == 403
    assert _odata(error.value).code == "Authorization_RequestDenied"
    assert _odata(error.value).message == "Insufficient privileges to complete the operation."
    await emulator.control.set_graph_permissions(
        isv.tenant_id, isv.client_id, ["Application.ReadWrite.All"]
    )
    created = await graph.applications.post(Application(display_name="allowed"))
    assert created is not None and created.app_id


def _odata(error: APIError) -> MainError:
    """The Graph error body msgraph parsed into the ODataError it raised."""
    assert isinstance(error, ODataError) and error.error is not None, error
    return error.error


async def test_permissions_api_lists_the_callers_effective_actions(emulator, isv, arm: Arm) -> None:
    """GET .../resourceGroups/{rg}/providers/Microsoft.Authorization/permissions (2022-04-01)
    answers one Permission per role assignment in scope; a revoked role disappears from it."""
    url = (
        f"/subscriptions/{isv.subscription_id}/resourceGroups/cmk-rg/providers/"
        "Microsoft.Authorization/permissions?api-version=2022-04-01"
    )
    response = await arm.resources.send_request(HttpRequest("GET", url))
    assert response.status_code == 200
    value = response.json()["value"]
    assert set(value[0]) == {"actions", "notActions", "dataActions", "notDataActions"}
    actions = {a for p in value for a in p["actions"]}
    assert "Microsoft.Compute/diskEncryptionSets/write" in actions
    await emulator.control.revoke_role(isv.subscription_id, role=OPERATOR, app_id=isv.client_id)
    response = await arm.resources.send_request(HttpRequest("GET", url))
    actions = {a for p in response.json()["value"] for a in p["actions"]}
    assert "Microsoft.Compute/diskEncryptionSets/write" not in actions
    assert "Microsoft.ManagedIdentity/userAssignedIdentities/write" in actions
