"""ARM's token buckets (reads, writes and deletes apart) and DiskRP's DES windows."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from azure.core.exceptions import HttpResponseError

from tests.emulator.conftest import ARM_SCOPE, Arm, Chain, arm_error, as_des, make_credential

API = "api-version=2024-11-30"
LOC = {"location": "eastus"}


async def _arm_http(emulator, credential) -> httpx.AsyncClient:
    token = (await credential.get_token(ARM_SCOPE)).token
    return httpx.AsyncClient(
        base_url=emulator.url,
        verify=str(emulator.ca_path),
        headers={"Authorization": f"Bearer {token}"},
    )


def _uami(isv, name: str) -> str:
    return (
        f"/subscriptions/{isv.subscription_id}/resourceGroups/cmk-rg/providers/"
        f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}?{API}"
    )


async def test_default_limits_are_azures(emulator) -> None:
    """Defaults: reads 250/25 s, writes and deletes 200/10 s, global 15x, DES 99/3min, 289/30min."""
    config = await emulator.control.throttling()
    assert config["arm"] == {"read": [250, 25], "write": [200, 10], "delete": [200, 10]}
    assert config["global_factor"] == 15
    assert [w[1:] for w in config["des_windows"]] == [[99, 180], [289, 1800]]


async def test_write_bucket_empties_and_deletes_count_apart(emulator, isv, credential) -> None:
    """Writes drain their own bucket (429 + Retry-After); deletes and reads still pass."""
    await emulator.control.set_throttling(arm={"write": (2, 0.5)})
    async with await _arm_http(emulator, credential) as http:
        first = await http.put(_uami(isv, "tb-1"), json={"location": "eastus"})
        assert first.headers["x-ms-ratelimit-remaining-subscription-writes"] == "1"
        assert first.headers["x-ms-ratelimit-remaining-subscription-global-writes"] == "29"
        second = await http.put(_uami(isv, "tb-2"), json={"location": "eastus"})
        assert second.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"
        refused = await http.put(_uami(isv, "tb-3"), json={"location": "eastus"})
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
        error = refused.json()["error"]
        assert error["code"] == "SubscriptionRequestsThrottled"
        assert "after additional tokens are available" in error["message"]
        read = await http.get(_uami(isv, "tb-1"))
        assert read.status_code == 200
        assert read.headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"
        assert read.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "3749"
        deleted = await http.delete(_uami(isv, "tb-1"))
        assert deleted.status_code == 200
        assert deleted.headers["x-ms-ratelimit-remaining-subscription-deletes"] == "199"


async def test_bucket_refills_with_time_scale(emulator, isv, credential) -> None:
    """A refused write succeeds once the refill (sped up by time_scale) has put a token back."""
    await emulator.control.set_throttling(arm={"write": (1, 1)}, time_scale=50)
    async with await _arm_http(emulator, credential) as http:
        assert (await http.put(_uami(isv, "rf-1"), json={"location": "eastus"})).status_code == 201
        assert (await http.put(_uami(isv, "rf-2"), json={"location": "eastus"})).status_code == 429
        await asyncio.sleep(0.1)
        assert (await http.put(_uami(isv, "rf-2"), json={"location": "eastus"})).status_code == 201


async def test_buckets_are_per_subscription_and_principal(emulator, isv, credential) -> None:
    """Another subscription's principal still has a full bucket when this one is empty."""
    await emulator.control.set_throttling(arm={"write": (1, 0.01)})
    other = await emulator.control.create_isv_tenant()
    other_credential = make_credential(emulator, other)
    try:
        async with await _arm_http(emulator, credential) as http:
            assert (await http.put(_uami(isv, "pp-1"), json=LOC)).status_code == 201
            assert (await http.put(_uami(isv, "pp-2"), json=LOC)).status_code == 429
        async with await _arm_http(emulator, other_credential) as http:
            assert (await http.put(_uami(other, "pp-1"), json=LOC)).status_code == 201
    finally:
        await other_credential.close()


async def test_des_writes_have_diskrp_windows(emulator, arm: Arm, chain: Chain) -> None:
    """Past DiskRP's DES window a PUT gets 429 OperationNotAllowed naming the policy."""
    await emulator.control.set_throttling(
        des_windows=[("HighCostDiskEncryptionSet3Min", 1, 180), ("HighCost30Min", 5, 1800)]
    )
    poller = await arm.compute.disk_encryption_sets.begin_create_or_update(
        "cmk-rg", "des-t1", as_des(chain.des_body())
    )
    remaining = poller.polling_method()._initial_response.http_response.headers  # type: ignore[attr-defined]
    assert remaining["x-ms-ratelimit-remaining-resource"] == (
        "Microsoft.Compute/HighCostDiskEncryptionSet3Min;0,Microsoft.Compute/HighCost30Min;4"
    )
    await poller.result()
    with pytest.raises(HttpResponseError) as error:
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-t2", as_des(chain.des_body())
        )
    assert error.value.status_code == 429
    body = arm_error(error.value)
    assert body.code == "OperationNotAllowed"
    assert body.details[0].code == "TooManyRequests"
    assert body.details[0].target == "HighCostDiskEncryptionSet3Min"
    assert int(error.value.response.headers["Retry-After"]) > 100
