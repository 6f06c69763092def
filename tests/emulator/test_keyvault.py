"""Key Vault / Managed HSM tenant discovery, and the Managed HSM crypto role for DES."""

from __future__ import annotations

import httpx
import pytest
from azure.core.exceptions import HttpResponseError

from emulator.key_roles import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
from tests.emulator.conftest import Arm, Chain, arm_error, as_des


async def _get(emulator, host: str, token: str | None = None) -> httpx.Response:
    headers = {"Host": host}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(verify=str(emulator.ca_path)) as http:
        return await http.get(
            f"{emulator.url}/keys/cmk-key/0123456789abcdef0123456789abcdef?api-version=7.4",
            headers=headers,
        )


async def test_unauthenticated_vault_request_names_the_tenant(emulator, chain: Chain) -> None:
    """401 with WWW-Authenticate naming the vault's tenant and resource https://vault.azure.net."""
    response = await _get(emulator, f"{chain.vault}.vault.azure.net")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="https://login.microsoftonline.com/{chain.customer.tenant_id}", '
        'resource="https://vault.azure.net"'
    )
    assert response.json()["error"] == {
        "code": "Unauthorized",
        "message": "AKV10000: Request is missing a Bearer or PoP token.",
    }


async def test_managed_hsm_challenge(emulator, customer) -> None:
    """A Managed HSM host answers with resource https://managedhsm.azure.net."""
    name = f"hsm{customer.tenant_id[:8]}"
    await emulator.control.create_vault(
        customer.tenant_id, name, region="eastus", kind="managed_hsm"
    )
    response = await _get(emulator, f"{name}.managedhsm.azure.net")
    assert response.status_code == 401
    assert 'resource="https://managedhsm.azure.net"' in response.headers["WWW-Authenticate"]
    assert customer.tenant_id in response.headers["WWW-Authenticate"]
    assert (await _get(emulator, f"{name}.vault.azure.net")).status_code == 404


async def test_token_from_another_tenant_is_invalid_issuer(
    emulator, chain: Chain, credential
) -> None:
    """The ISV's own vault token is refused by the customer's vault (AKV10032)."""
    token = (await credential.get_token("https://vault.azure.net/.default")).token
    response = await _get(emulator, f"{chain.vault}.vault.azure.net", token)
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("AKV10032: Invalid issuer.")
    assert chain.customer.tenant_id in response.headers["WWW-Authenticate"]


async def test_managed_hsm_key_needs_the_hsm_role(emulator, arm: Arm, chain: Chain) -> None:
    """An HSM key with only the Key Vault role fails; the Managed HSM role makes the DES succeed."""
    tenant, hsm = chain.customer.tenant_id, f"hsm{chain.customer.tenant_id[:8]}"
    control = emulator.control
    await control.create_vault(tenant, hsm, region="eastus", kind="managed_hsm")
    key_url = await control.create_key(tenant, hsm, "hsm-key", kty="RSA-HSM")
    assert key_url.startswith(f"https://{hsm}.managedhsm.azure.net/keys/hsm-key/")
    await control.assign_key_role(
        tenant, hsm, chain.app_id, role_definition_id=KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
    )
    body = as_des(chain.des_body(activeKey={"keyUrl": key_url}))
    poller = await arm.compute.disk_encryption_sets.begin_create_or_update("cmk-rg", "des-h", body)
    with pytest.raises(HttpResponseError) as error:
        await poller.result()
    assert arm_error(error.value).code == "KeyVaultAccessForbidden"
    await control.assign_key_role(tenant, hsm, chain.app_id)  # default: the HSM role
    des = await (
        await arm.compute.disk_encryption_sets.begin_create_or_update("cmk-rg", "des-h", body)
    ).result()
    assert des.properties.provisioning_state == "Succeeded"
