"""Every link of the cross-tenant trust chain broken once, with the code Azure-like DiskRP gives."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from tests.emulator.conftest import (
    Arm,
    Chain,
    arm_error,
    arm_message,
    as_des,
    as_disk,
    build_chain,
    disk_body,
)


async def _des_failure(
    arm: Arm, body: dict[str, Any], name: str = "des-broken"
) -> HttpResponseError:
    poller = await arm.compute.disk_encryption_sets.begin_create_or_update(
        "cmk-rg", name, as_des(body)
    )
    with pytest.raises(HttpResponseError) as failed:
        await poller.result()
    return failed.value


async def test_link1_federated_client_must_be_multitenant_app(arm: Arm, chain: Chain) -> None:
    """An unknown federatedClientId is refused synchronously with BadRequest."""
    body = chain.des_body(federatedClientId="00000000-0000-0000-0000-000000000001")
    with pytest.raises(HttpResponseError) as error:
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-l1", as_des(body)
        )
    assert error.value.status_code == 400 and arm_error(error.value).code == "BadRequest"
    assert "Federated client id can only be set to either 'None'" in arm_message(error.value)


async def test_link2_missing_fic_fails_the_lro_and_leaves_failed_des(
    emulator, isv, customer, arm, graph
) -> None:
    """Without a matching FIC the DES LRO fails with FederatedCredentialMismatch (AADSTS70021)."""
    chain = await build_chain(emulator, isv, customer, arm, graph, fic=False)
    error = await _des_failure(arm, chain.des_body(), "des-l2")
    assert arm_error(error).code == "FederatedCredentialMismatch"
    assert "AADSTS70021" in arm_message(error)
    des = await arm.compute.disk_encryption_sets.get("cmk-rg", "des-l2")
    assert des.properties.provisioning_state == "Failed"


async def test_link3_unknown_vault(arm: Arm, chain: Chain) -> None:
    """A key URL on a vault no tenant owns fails with KeyVaultNotFound."""
    body = chain.des_body(activeKey={"keyUrl": "https://nosuchvault.vault.azure.net/keys/k"})
    assert arm_error(await _des_failure(arm, body)).code == "KeyVaultNotFound"


async def test_link3_unknown_key(arm: Arm, chain: Chain) -> None:
    """A missing key in an existing vault fails with KeyNotFound."""
    body = chain.des_body(activeKey={"keyUrl": f"https://{chain.vault}.vault.azure.net/keys/other"})
    assert arm_error(await _des_failure(arm, body)).code == "KeyNotFound"


async def test_link4_no_consent(emulator, isv, customer, arm, graph) -> None:
    """Without a service principal in the customer tenant the DES fails with AADSTS700016."""
    chain = await build_chain(emulator, isv, customer, arm, graph, consent=False)
    error = await _des_failure(arm, chain.des_body())
    assert arm_error(error).code == "ApplicationNotFoundInCustomerTenant"
    assert f"AADSTS700016: Application with identifier '{chain.app_id}'" in arm_message(error)


async def test_link5_no_role(emulator, isv, customer, arm, graph) -> None:
    """Without the crypto role the DES fails with KeyVaultAccessForbidden and DESIGN.md's text."""
    chain = await build_chain(emulator, isv, customer, arm, graph, role=False)
    error = await _des_failure(arm, chain.des_body())
    assert arm_error(error).code == "KeyVaultAccessForbidden"
    assert "Unable to access key vault resource" in arm_message(error)


async def test_link5_access_policy_vault_needs_all_three_permissions(
    emulator, isv, customer, arm, graph
) -> None:
    """An access-policy vault works with get/wrapKey/unwrapKey and fails without unwrapKey."""
    chain = await build_chain(emulator, isv, customer, arm, graph, role=False)
    control, tenant = emulator.control, customer.tenant_id
    await control.create_vault(
        tenant, "policykv" + tenant[:6], region="eastus", authorization="access_policy"
    )
    key_url = await control.create_key(tenant, "policykv" + tenant[:6], "k")
    await control.set_access_policy(
        tenant, "policykv" + tenant[:6], chain.app_id, ("get", "wrapKey")
    )
    body = chain.des_body(activeKey={"keyUrl": key_url})
    assert arm_error(await _des_failure(arm, body, "des-ap")).code == "KeyVaultAccessForbidden"
    await control.set_access_policy(tenant, "policykv" + tenant[:6], chain.app_id)
    des = await (
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-ap", as_des(body)
        )
    ).result()
    assert des.properties.provisioning_state == "Succeeded"


