"""User-assigned managed identity in the ISV subscription (Microsoft.ManagedIdentity)."""

from __future__ import annotations

from typing import Any

from azure.mgmt.msi.aio import ManagedServiceIdentityClient
from temporalio import activity

from activities.arm_ids import parse_arm_id
from activities.azure_clients import PerSubscription
from activities.errors import azure_errors
from models import ActivityName, ManagedIdentityRef, ManagedIdentitySpec, ResourceRef

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"


def _with_status(pipeline_response: Any, deserialized: Any, _headers: Any) -> tuple[Any, int]:
    return deserialized, pipeline_response.http_response.status_code


class ManagedIdentityActivities:
    """Create (idempotent PUT) and delete the UAMI that the federated credential trusts."""

    def __init__(self, msi: PerSubscription[ManagedServiceIdentityClient]) -> None:
        self._msi = msi

    @activity.defn(name=ActivityName.ENSURE_MANAGED_IDENTITY)
    async def ensure_managed_identity(self, spec: ManagedIdentitySpec) -> ManagedIdentityRef:
        """Read first: the shared identity usually exists, and a read does not spend the
        subscription's write budget (ten times smaller). PUT (idempotent) only when it is missing
        or its tags differ; 201 means this call created it.
        """
        client = self._msi(spec.subscription_id)
        with azure_errors(f"read managed identity {spec.name}", missing_ok=True) as outcome:
            found = await client.user_assigned_identities.get(spec.resource_group, spec.name)
        if not outcome.missing and dict(found.tags or {}) == dict(spec.tags):
            return _identity_ref(found, created=False)
        with azure_errors(f"ensure managed identity {spec.name}"):
            identity, status = await client.user_assigned_identities.create_or_update(
                spec.resource_group,
                spec.name,
                {"location": spec.region, "tags": dict(spec.tags)},
                cls=_with_status,
            )
        return _identity_ref(identity, created=status == 201)

    @activity.defn(name=ActivityName.DELETE_MANAGED_IDENTITY)
    async def delete_managed_identity(self, ref: ResourceRef) -> None:
        """Idempotent: an identity that is already gone counts as deleted."""
        arm_id = parse_arm_id(ref.id, IDENTITY_TYPE)
        client = self._msi(arm_id.subscription_id)
        with azure_errors(f"delete managed identity {arm_id.name}", missing_ok=True):
            await client.user_assigned_identities.delete(arm_id.resource_group, arm_id.name)


def _identity_ref(identity: Any, *, created: bool) -> ManagedIdentityRef:
    return ManagedIdentityRef(
        id=identity.id,
        principal_id=identity.principal_id,
        client_id=identity.client_id,
        tenant_id=identity.tenant_id,
        created=created,
    )
