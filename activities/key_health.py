"""Reads and probes that tell whether a disk encryption set can still reach its customer's key.

Azure reports a broken key chain in three places, each used here:
- `autoKeyRotationError` on the DES: with rotationToLatestKeyVersionEnabled, DiskRP itself
  contacts the customer's key periodically and records why it could not (one cheap GET);
- `provisioningState`, `activeKey`, the identity and `systemData` of that same GET (changes);
- creating a disk with the DES: the authoritative check, which the probe does (2 writes).
The Azure codes and messages are turned into one canonical cause here (the adapter knows Azure's
wording); the workflow turns causes into findings (workflows/health_rules.py).
"""

from __future__ import annotations

import re
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.resource.resources.aio import ResourceManagementClient
from temporalio import activity

from activities.arm_ids import parse_arm_id
from activities.azure_clients import PerSubscription
from activities.encryption import DEFAULT_POLL_SECONDS, DES_TYPE, DISK_API_VERSION, DISK_TYPE
from activities.errors import azure_errors, error_code_of, status_of, translate
from config.logging_setup import redact_text
from models import ResourceRef
from models.lifecycle import (
    EncryptionSetHealth,
    LifecycleActivity,
    ProbeResult,
    ProbeSpec,
)

# Entra codes embedded in DiskRP's message name the broken link more precisely than the wrapping
# code (KeyVaultAccessForbidden carries both "no consent" and "no federated credential"), so they
# are read before the code, as activities/errors.py does for the onboarding.
_CAUSE_BY_ENTRA_CODE = (
    (re.compile(r"AADSTS(700016|7000229)\b"), "ConsentRevoked"),
    (re.compile(r"AADSTS70021\b"), "FederatedCredentialDeleted"),
)
# Canonical causes (the keys of workflows/health_rules.CAUSES), from Azure's error codes ...
_CAUSE_BY_CODE = {
    "applicationnotfoundincustomertenant": "ConsentRevoked",
    "keyvaultaccessforbidden": "RoleRemoved",
    "keydisabled": "KeyDisabled",
    "keyexpired": "KeyExpired",
    "keynotfound": "KeyDeleted",
    "keyvaultnotfound": "VaultGone",
    "userassignedidentitynotfound": "IdentityDeleted",
    "federatedcredentialmismatch": "FederatedCredentialDeleted",
}
# ... and, because real Azure often wraps the cause in a generic code, from its message.
_CAUSE_BY_MESSAGE = (
    (re.compile(r"(?i)unable to access key vault"), "RoleRemoved"),
    (re.compile(r"(?i)key .*is disabled"), "KeyDisabled"),
    (re.compile(r"(?i)key .*(has )?expired"), "KeyExpired"),
    (re.compile(r"(?i)user.?assigned identity .*not (be )?found"), "IdentityDeleted"),
)
_MAX_MESSAGE = 600


def cause_of(code: str, message: str) -> str | None:
    """The canonical cause an Azure error code or message names, or None when unknown."""
    for pattern, entra_cause in _CAUSE_BY_ENTRA_CODE:
        if pattern.search(message):
            return entra_cause
    cause = _CAUSE_BY_CODE.get(code.lower())
    if cause is not None:
        return cause
    return next((c for pattern, c in _CAUSE_BY_MESSAGE if pattern.search(message)), None)


def _clean(message: str) -> str:
    message = redact_text(" ".join(message.split()))
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def _path(arm_id: str) -> str:
    # The SDK's by-id URL template already starts with a slash.
    return arm_id.lstrip("/")


