"""The vault-tenant check against the emulator's Key Vault challenge (unauthenticated GET)."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities.key_vault_tenant import tenant_from_challenge
from emulator.control import CustomerTenant, IsvTenant
from emulator.runner import RunningEmulator
from models import ActivityName, ErrorType, KeyVaultTenantCheck
from tests.activities.conftest import Activities, build_isv_identity, customer_key


async def test_own_vault_passes_and_another_customers_vault_is_refused(
    acts: Activities, isv: IsvTenant, customer: CustomerTenant, emulator: RunningEmulator
) -> None:
    """Customer B submits customer A's key URL: refused with the reason, nothing written."""
    chain = await build_isv_identity(acts, isv)
    key_a = await customer_key(emulator, customer, chain.app.app_id)
    customer_b = await emulator.control.create_customer_tenant()
    own = await acts.run(
        ActivityName.CHECK_KEY_VAULT_TENANT,
        KeyVaultTenantCheck(key_url=key_a, customer_tenant_id=customer.tenant_id.upper()),
    )
    assert own.tenant_id == customer.tenant_id.lower()

    await emulator.control.reset_requests()
    with pytest.raises(ApplicationError) as refused:
        await acts.run(
            ActivityName.CHECK_KEY_VAULT_TENANT,
            KeyVaultTenantCheck(key_url=key_a, customer_tenant_id=customer_b.tenant_id),
        )
    error = refused.value
    assert error.type == ErrorType.CUSTOMER_SETUP and error.non_retryable
    issue = error.details[0]
    assert issue["code"] == "KeyVaultInAnotherTenant"
    assert customer.tenant_id.lower() in issue["message"]
    assert customer_b.tenant_id.lower() in issue["fix"]
    requests = await emulator.control.requests()
    assert not [r for r in requests if r.method in ("PUT", "POST", "PATCH", "DELETE")]
    probes = [r for r in requests if r.path.startswith("/keys/")]
    assert [(r.method, r.status) for r in probes] == [("GET", 401)]
    resources = (await emulator.control.snapshot())["resources"]
    ours = [r.lower() for r in resources if isv.subscription_id.lower() in r.lower()]
    assert not [r for r in ours if "/diskencryptionsets/" in r]


async def test_missing_vault_is_a_customer_issue(acts: Activities, isv: IsvTenant) -> None:
    with pytest.raises(ApplicationError) as refused:
        await acts.run(
            ActivityName.CHECK_KEY_VAULT_TENANT,
            KeyVaultTenantCheck(
                key_url="https://nosuchvault123.vault.azure.net/keys/k",
                customer_tenant_id=isv.tenant_id,
            ),
        )
    assert refused.value.details[0]["code"] == "KeyVaultNotFound"


def test_challenge_parsing() -> None:
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    assert (
        tenant_from_challenge(
            f'Bearer authorization="https://login.microsoftonline.com/{tenant}", '
            'resource="https://vault.azure.net"'
        )
        == tenant
    )
    assert (
        tenant_from_challenge(
            f'Bearer authorization_uri="https://login.windows.net/{tenant.upper()}/", '
            'resource="https://managedhsm.azure.net"'
        )
        == tenant
    )
    assert tenant_from_challenge('Basic realm="x"') is None
    assert tenant_from_challenge('Bearer resource="https://vault.azure.net"') is None
    assert tenant_from_challenge(None) is None
