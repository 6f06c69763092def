"""Disk encryption set and test disk activities against the emulator's trust chain."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from emulator.control import CustomerTenant, FaultRule, IsvTenant
from emulator.runner import RunningEmulator
from models import ActivityName, ResourceRef
from tests.activities.conftest import (
    Activities,
    IsvIdentity,
    build_isv_identity,
    customer_key,
    disk_spec,
    encryption_set_spec,
)


async def _resources(emulator: RunningEmulator, isv: IsvTenant, kind: str) -> list[str]:
    resources = (await emulator.control.snapshot())["resources"]
    return [
        r
        for r in resources
        if isv.subscription_id in r.lower() and f"/{kind.lower()}/" in r.lower()
    ]


@pytest.fixture
async def chain(acts: Activities, isv: IsvTenant) -> IsvIdentity:
    return await build_isv_identity(acts, isv)


async def test_create_verify_test_disk_and_clean_up(
    acts: Activities,
    isv: IsvTenant,
    customer: CustomerTenant,
    chain: IsvIdentity,
    emulator: RunningEmulator,
) -> None:
    """The whole ISV side after hand-off: DES, verification, encrypted disk, deletions."""
    key_url = await customer_key(emulator, customer, chain.app.app_id)
    spec = encryption_set_spec(isv, chain, key_url)
    created = await acts.run(ActivityName.CREATE_ENCRYPTION_SET, spec)
    assert created.provisioning_state == "Succeeded"
    assert created.key_url == key_url
    assert created.federated_client_id == chain.app.app_id
    assert [i.lower() for i in created.identity_ids] == [chain.identity.id.lower()]
    assert created.encryption_type == "EncryptionAtRestWithCustomerKey"
    verified = await acts.run(ActivityName.VERIFY_ENCRYPTION_SET, spec)
    assert verified == created
    disk = await acts.run(ActivityName.CREATE_TEST_DISK, disk_spec(isv, created.id))
    assert disk.encryption_type == "EncryptionAtRestWithCustomerKey"
    assert disk.encryption_set_id.lower() == created.id.lower()
    # Disks still use the set: it is kept and the activity says so.
    assert await acts.run(ActivityName.DELETE_ENCRYPTION_SET, ResourceRef(id=created.id)) is False
    for _ in range(2):
        await acts.run(ActivityName.DELETE_TEST_DISK, ResourceRef(id=disk.id))
    assert await _resources(emulator, isv, "disks") == []
    assert await acts.run(ActivityName.DELETE_ENCRYPTION_SET, ResourceRef(id=created.id)) is True
    await acts.run(ActivityName.DELETE_ENCRYPTION_SET, ResourceRef(id=created.id))  # no error
    assert await _resources(emulator, isv, "diskEncryptionSets") == []


@pytest.mark.parametrize(
    "path", [r"/diskEncryptionSets/des-1$", r"/disks/cmk-test-disk$"], ids=["des", "disk"]
)
async def test_lost_response_on_create_then_retry_leaves_one_resource(
    acts: Activities,
    isv: IsvTenant,
    customer: CustomerTenant,
    chain: IsvIdentity,
    emulator: RunningEmulator,
    path: str,
) -> None:
    """A committed PUT whose response is lost is repeated safely: same name, one resource."""
    key_url = await customer_key(emulator, customer, chain.app.app_id)
    spec = encryption_set_spec(isv, chain, key_url)
    await emulator.control.set_faults(
        [
            FaultRule(
                method="PUT", path_regex=path, kind="lost_response", probability=1.0, max_count=1
            )
        ]
    )
    created = None
    for _ in range(3):
        try:
            created = await acts.run(ActivityName.CREATE_ENCRYPTION_SET, spec)
            disk = await acts.run(ActivityName.CREATE_TEST_DISK, disk_spec(isv, created.id))
            break
        except ApplicationError as error:
            assert not error.non_retryable, error
    assert created is not None and disk.encryption_set_id.lower() == created.id.lower()
    assert len(await _resources(emulator, isv, "diskEncryptionSets")) == 1
    assert len(await _resources(emulator, isv, "disks")) == 1
    fired = [r for r in await emulator.control.requests() if r.fault == "lost_response"]
    assert len(fired) == 1
