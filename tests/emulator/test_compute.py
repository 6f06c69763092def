"""Disk encryption sets and disks through azure-mgmt-compute's async client."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.emulator.conftest import (
    Arm,
    Chain,
    arm_error,
    arm_message,
    as_des,
    as_disk,
    disk_body,
)


async def test_des_create_is_an_lro_that_succeeds(arm: Arm, chain: Chain) -> None:
    """A DES with a full trust chain ends Succeeded with the identity's principal and client ids."""
    poller = await arm.compute.disk_encryption_sets.begin_create_or_update(
        "cmk-rg", "des-ok", as_des(chain.des_body())
    )
    des = await poller.result()
    assert des.properties is not None and des.properties.active_key is not None
    assert des.properties.provisioning_state == "Succeeded"
    assert des.properties.federated_client_id == chain.app_id
    assert des.properties.active_key.key_url == chain.key_url
    assert des.identity is not None and des.identity.user_assigned_identities is not None
    entry = des.identity.user_assigned_identities[chain.identity_id]
    assert entry.principal_id == chain.principal_id and entry.client_id
    fetched = await arm.compute.disk_encryption_sets.get("cmk-rg", "des-ok")
    assert fetched.id == des.id
    names = [
        d.name async for d in arm.compute.disk_encryption_sets.list_by_resource_group("cmk-rg")
    ]
    assert names == ["des-ok"]
    assert [d.name async for d in arm.compute.disk_encryption_sets.list()] == ["des-ok"]


async def test_des_patch_rotates_key_and_keeps_previous(emulator, arm: Arm, chain: Chain) -> None:
    """PATCH with a new key version is an LRO that records the old key in previousKeys."""
    await (
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-p", as_des(chain.des_body())
        )
    ).result()
    new_url = await emulator.control.create_key(
        chain.customer.tenant_id, chain.vault, chain.key_name
    )
    poller = await arm.compute.disk_encryption_sets.begin_update(
        "cmk-rg", "des-p", {"properties": {"activeKey": {"keyUrl": new_url}}}
    )
    des = await poller.result()
    assert des.properties is not None and des.properties.active_key is not None
    assert des.properties.active_key.key_url == new_url
    assert des.properties.previous_keys is not None
    assert [k.key_url for k in des.properties.previous_keys] == [chain.key_url]


async def test_encrypted_disk_lifecycle_and_des_in_use(arm: Arm, chain: Chain) -> None:
    """An encrypted disk reports its DES; the DES cannot be deleted while the disk exists."""
    des = await (
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-d", as_des(chain.des_body())
        )
    ).result()
    disk = await (
        await arm.compute.disks.begin_create_or_update(
            "cmk-rg", "disk1", as_disk(disk_body(des.id))
        )
    ).result()
    assert disk.properties is not None and disk.properties.encryption is not None
    assert disk.properties.encryption.type == "EncryptionAtRestWithCustomerKey"
    assert disk.properties.encryption.disk_encryption_set_id == des.id
    assert disk.properties.provisioning_state == "Succeeded"
    assert [d.name async for d in arm.compute.disks.list_by_resource_group("cmk-rg")] == ["disk1"]
    associated = [
        r
        async for r in arm.compute.disk_encryption_sets.list_associated_resources("cmk-rg", "des-d")
    ]
    assert associated == [disk.id]
    with pytest.raises(HttpResponseError) as refused:
        await (await arm.compute.disk_encryption_sets.begin_delete("cmk-rg", "des-d")).result()
    assert refused.value.status_code == 409
    await (await arm.compute.disks.begin_delete("cmk-rg", "disk1")).result()
    with pytest.raises(ResourceNotFoundError):
        await arm.compute.disks.get("cmk-rg", "disk1")
    await (await arm.compute.disk_encryption_sets.begin_delete("cmk-rg", "des-d")).result()
    with pytest.raises(ResourceNotFoundError):
        await arm.compute.disk_encryption_sets.get("cmk-rg", "des-d")


async def test_platform_key_disk_needs_no_des(arm: Arm) -> None:
    """A disk without encryption settings is created with the platform key."""
    disk = await (
        await arm.compute.disks.begin_create_or_update("cmk-rg", "plain", as_disk(disk_body(None)))
    ).result()
    assert disk.properties is not None and disk.properties.encryption is not None
    assert disk.properties.encryption.type == "EncryptionAtRestWithPlatformKey"


@pytest.mark.parametrize(
    ("name", "mutate", "target"),
    [
        ("bad.name", lambda b: None, None),
        ("des-x", lambda b: b["properties"].pop("activeKey"), "properties.activeKey.keyUrl"),
        (
            "des-x",
            lambda b: b["properties"].update(encryptionType="Nope"),
            "properties.encryptionType",
        ),
        ("des-x", lambda b: b.pop("identity"), "identity.type"),
    ],
)
async def test_des_validation_names_the_property(
    arm: Arm, chain: Chain, name, mutate, target
) -> None:
    """Invalid names and bodies get a 400 whose message names the property."""
    body = chain.des_body()
    mutate(body)
    with pytest.raises(HttpResponseError) as error:
        await arm.compute.disk_encryption_sets.begin_create_or_update("cmk-rg", name, as_des(body))
    assert error.value.status_code == 400
    if target is None:
        assert arm_error(error.value).code == "InvalidResourceName"
    else:
        assert arm_error(error.value).code == "InvalidParameter" and target in arm_message(
            error.value
        )


async def test_disk_validation_names_the_property(arm: Arm) -> None:
    """A disk without a size is refused with InvalidParameter naming diskSizeGB."""
    body = disk_body(None)
    body["properties"].pop("diskSizeGB")
    with pytest.raises(HttpResponseError) as error:
        await arm.compute.disks.begin_create_or_update("cmk-rg", "nosize", as_disk(body))
    assert arm_error(error.value).code == "InvalidParameter" and "diskSizeGB" in arm_message(
        error.value
    )
