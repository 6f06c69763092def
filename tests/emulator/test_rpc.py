"""ARM RPC behaviour the SDK clients rely on: api-versions per type, LRO deletes, Retry-After,
correlation ids and async operations that fail with arbitrary codes."""

from __future__ import annotations

import httpx
import pytest
from azure.core.exceptions import HttpResponseError

from tests.emulator.conftest import ARM_SCOPE, Arm, Chain, arm_error, as_des, as_disk, disk_body

DES_PATH = (
    "/subscriptions/{sub}/resourceGroups/cmk-rg/providers/Microsoft.Compute/diskEncryptionSets"
)


async def _get(emulator, credential, path: str, **kwargs) -> httpx.Response:
    token = (await credential.get_token(ARM_SCOPE)).token
    async with httpx.AsyncClient(verify=str(emulator.ca_path), base_url=emulator.url) as http:
        return await http.get(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


@pytest.mark.parametrize(
    ("version", "status", "code"),
    [
        ("2026-03-02", 200, None),  # azure-mgmt-compute 39's DiskRP version
        ("2019-07-01", 200, None),  # the first DES version: exists, so accepted
        ("2021-07-01", 400, "NoRegisteredProviderFound"),  # a Features version, not DiskRP's
        ("2018-06-01", 400, "NoRegisteredProviderFound"),  # disks had it, DES did not exist yet
    ],
)
async def test_des_api_versions_are_those_diskrp_has(
    emulator, isv, credential, version, status, code
) -> None:
    """Only versions that exist for diskEncryptionSets pass; ARM's refusal names the type."""
    response = await _get(
        emulator,
        credential,
        DES_PATH.format(sub=isv.subscription_id),
        params={"api-version": version},
    )
    assert response.status_code == status
    if code:
        error = response.json()["error"]
        assert error["code"] == code
        assert error["message"].startswith(
            f"No registered resource provider found for location 'eastus' and API version "
            f"'{version}' for type 'diskencryptionsets'. The supported api-versions are '2019-07-01"
        )


async def test_resources_endpoints_answer_invalid_api_version(emulator, isv, credential) -> None:
    """Microsoft.Resources endpoints refuse unknown versions with InvalidApiVersionParameter."""
    response = await _get(
        emulator,
        credential,
        f"/subscriptions/{isv.subscription_id}/resourcegroups/cmk-rg",
        params={"api-version": "2023-02-01"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "InvalidApiVersionParameter"
    assert error["message"].startswith(
        "The api-version '2023-02-01' is invalid. The supported versions are '2025-04-01"
    )


async def test_correlation_id_is_echoed_or_generated(emulator, isv, credential) -> None:
    """ARM echoes x-ms-correlation-request-id and generates one when the caller sent none."""
    path, params = (
        f"/subscriptions/{isv.subscription_id}/resourcegroups/cmk-rg",
        {"api-version": "2021-04-01"},
    )
    token = (await credential.get_token(ARM_SCOPE)).token
    async with httpx.AsyncClient(verify=str(emulator.ca_path), base_url=emulator.url) as http:
        given = await http.get(
            path,
            params=params,
            headers={"Authorization": f"Bearer {token}", "x-ms-correlation-request-id": "abc-1"},
        )
        made = await http.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    assert given.headers["x-ms-correlation-request-id"] == "abc-1"
    generated = made.headers["x-ms-correlation-request-id"]
    assert len(generated) == 36 and generated != made.headers["x-ms-request-id"]


async def test_des_and_disk_delete_are_long_running(emulator, isv, arm: Arm, chain: Chain) -> None:
    """DELETE answers 202 + Location; the resource is gone only when the operation settles."""
    await emulator.control.set_lro_delay(0.3)
    des = await (
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-del", as_des(chain.des_body())
        )
    ).result()
    await (
        await arm.compute.disks.begin_create_or_update(
            "cmk-rg", "disk-del", as_disk(disk_body(des.id))
        )
    ).result()
    disk_poller = await arm.compute.disks.begin_delete("cmk-rg", "disk-del")
    assert disk_poller.status() == "InProgress"
    assert (await arm.compute.disks.get("cmk-rg", "disk-del")).name == "disk-del"  # still there
    await disk_poller.result()
    des_poller = await arm.compute.disk_encryption_sets.begin_delete("cmk-rg", "des-del")
    assert des_poller.status() == "InProgress"
    await des_poller.result()
    names = [
        d.name async for d in arm.compute.disk_encryption_sets.list_by_resource_group("cmk-rg")
    ]
    assert "des-del" not in names
    requests = [
        r
        for r in await emulator.control.requests()
        if r.method == "DELETE" and r.path.endswith(("/des-del", "/disk-del"))
    ]
    assert len(requests) == 2
    assert {r.status for r in requests} == {202}


async def test_retry_after_is_whole_seconds_scaled(
    emulator, arm: Arm, chain: Chain, monkeypatch
) -> None:
    """Retry-After is integer seconds; EMULATOR_TIME_SCALE sizes it, retry-after-ms keeps pace."""
    await emulator.control.set_lro_delay(0.3)
    monkeypatch.setenv("EMULATOR_TIME_SCALE", "0.01")
    poller = await arm.compute.disk_encryption_sets.begin_create_or_update(
        "cmk-rg", "des-ra", as_des(chain.des_body())
    )
    headers = poller.polling_method()._initial_response.http_response.headers  # type: ignore[attr-defined]
    assert headers["Retry-After"] == "30"
    assert 250 <= int(headers["retry-after-ms"]) <= 300
    await poller.result()


async def test_bad_time_scale_is_a_clear_error(monkeypatch) -> None:
    from emulator.lro import retry_after_headers

    monkeypatch.setenv("EMULATOR_TIME_SCALE", "fast")
    with pytest.raises(ValueError, match="EMULATOR_TIME_SCALE must be a positive number"):
        retry_after_headers(1.0)


async def test_operation_can_fail_with_an_arbitrary_code(emulator, arm: Arm, chain: Chain) -> None:
    """An injected failure surfaces as azure-core's HttpResponseError with HTTP status 200."""
    await emulator.control.fail_operations(
        "SomethingNewFromDiskRP", "A brand new refusal.", resource_regex="diskEncryptionSets/des-x$"
    )
    poller = await arm.compute.disk_encryption_sets.begin_create_or_update(
        "cmk-rg", "des-x", as_des(chain.des_body())
    )
    with pytest.raises(HttpResponseError) as failed:
        await poller.result()
    assert failed.value.status_code == 200
    assert arm_error(failed.value).code == "SomethingNewFromDiskRP"
    # max_count 1: the retry succeeds.
    retried = await (
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-x", as_des(chain.des_body())
        )
    ).result()
    assert retried.properties.provisioning_state == "Succeeded"