class KeyHealthActivities:
    """One GET of the DES, the probe disk, and the DES's users (associatedResources)."""

    def __init__(
        self,
        resources: PerSubscription[ResourceManagementClient],
        *,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self._arm = resources
        self._poll_seconds = poll_seconds

    @activity.defn(name=LifecycleActivity.READ_ENCRYPTION_SET_HEALTH)
    async def read_encryption_set_health(self, ref: ResourceRef) -> EncryptionSetHealth:
        """GET the DES; a missing one is a finding, not an error."""
        arm_id = parse_arm_id(ref.id, DES_TYPE)
        with azure_errors(f"read disk encryption set {arm_id.name}", missing_ok=True) as outcome:
            found = await self._arm(arm_id.subscription_id).resources.get_by_id(
                _path(ref.id), api_version=DISK_API_VERSION
            )
        if outcome.missing:
            return EncryptionSetHealth(found=False)
        rotation_error = _get(found, "properties", "autoKeyRotationError")
        cause = message = None
        if rotation_error:
            code = str(_get(rotation_error, "code") or "")
            message = _clean(str(_get(rotation_error, "message") or ""))
            cause = cause_of(code, message) or f"Other:{code or 'unknown'}"
        return EncryptionSetHealth(
            found=True,
            provisioning_state=str(_get(found, "properties", "provisioningState") or "Unknown"),
            key_url=str(_get(found, "properties", "activeKey", "keyUrl") or ""),
            federated_client_id=str(_get(found, "properties", "federatedClientId") or ""),
            identity_ids=tuple(_get(found, "identity", "userAssignedIdentities") or {}),
            rotation_error_cause=cause,
            rotation_error_message=message,
            last_key_rotation_at=_text(_get(found, "properties", "lastKeyRotationTimestamp")),
            last_modified_by=_text(_get(found, "systemData", "lastModifiedBy")),
            last_modified_at=_text(_get(found, "systemData", "lastModifiedAt")),
            tags={str(k): str(v) for k, v in (_get(found, "tags") or {}).items()},
        )

    @activity.defn(name=LifecycleActivity.PROBE_KEY)
    async def probe_key(self, spec: ProbeSpec) -> ProbeResult:
        """Create a small disk with the DES (Azure unwraps with the customer's key), delete it.

        A key-chain refusal is the answer (ok=False with its cause), not an error; throttling and
        outages raise, so Temporal retries. Idempotent: the disk has a fixed name.
        """
        resources = self._arm(spec.subscription_id).resources
        disk_path = (
            f"subscriptions/{spec.subscription_id}/resourceGroups/{spec.resource_group}"
            f"/providers/{DISK_TYPE}/{spec.disk_name}"
        )
        body: dict[str, Any] = {
            "location": spec.region,
            "sku": {"name": spec.sku},
            "tags": {"purpose": "cmk-key-health-probe"},
            "properties": {
                "creationData": {"createOption": "Empty"},
                "diskSizeGB": spec.size_gb,
                "encryption": {
                    "diskEncryptionSetId": spec.encryption_set_id,
                    "type": spec.encryption_type,
                },
            },
        }
        result = ProbeResult(ok=True)
        try:
            poller = await resources.begin_create_or_update_by_id(
                disk_path, body, api_version=DISK_API_VERSION, polling_interval=self._poll_seconds
            )
            await poller.result()
        except Exception as error:
            code = error_code_of(error) or ""
            message = _clean(str(getattr(error, "message", None) or error))
            cause = cause_of(code, message)
            if cause is None:
                raise translate(error, f"create key probe disk {spec.disk_name}") from None
            result = ProbeResult(ok=False, cause=cause, message=message)
        # A refused create may still leave a Failed disk behind in real Azure: always delete.
        with azure_errors(f"delete key probe disk {spec.disk_name}", missing_ok=True):
            deletion = await resources.begin_delete_by_id(
                disk_path, api_version=DISK_API_VERSION, polling_interval=self._poll_seconds
            )
            await deletion.result()
        return result

    @activity.defn(name=LifecycleActivity.LIST_ENCRYPTION_SET_USERS)
    async def list_encryption_set_users(self, ref: ResourceRef) -> list[str]:
        """Resource ids of the disks (and snapshots) encrypted with the DES; [] when it is gone."""
        arm_id = parse_arm_id(ref.id, DES_TYPE)
        client = self._arm(arm_id.subscription_id)
        users: list[str] = []
        # azure-mgmt-resource has no typed call for it (azure-mgmt-compute does, at ~85 MB RSS).
        url: str | None = f"{_path(ref.id)}/associatedResources"
        operation = f"list resources using disk encryption set {arm_id.name}"
        while url:
            try:
                page = await _get_json(client, url)
            except Exception as error:
                if status_of(error) == 404:
                    return []
                raise translate(error, operation) from None
            users += [str(v) for v in page.get("value", [])]
            url = page.get("nextLink")
        return users


async def _get_json(client: ResourceManagementClient, url: str) -> dict[str, Any]:
    """GET an ARM path (or a nextLink) through the client's pipeline: auth, retries, base URL."""
    if not url.startswith("http"):
        url = f"/{url}" + ("" if "api-version=" in url else f"?api-version={DISK_API_VERSION}")
    response = await client.send_request(HttpRequest("GET", url))
    if response.status_code >= 400:
        raise HttpResponseError(response=response)
    data = response.json()
    return data if isinstance(data, dict) else {}


def _get(model: Any, *path: str) -> Any:
    value = model
    for key in path:
        if value is None:
            return None
        try:
            value = value[key]
        except (KeyError, TypeError):
            return None
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
