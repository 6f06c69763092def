"""Disk encryption sets and the test disk that proves the cross-tenant key works (DiskRP).

The calls go through ARM's generic by-id resource API (azure-mgmt-resource, already loaded for the
provider registration): the same URLs, bodies and long-running operations as azure-mgmt-compute,
without that package's models module, which alone keeps about 85 MB resident in every worker.
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.resource.resources.aio import ResourceManagementClient
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.arm_ids import parse_arm_id
from activities.azure_clients import PerSubscription
from activities.errors import (
    azure_errors,
    customer_issue_for,
    customer_setup_error,
    status_of,
    translate,
)
from models import (
    OWNER_TAG,
    ActivityName,
    CustomerSetupIssue,
    EncryptionSetRef,
    EncryptionSetSpec,
    ErrorType,
    ResourceRef,
    TestDiskRef,
    TestDiskSpec,
)
from models.lifecycle import acting_for

DES_TYPE = "Microsoft.Compute/diskEncryptionSets"
DISK_TYPE = "Microsoft.Compute/disks"
# DiskRP's api-version (azure-mgmt-compute 39 sends the same); federatedClientId needs 2022-03-02+.
DISK_API_VERSION = "2026-03-02"
# Fallback only: the poller follows Retry-After / retry-after-ms when Azure sends them.
DEFAULT_POLL_SECONDS = 5.0


def _des_arm_id(spec: EncryptionSetSpec) -> str:
    return "/" + _resource_id(spec.subscription_id, spec.resource_group, DES_TYPE, spec.name)


def _with_resource_id(error: ApplicationError, resource_id: str) -> ApplicationError:
    """A customer-setup error that also names the resource Azure kept; others unchanged."""
    if error.type != ErrorType.CUSTOMER_SETUP or not error.details:
        return error
    try:
        issue = CustomerSetupIssue.model_validate(error.details[0])
    except ValueError:
        return error
    return customer_setup_error(issue.model_copy(update={"resource_id": resource_id}))


def _resource_id(subscription_id: str, resource_group: str, kind: str, name: str) -> str:
    # No leading slash: the SDK's URL template already starts with one.
    return (
        f"subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/{kind}/{name}"
    )


class EncryptionActivities:
    """Create, verify and delete the DES; create and delete the encrypted test disk."""

    def __init__(
        self,
        resources: PerSubscription[ResourceManagementClient],
        *,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self._arm = resources
        self._poll_seconds = poll_seconds

    @activity.defn(name=ActivityName.CREATE_ENCRYPTION_SET)
    async def create_encryption_set(self, spec: EncryptionSetSpec) -> EncryptionSetRef:
        """PUT (idempotent by name) and wait for the long-running operation to finish.

        A set of that name that another onboarding created is refused before anything is written.
        """
        resources = self._arm(spec.subscription_id).resources
        des_id = _resource_id(spec.subscription_id, spec.resource_group, DES_TYPE, spec.name)
        owner = _owner()
        existing = await self._read_if_exists(resources, des_id, spec.name)
        if existing is not None and _owner_of(existing) != owner:
            raise _not_owned(spec.name, spec.resource_group, _owner_of(existing), owner)
        # Wire-format JSON: the models are mappings of it, and it reads like the Azure docs.
        body: dict[str, Any] = {
            "location": spec.region,
            "tags": dict(spec.tags) | {OWNER_TAG: owner},
            "identity": {
                "type": "UserAssigned",
                "userAssignedIdentities": {spec.identity_id: {}},
            },
            "properties": {
                "activeKey": {"keyUrl": spec.key_url},
                "federatedClientId": spec.federated_client_id,
                "encryptionType": spec.encryption_type,
                "rotationToLatestKeyVersionEnabled": spec.rotation_to_latest_key_version_enabled,
            },
        }
        operation = f"create disk encryption set {spec.name}"
        with azure_errors(operation):
            poller = await resources.begin_create_or_update_by_id(
                des_id, body, api_version=DISK_API_VERSION, polling_interval=self._poll_seconds
            )
        try:
            with azure_errors(operation):
                created = await poller.result()
        except ApplicationError as error:
            # Azure accepted the PUT, so the DES exists (provisioning failed) until it is
            # deleted: name it, so the status shows it while the customer fixes their side.
            raise _with_resource_id(error, _des_arm_id(spec)) from None
        return _encryption_set_ref(created)

    async def _read_if_exists(self, resources: Any, des_id: str, name: str) -> Any:
        with azure_errors(f"read disk encryption set {name}", missing_ok=True) as outcome:
            found = await resources.get_by_id(des_id, api_version=DISK_API_VERSION)
        return None if outcome.missing else found

    @activity.defn(name=ActivityName.VERIFY_ENCRYPTION_SET)
    async def verify_encryption_set(self, spec: EncryptionSetSpec) -> EncryptionSetRef:
        """Read the DES back; a key rotation error on the customer's side is a CUSTOMER_SETUP.

        Comparing the fields with `spec` is the workflow's job (it names every mismatch).
        """
        with azure_errors(f"read disk encryption set {spec.name}"):
            found = await self._arm(spec.subscription_id).resources.get_by_id(
                _resource_id(spec.subscription_id, spec.resource_group, DES_TYPE, spec.name),
                api_version=DISK_API_VERSION,
            )
        ref = _encryption_set_ref(found)
        rotation_error = _get(found, "properties", "autoKeyRotationError")
        if rotation_error:
            issue = _rotation_issue(rotation_error)
            if issue is not None:
                raise customer_setup_error(issue)
        return ref

    @activity.defn(name=ActivityName.CREATE_TEST_DISK)
    async def create_test_disk(self, spec: TestDiskSpec) -> TestDiskRef:
        """An empty disk encrypted with the DES: Azure re-checks the customer's key on create."""
        resources = self._arm(spec.subscription_id).resources
        body: dict[str, Any] = {
            "location": spec.region,
            "sku": {"name": spec.sku},
            "tags": {"purpose": "cmk-onboarding-verification"},
            "properties": {
                "creationData": {"createOption": "Empty"},
                "diskSizeGB": spec.size_gb,
                "encryption": {
                    "diskEncryptionSetId": spec.encryption_set_id,
                    "type": spec.encryption_type,
                },
            },
        }
        operation = f"create test disk {spec.name}"
        with azure_errors(operation):
            poller = await resources.begin_create_or_update_by_id(
                _resource_id(spec.subscription_id, spec.resource_group, DISK_TYPE, spec.name),
                body,
                api_version=DISK_API_VERSION,
                polling_interval=self._poll_seconds,
            )
            disk = await poller.result()
        encryption = _get(disk, "properties", "encryption")
        return TestDiskRef(
            id=str(_get(disk, "id") or ""),
            encryption_type=str(_get(encryption, "type") or ""),
            encryption_set_id=str(_get(encryption, "diskEncryptionSetId") or ""),
        )

    @activity.defn(name=ActivityName.DELETE_TEST_DISK)
    async def delete_test_disk(self, ref: ResourceRef) -> None:
        """Idempotent: a disk that is already gone counts as deleted."""
        arm_id = parse_arm_id(ref.id, DISK_TYPE)
        operation = f"delete test disk {arm_id.name}"
        with azure_errors(operation, missing_ok=True):
            poller = await self._arm(arm_id.subscription_id).resources.begin_delete_by_id(
                _resource_id(arm_id.subscription_id, arm_id.resource_group, DISK_TYPE, arm_id.name),
                api_version=DISK_API_VERSION,
                polling_interval=self._poll_seconds,
            )
            await poller.result()

    @activity.defn(name=ActivityName.DELETE_ENCRYPTION_SET)
    async def delete_encryption_set(self, ref: ResourceRef) -> bool:
        """False when it is gone (404), in use (409) or not this onboarding's; else True.

        Only a set tagged with this workflow's id is deleted: another onboarding's set of the
        same name is left alone. ARM answers 204 for a set that is already gone.
        """
        arm_id = parse_arm_id(ref.id, DES_TYPE)
        operation = f"delete disk encryption set {arm_id.name}"
        resources = self._arm(arm_id.subscription_id).resources
        des_id = _resource_id(arm_id.subscription_id, arm_id.resource_group, DES_TYPE, arm_id.name)
        existing = await self._read_if_exists(resources, des_id, arm_id.name)
        if existing is None:
            return False
        if (found_owner := _owner_of(existing)) != _owner():
            activity.logger.warning(
                "Encryption set %s belongs to %s, not this onboarding; kept",
                arm_id.name,
                found_owner or "nobody (untagged)",
            )
            return False
        try:
            poller = await resources.begin_delete_by_id(
                des_id,
                api_version=DISK_API_VERSION,
                polling_interval=self._poll_seconds,
            )
            await poller.result()
        except Exception as error:
            if status_of(error) == 409:
                activity.logger.info("Encryption set %s is still in use; kept", arm_id.name)
                return False
            if status_of(error) == 404:
                return False
            raise translate(error, operation) from None
        return True