@pytest.mark.parametrize(
    ("vault_options", "code"),
    [
        ({"soft_delete": False}, "KeyVaultSoftDeleteNotEnabled"),
        ({"purge_protection": False}, "KeyVaultPurgeProtectionNotEnabled"),
    ],
)
async def test_link6_vault_protection(
    emulator, arm: Arm, chain: Chain, vault_options, code
) -> None:
    """A vault without soft delete or purge protection fails with its own code."""
    await emulator.control.create_vault(
        chain.customer.tenant_id, chain.vault, region="eastus", **vault_options
    )
    assert arm_error(await _des_failure(arm, chain.des_body())).code == code


@pytest.mark.parametrize(
    ("key_options", "code"),
    [
        ({"enabled": False}, "KeyDisabled"),
        ({"kty": "EC"}, "KeyTypeNotSupported"),
        ({"size": 1024}, "KeySizeNotSupported"),
    ],
)
async def test_link7_key_properties(emulator, arm: Arm, chain: Chain, key_options, code) -> None:
    """Disabled, non-RSA and wrong-size keys each fail with their own code."""
    key_url = await emulator.control.create_key(
        chain.customer.tenant_id, chain.vault, "odd", **key_options
    )
    failure = await _des_failure(arm, chain.des_body(activeKey={"keyUrl": key_url}))
    assert arm_error(failure).code == code


async def test_link8_region_mismatch(emulator, isv, customer, arm, graph) -> None:
    """A vault in another region than the DES fails with KeyVaultRegionMismatch."""
    chain = await build_chain(emulator, isv, customer, arm, graph, vault_region="westus")
    assert arm_error(await _des_failure(arm, chain.des_body())).code == "KeyVaultRegionMismatch"


async def test_disk_create_rechecks_the_chain(emulator, arm: Arm, chain: Chain) -> None:
    """A role removed after DES creation fails the encrypted disk's LRO, and no disk remains."""
    des = await (
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-r", as_des(chain.des_body())
        )
    ).result()
    await emulator.control.remove_key_role(chain.customer.tenant_id, chain.vault, chain.app_id)
    poller = await arm.compute.disks.begin_create_or_update(
        "cmk-rg", "disk-r", as_disk(disk_body(des.id))
    )
    with pytest.raises(HttpResponseError) as failed:
        await poller.result()
    assert arm_error(failed.value).code == "KeyVaultAccessForbidden"
    assert [d.name async for d in arm.compute.disks.list_by_resource_group("cmk-rg")] == []


async def test_disabled_key_and_revoked_consent_fail_disk_create(
    emulator, arm: Arm, chain: Chain
) -> None:
    """Disabling the key, then revoking consent, each show up at disk creation with their codes."""
    des = await (
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-k", as_des(chain.des_body())
        )
    ).result()
    await emulator.control.set_key_enabled(
        chain.customer.tenant_id, chain.vault, chain.key_name, False
    )
    with pytest.raises(HttpResponseError) as disabled:
        await (
            await arm.compute.disks.begin_create_or_update(
                "cmk-rg", "dk", as_disk(disk_body(des.id))
            )
        ).result()
    assert arm_error(disabled.value).code == "KeyDisabled"
    await emulator.control.revoke_consent(chain.customer.tenant_id, chain.app_id)
    with pytest.raises(HttpResponseError) as revoked:
        await (
            await arm.compute.disks.begin_create_or_update(
                "cmk-rg", "dk", as_disk(disk_body(des.id))
            )
        ).result()
    assert arm_error(revoked.value).code == "ApplicationNotFoundInCustomerTenant"
