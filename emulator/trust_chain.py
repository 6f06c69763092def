"""The cross-tenant CMK trust chain, checked link by link as DiskRP checks DES and encrypted disks.

Wire vocabulary (see docs/azure-fidelity.md for the source of every text):
- `code` and `message` are what Azure is documented or publicly reported to return. Where the exact
  DiskRP wrapping is not public, the carrier is a real code (`KeyVaultAccessForbidden`,
  `BadRequest`, Key Vault's `KeyNotFound`) and the embedded Entra text (AADSTS...) is verbatim.
- Our own diagnosis (which link broke) never replaces the code: it travels in ARM's standard
  `additionalInfo` list as `{"type": "EmulatorDiagnosis", "info": {"diagnosis", "link"}}`. The
  service does not read it; activities/errors.py derives the same diagnosis from the real text,
  so it also works against real Azure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from emulator.key_roles import crypto_role_for
from emulator.state import World

FIC_AUDIENCE = "api://AzureADTokenExchange"
CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
REQUIRED_KEY_PERMISSIONS = {"get", "wrapkey", "unwrapkey"}
SUPPORTED_KEY_TYPES = {"RSA", "RSA-HSM"}
SUPPORTED_KEY_SIZES = {2048, 3072, 4096}
DIAGNOSIS_TYPE = "EmulatorDiagnosis"


@dataclass(frozen=True)
class ChainBroken:
    """One broken link: Azure's code and message, plus our diagnosis kept apart from them."""

    code: str
    message: str
    diagnosis: str
    link: int

    def additional_info(self) -> list[dict[str, Any]]:
        return [{"type": DIAGNOSIS_TYPE, "info": {"diagnosis": self.diagnosis, "link": self.link}}]

    def as_error(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "details": [],
            "additionalInfo": self.additional_info(),
        }


def key_vault_access_forbidden(vault_uri: str, identity_id: str) -> str:
    """DiskRP's KeyVaultAccessForbidden sentence (reported in ansible-collections/azure#1676)."""
    return (
        f"Unable to access key vault resource '{vault_uri}' to enable encryption at rest. Please "
        f"grant get, wrap and unwrap key permissions to user-assigned identity '{identity_id}'. "
        "Please visit https://aka.ms/keyvaultaccessssecmk for more information."
    )


def check_federated_client(world: World, isv_tenant_id: str, client_id: str) -> ChainBroken | None:
    """Link 1 (synchronous 400): a multi-tenant application registered in the ISV tenant."""
    app = world.app_by_app_id(isv_tenant_id, client_id)
    if app is None or app.get("signInAudience") != "AzureADMultipleOrgs":
        # Text as reported in hashicorp/terraform-provider-azurerm#19184.
        return ChainBroken(
            "BadRequest",
            "Federated client id can only be set to either 'None' or client id of the "
            "multi-tenant AAD application.",
            "InvalidFederatedClientId",
            1,
        )
    return None


def check_federation(
    world: World,
    isv_tenant_id: str,
    client_id: str,
    identities: dict[str, str],
    vault_uri: str,
) -> ChainBroken | None:
    """Link 2: the app trusts one of the DES's managed identities (id -> principalId) via a FIC."""
    app = world.app_by_app_id(isv_tenant_id, client_id)
    assert app is not None
    issuer = f"https://login.microsoftonline.com/{isv_tenant_id}/v2.0"
    principals = {p.lower() for p in identities.values()}
    for fic in app.get("federatedIdentityCredentials", []):
        if (
            fic["issuer"].rstrip("/") == issuer
            and fic["subject"].lower() in principals
            and FIC_AUDIENCE in fic.get("audiences", [])
        ):
            return None
    subject = sorted(principals)[0] if principals else ""
    # The AADSTS70021 sentence is Entra's verbatim (Azure/azure-workload-identity#616); how
    # DiskRP wraps it is not public, so it rides on the documented KeyVaultAccessForbidden.
    return ChainBroken(
        "KeyVaultAccessForbidden",
        f"{key_vault_access_forbidden(vault_uri, next(iter(identities), ''))} "
        "AADSTS70021: No matching federated identity record found for presented assertion. "
        f"Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. "
        f"Assertion Audience: '{FIC_AUDIENCE}'. "
        "https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation",
        "FederatedCredentialMismatch",
        2,
    )