def _owner() -> str:
    """The onboarding the caller acts for: what its resources are tagged with (the key-health
    watch's key change and the offboarding act for their onboarding)."""
    return acting_for(activity.info().workflow_id or "")


def _owner_of(resource: Any) -> str | None:
    tags = _get(resource, "tags") or {}
    owner = tags.get(OWNER_TAG) if isinstance(tags, dict) else None
    return str(owner) if owner else None


def _not_owned(name: str, resource_group: str, found: str | None, owner: str) -> ApplicationError:
    holder = f"onboarding '{found}'" if found else "no onboarding (it has no cmk-onboarding tag)"
    return ApplicationError(
        f"disk encryption set '{name}' in resource group '{resource_group}' already exists and "
        f"belongs to {holder}, not to '{owner}'; nothing was changed. Choose another des_name "
        "for this onboarding, or delete or re-tag the existing set if it is really unused",
        {"encryption_set": name, "owner": found},
        type=ErrorType.RESOURCE_NOT_OWNED,
        non_retryable=True,
    )


def _get(model: Any, *path: str) -> Any:
    """A wire-named field of a GenericResource (a mapping of the JSON body), or None."""
    value = model
    for key in path:
        if value is None:
            return None
        try:
            value = value[key]
        except (KeyError, TypeError):
            return None
    return value


def _encryption_set_ref(des: Any) -> EncryptionSetRef:
    identities = _get(des, "identity", "userAssignedIdentities") or {}
    rotation_error = _get(des, "properties", "autoKeyRotationError")
    return EncryptionSetRef(
        id=str(_get(des, "id") or ""),
        provisioning_state=str(_get(des, "properties", "provisioningState") or "Unknown"),
        key_url=str(_get(des, "properties", "activeKey", "keyUrl") or ""),
        federated_client_id=str(_get(des, "properties", "federatedClientId") or ""),
        identity_ids=tuple(identities),
        encryption_type=str(_get(des, "properties", "encryptionType") or ""),
        auto_key_rotation_error=(
            f"{_get(rotation_error, 'code')}: {_get(rotation_error, 'message')}"
            if rotation_error
            else None
        ),
    )


def _rotation_issue(rotation_error: Any) -> CustomerSetupIssue | None:
    return customer_issue_for(
        str(_get(rotation_error, "code") or ""), str(_get(rotation_error, "message") or "")
    )
