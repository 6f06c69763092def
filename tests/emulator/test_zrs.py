"""Zone-redundant disk SKUs exist only in regions with availability zones."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from tests.emulator.conftest import Arm, arm_error, arm_message, as_disk, disk_body


@pytest.mark.parametrize("sku", ["Premium_ZRS", "StandardSSD_ZRS"])
async def test_zrs_refused_outside_zonal_regions(arm: Arm, sku: str) -> None:
    """West US has no availability zones: a ZRS disk there is refused."""
    body = {**disk_body(None, sku=sku), "location": "westus"}
    with pytest.raises(HttpResponseError) as error:
        await arm.compute.disks.begin_create_or_update("cmk-rg", "zrs-w", as_disk(body))
    assert error.value.status_code == 400 and arm_error(error.value).code == "InvalidParameter"
    assert sku in arm_message(error.value)


async def test_zrs_accepted_in_zonal_region(arm: Arm) -> None:
    """East US has zones: Premium_ZRS works there, and LRS works anywhere."""
    disk = await (
        await arm.compute.disks.begin_create_or_update(
            "cmk-rg", "zrs-e", as_disk(disk_body(None, sku="Premium_ZRS"))
        )
    ).result()
    assert disk.sku.name == "Premium_ZRS"
    lrs = {**disk_body(None, sku="Premium_LRS"), "location": "westus"}
    await (await arm.compute.disks.begin_create_or_update("cmk-rg", "lrs-w", as_disk(lrs))).result()
