"""Key-health faults behind a working DES: injected, seen by DES GET and disk create, cleared."""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import HttpResponseError

from tests.emulator.conftest import Arm, Chain, as_des, as_disk, disk_body

# Each fault's diagnosis: the emulator's own label, in ARM's additionalInfo beside Azure's code.
FAULT_CODES = [
    ("consent_revoked", "ApplicationNotFoundInCustomerTenant"),
    ("role_removed", "KeyVaultAccessForbidden"),
    ("key_disabled", "KeyDisabled"),
    ("key_expired", "KeyExpired"),
    ("key_deleted", "KeyNotFound"),
    ("vault_gone", "KeyVaultNotFound"),
    ("identity_deleted", "UserAssignedIdentityNotFound"),
    ("fic_deleted", "FederatedCredentialMismatch"),
]


def _diagnosis(error: HttpResponseError) -> str:
    assert error.response is not None
    body = json.loads(error.response.text())
    for info in body["error"].get("additionalInfo", []):
        if info["type"] == "EmulatorDiagnosis":
            return str(info["info"]["diagnosis"])
    raise AssertionError(f"no EmulatorDiagnosis in {body}")


async def _des(arm: Arm, chain: Chain, name: str = "des-h") -> str:
    des = await (
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", name, as_des(chain.des_body())
        )
    ).result()
    assert des.id and des.properties.auto_key_rotation_error is None
    return des.id


async def _disk_error(arm: Arm, des_id: str, name: str) -> str | None:
    poller = await arm.compute.disks.begin_create_or_update(
        "cmk-rg", name, as_disk(disk_body(des_id))
    )
    try:
        await poller.result()
    except HttpResponseError as error:
        return _diagnosis(error)
    await arm.compute.disks.begin_delete("cmk-rg", name)
    return None


@pytest.mark.parametrize(("kind", "code"), FAULT_CODES)
async def test_fault_breaks_disk_create_until_cleared(
    emulator, arm: Arm, chain: Chain, kind: str, code: str
) -> None:
    """Injected: DES GET shows autoKeyRotationError and disk creation fails at the broken link.

    Cleared: both are healthy again.
    """
    des_id = await _des(arm, chain)
    fault_id = await emulator.control.inject_health_fault(des_id, kind)
    assert [f["kind"] for f in await emulator.control.health_faults()] == [kind]
    des = await arm.compute.disk_encryption_sets.get("cmk-rg", "des-h")
    assert des.properties.auto_key_rotation_error.code
    assert await _disk_error(arm, des_id, "d-broken") == code
    await emulator.control.clear_health_fault(fault_id)
    assert await emulator.control.health_faults() == []
    des = await arm.compute.disk_encryption_sets.get("cmk-rg", "des-h")
    assert des.properties.auto_key_rotation_error is None
    assert await _disk_error(arm, des_id, "d-healthy") is None


async def test_no_rotation_error_without_auto_rotation(emulator, arm: Arm, chain: Chain) -> None:
    """autoKeyRotationError only exists for a DES that rotates to the latest key version."""
    des = await (
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-n", as_des(chain.des_body(rotationToLatestKeyVersionEnabled=False))
        )
    ).result()
    assert des.id is not None
    await emulator.control.inject_health_fault(des.id, "key_disabled")
    got = await arm.compute.disk_encryption_sets.get("cmk-rg", "des-n")
    assert got.properties.auto_key_rotation_error is None
    assert await _disk_error(arm, des.id, "d-n") == "KeyDisabled"


async def test_des_changed_outside_the_service(emulator, arm: Arm, chain: Chain) -> None:
    """Another principal moves the DES to a new key version; clearing restores the DES."""
    des_id = await _des(arm, chain)
    fault_id = await emulator.control.inject_health_fault(des_id, "des_changed")
    changed = await arm.compute.disk_encryption_sets.get("cmk-rg", "des-h")
    assert changed.active_key.key_url != chain.key_url
    assert changed.active_key.key_url.startswith(chain.key_url.rsplit("/", 1)[0] + "/")
    assert [k.key_url for k in changed.previous_keys] == [chain.key_url]
    stored = (await emulator.control.snapshot())["resources"][des_id.lower()]
    assert stored["systemData"]["lastModifiedByType"] == "User"
    await emulator.control.clear_health_fault(fault_id)
    restored = await arm.compute.disk_encryption_sets.get("cmk-rg", "des-h")
    assert restored.active_key.key_url == chain.key_url and not restored.previous_keys


async def test_des_changed_to_an_identity_without_fic(emulator, arm: Arm, chain: Chain) -> None:
    """Swapping in an identity the app does not trust breaks the chain at the FIC."""
    des_id = await _des(arm, chain)
    other = await arm.msi.user_assigned_identities.create_or_update(
        "cmk-rg", "stranger", {"location": "eastus"}
    )
    fault_id = await emulator.control.inject_health_fault(
        des_id, "des_changed", identity_id=other.id
    )
    assert await _disk_error(arm, des_id, "d-s") == "FederatedCredentialMismatch"
    await emulator.control.clear_health_fault(fault_id)
    assert await _disk_error(arm, des_id, "d-s") is None


async def test_unknown_kind_is_refused(emulator, arm: Arm, chain: Chain) -> None:
    """Only the documented fault kinds are accepted."""
    des_id = await _des(arm, chain)
    with pytest.raises(Exception, match="kind must be one of"):
        await emulator.control.inject_health_fault(des_id, "meteor")
