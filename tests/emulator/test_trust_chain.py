"""Every link of the cross-tenant trust chain broken once.

The wire code is one Azure really returns; which link broke is our diagnosis, carried apart in
ARM's additionalInfo (type EmulatorDiagnosis). docs/azure-fidelity.md cites each text.
"""

from __future__ import annotations

import json
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


def _diagnosis(error: HttpResponseError) -> tuple[str | None, str]:
    """(wire code, our diagnosis) of a trust-chain failure, read from the response body.

    A failed async operation's poll body is {"status": "Failed", "error": {...}}; a synchronous
    refusal is {"error": {...}}: both keep additionalInfo inside "error".
    """
    assert error.response is not None
    body = json.loads(error.response.text())["error"]
    infos = [i["info"] for i in body.get("additionalInfo", []) if i["type"] == "EmulatorDiagnosis"]
    assert len(infos) == 1, f"no EmulatorDiagnosis in {error}"
    assert arm_error(error).code == body["code"]
    return body["code"], str(infos[0]["diagnosis"])


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
    assert error.value.status_code == 400
    assert _diagnosis(error.value) == ("BadRequest", "InvalidFederatedClientId")
    assert arm_message(error.value) == (
        "Federated client id can only be set to either 'None' or client id of the multi-tenant "
        "AAD application."
    )


async def test_versionless_key_url_is_refused(arm: Arm, chain: Chain) -> None:
    """DiskRP's keyUrl must carry a version (KeyForDiskEncryptionSet); refused synchronously."""
    versionless = chain.key_url.rsplit("/", 1)[0]
    body = chain.des_body(activeKey={"keyUrl": versionless})
    with pytest.raises(HttpResponseError) as error:
        await arm.compute.disk_encryption_sets.begin_create_or_update(
            "cmk-rg", "des-nover", as_des(body)
        )
    assert error.value.status_code == 400 and arm_error(error.value).code == "InvalidParameter"
    assert "Version segment of the Url is required" in arm_message(error.value)
    assert arm_message(error.value).endswith("Target: 'properties.activeKey.keyUrl'.")


async def test_link2_missing_fic_fails_the_lro_and_leaves_failed_des(
    emulator, isv, customer, arm, graph
) -> None:
    """Without a matching FIC the LRO fails with Entra's AADSTS70021 text inside the message."""
    chain = await build_chain(emulator, isv, customer, arm, graph, fic=False)
    error = await _des_failure(arm, chain.des_body(), "des-l2")
    assert error.status_code == 200  # a failed async operation: the poll itself answered 200
    assert _diagnosis(error) == ("KeyVaultAccessForbidden", "FederatedCredentialMismatch")
    assert (
        "AADSTS70021: No matching federated identity record found for presented assertion. "
        f"Assertion Issuer: 'https://login.microsoftonline.com/{isv.tenant_id}/v2.0'."
    ) in arm_message(error)
    des = await arm.compute.disk_encryption_sets.get("cmk-rg", "des-l2")
    assert des.properties.provisioning_state == "Failed"


async def test_link3_unknown_vault(arm: Arm, chain: Chain) -> None:
    """A key URL on a vault no tenant owns: no access to the vault (diagnosis KeyVaultNotFound)."""
    body = chain.des_body(
        activeKey={"keyUrl": "https://nosuchvault.vault.azure.net/keys/k/" + "0" * 32}
    )
    assert _diagnosis(await _des_failure(arm, body)) == (
        "KeyVaultAccessForbidden",
        "KeyVaultNotFound",
    )


async def test_link3_unknown_key(arm: Arm, chain: Chain) -> None:
    """A missing key in an existing vault fails with Key Vault's KeyNotFound."""
    url = f"https://{chain.vault}.vault.azure.net/keys/other/" + "a" * 32
    error = await _des_failure(arm, chain.des_body(activeKey={"keyUrl": url}))
    assert _diagnosis(error) == ("KeyNotFound", "KeyNotFound")
    assert "A key with (name/id) other/" in arm_message(error)


async def test_link4_no_consent(emulator, isv, customer, arm, graph) -> None:
    """Without a service principal in the customer tenant the DES fails with AADSTS700016."""
    chain = await build_chain(emulator, isv, customer, arm, graph, consent=False)
    error = await _des_failure(arm, chain.des_body())
    assert _diagnosis(error) == ("KeyVaultAccessForbidden", "ApplicationNotFoundInCustomerTenant")
    assert f"AADSTS700016: Application with identifier '{chain.app_id}'" in arm_message(error)


async def test_link5_no_role(emulator, isv, customer, arm, graph) -> None:
    """Without the crypto role the DES fails with KeyVaultAccessForbidden and DESIGN.md's text."""
    chain = await build_chain(emulator, isv, customer, arm, graph, role=False)
    error = await _des_failure(arm, chain.des_body())
    assert _diagnosis(error) == ("KeyVaultAccessForbidden", "KeyVaultAccessForbidden")
    assert arm_message(error).startswith("Unable to access key vault resource 'https://")
    assert "Please grant get, wrap and unwrap key permissions to user-assigned identity" in (
        arm_message(error)
    )


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
    """A vault without soft delete or purge protection: BadRequest, diagnosed apart."""
    await emulator.control.create_vault(
        chain.customer.tenant_id, chain.vault, region="eastus", **vault_options
    )
    assert _diagnosis(await _des_failure(arm, chain.des_body())) == ("BadRequest", code)


@pytest.mark.parametrize(
    ("key_options", "code"),
    [
        ({"enabled": False}, "KeyDisabled"),
        ({"kty": "EC"}, "KeyTypeNotSupported"),
        ({"size": 1024}, "KeySizeNotSupported"),
    ],
)
async def test_link7_key_properties(emulator, arm: Arm, chain: Chain, key_options, code) -> None:
    """Disabled, non-RSA and wrong-size keys: BadRequest, each diagnosed apart."""
    key_url = await emulator.control.create_key(
        chain.customer.tenant_id, chain.vault, "odd", **key_options
    )
    failure = await _des_failure(arm, chain.des_body(activeKey={"keyUrl": key_url}))
    assert _diagnosis(failure) == ("BadRequest", code)


async def test_link8_region_mismatch(emulator, isv, customer, arm, graph) -> None:
    """A vault in another region than the DES: BadRequest, diagnosis KeyVaultRegionMismatch."""
    chain = await build_chain(emulator, isv, customer, arm, graph, vault_region="westus")
    assert _diagnosis(await _des_failure(arm, chain.des_body())) == (
        "BadRequest",
        "KeyVaultRegionMismatch",
    )


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
    assert _diagnosis(disabled.value) == ("BadRequest", "KeyDisabled")
    await emulator.control.revoke_consent(chain.customer.tenant_id, chain.app_id)
    with pytest.raises(HttpResponseError) as revoked:
        await (
            await arm.compute.disks.begin_create_or_update(
                "cmk-rg", "dk", as_disk(disk_body(des.id))
            )
        ).result()
    assert _diagnosis(revoked.value) == (
        "KeyVaultAccessForbidden",
        "ApplicationNotFoundInCustomerTenant",
    )