def check_customer_key(
    world: World, client_id: str, key_url: str, region: str, identity_id: str = ""
) -> ChainBroken | None:
    """Links 3-8: key exists, consent, access, vault protection, key properties, region."""
    parts = urlsplit(key_url)
    vault_name = (parts.hostname or "").split(".", 1)[0].lower()
    vault_uri = f"https://{parts.hostname}/"
    found = world.vault_anywhere(vault_name)
    if found is None:
        # Real behaviour unconfirmed (the host does not resolve); the carrier is the
        # documented "cannot access the vault" code.
        return ChainBroken(
            "KeyVaultAccessForbidden",
            key_vault_access_forbidden(vault_uri, identity_id),
            "KeyVaultNotFound",
            3,
        )
    tenant_id, vault = found
    segments = [s for s in parts.path.split("/") if s]
    key_name = segments[1] if len(segments) >= 2 else ""
    version = segments[2] if len(segments) >= 3 else ""
    key = vault["keys"].get(key_name.lower())
    sp = world.sp_by_app_id(tenant_id, client_id)
    if sp is None:
        # Entra's verbatim AADSTS700016 text (Azure/azure-powershell#9156): the token for the
        # customer tenant fails before any Key Vault call, so it is checked before the key.
        return ChainBroken(
            "KeyVaultAccessForbidden",
            f"{key_vault_access_forbidden(vault_uri, identity_id)} AADSTS700016: Application "
            f"with identifier '{client_id}' was not found in the directory '{tenant_id}'. This "
            "can happen if the application has not been installed by the administrator of the "
            "tenant or consented to by any user in the tenant. You may have sent your "
            "authentication request to the wrong tenant.",
            "ApplicationNotFoundInCustomerTenant",
            4,
        )
    if key is None or version.lower() not in key["versions"]:
        # Key Vault's own KeyNotFound text; how DiskRP relays it is unconfirmed.
        return ChainBroken(
            "KeyNotFound",
            f"A key with (name/id) {key_name}/{version} was not found in this key vault. If you "
            "recently deleted this key you may be able to recover it using the correct recovery "
            "command. For help resolving this issue, please see "
            "https://go.microsoft.com/fwlink/?linkid=2125182",
            "KeyNotFound",
            3,
        )
    if not _has_key_access(vault, key_name.lower(), sp["id"]):
        return ChainBroken(
            "KeyVaultAccessForbidden",
            key_vault_access_forbidden(vault_uri, identity_id),
            "KeyVaultAccessForbidden",
            5,
        )
    # Links 6-8: the requirements are documented (Learn: disks-cross-tenant-customer-managed-keys,
    # disk-encryption), the exact refusal texts are not; BadRequest carries a plain sentence.
    if not vault["soft_delete"]:
        return _unconfirmed(
            f"The key vault '{vault_uri}' must have soft delete enabled.",
            "KeyVaultSoftDeleteNotEnabled",
            6,
        )
    if not vault["purge_protection"]:
        return _unconfirmed(
            f"The key vault '{vault_uri}' must have purge protection enabled.",
            "KeyVaultPurgeProtectionNotEnabled",
            6,
        )
    if not key["enabled"]:
        return _unconfirmed(f"The key '{key_url}' is disabled.", "KeyDisabled", 7)
    if key["kty"] not in SUPPORTED_KEY_TYPES:
        return _unconfirmed(
            f"The key type '{key['kty']}' is not supported; use RSA or RSA-HSM.",
            "KeyTypeNotSupported",
            7,
        )
    if key["size"] not in SUPPORTED_KEY_SIZES:
        return _unconfirmed(
            f"The key size {key['size']} is not supported; use 2048, 3072 or 4096 bits.",
            "KeySizeNotSupported",
            7,
        )
    if vault["region"] != region.replace(" ", "").lower():
        return _unconfirmed(
            f"The key vault '{vault_uri}' is in region '{vault['region']}' but the resource is "
            f"in '{region}'; they must be in the same region.",
            "KeyVaultRegionMismatch",
            8,
        )
    return None


def _unconfirmed(message: str, diagnosis: str, link: int) -> ChainBroken:
    return ChainBroken("BadRequest", message, diagnosis, link)


def _has_key_access(vault: dict[str, Any], key_name: str, principal_id: str) -> bool:
    if vault["authorization"] == "rbac":
        return any(
            ra["principal_id"] == principal_id
            and ra["role_definition_id"] == crypto_role_for(vault)
            and ra["key"] in (None, key_name)
            for ra in vault["role_assignments"]
        )
    granted = {p.lower() for p in vault["access_policies"].get(principal_id, [])}
    return granted >= REQUIRED_KEY_PERMISSIONS
