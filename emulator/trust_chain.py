"""The cross-tenant CMK trust chain, checked link by link as DiskRP checks DES and encrypted disks.

Codes: BadRequest (1, synchronous), FederatedCredentialMismatch (2), KeyVaultNotFound /
KeyNotFound (3), ApplicationNotFoundInCustomerTenant (4), KeyVaultAccessForbidden (5),
KeyVaultSoftDeleteNotEnabled / KeyVaultPurgeProtectionNotEnabled (6), KeyDisabled /
KeyTypeNotSupported / KeySizeNotSupported (7), KeyVaultRegionMismatch (8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from emulator.state import World

FIC_AUDIENCE = "api://AzureADTokenExchange"
CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
REQUIRED_KEY_PERMISSIONS = {"get", "wrapkey", "unwrapkey"}
SUPPORTED_KEY_TYPES = {"RSA", "RSA-HSM"}
SUPPORTED_KEY_SIZES = {2048, 3072, 4096}


@dataclass(frozen=True)
class ChainBroken:
    """One broken link: the error code and message DiskRP would send."""

    code: str
    message: str

    def as_error(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def check_federated_client(world: World, isv_tenant_id: str, client_id: str) -> ChainBroken | None:
    """Link 1 (synchronous 400): a multi-tenant application registered in the ISV tenant."""
    app = world.app_by_app_id(isv_tenant_id, client_id)
    if app is None or app.get("signInAudience") != "AzureADMultipleOrgs":
        return ChainBroken(
            "BadRequest",
            "Federated client id can only be set to either 'None' or client id of the multi-tenant "
            f"AAD application. '{client_id}' is not a multi-tenant application in tenant "
            f"'{isv_tenant_id}'.",
        )
    return None


def check_federation(
    world: World, isv_tenant_id: str, client_id: str, identity_principals: list[str]
) -> ChainBroken | None:
    """Link 2: the app trusts one of the DES's managed identities through a FIC."""
    app = world.app_by_app_id(isv_tenant_id, client_id)
    assert app is not None
    issuer = f"https://login.microsoftonline.com/{isv_tenant_id}/v2.0"
    principals = {p.lower() for p in identity_principals}
    for fic in app.get("federatedIdentityCredentials", []):
        if (
            fic["issuer"].rstrip("/") == issuer
            and fic["subject"].lower() in principals
            and FIC_AUDIENCE in fic.get("audiences", [])
        ):
            return None
    return ChainBroken(
        "FederatedCredentialMismatch",
        "AADSTS70021: No matching federated identity record found for presented assertion. "
        f"Assertion Issuer: '{issuer}'. Assertion Subject: "
        f"'{', '.join(sorted(principals)) or 'none'}'. "
        f"Assertion Audience: '{FIC_AUDIENCE}'. Application '{client_id}' needs a federated "
        "identity "
        "credential for the encryption set's user-assigned identity.",
    )


def check_customer_key(
    world: World, client_id: str, key_url: str, region: str
) -> ChainBroken | None:
    """Links 3-8: key exists, consent, access, vault protection, key properties, region."""
    parts = urlsplit(key_url)
    vault_name = (parts.hostname or "").split(".", 1)[0].lower()
    found = world.vault_anywhere(vault_name)
    if found is None:
        return ChainBroken(
            "KeyVaultNotFound",
            f"The key vault '{vault_name}' referenced by key URL '{key_url}' was not found in "
            "any tenant.",
        )
    tenant_id, vault = found
    segments = [s for s in parts.path.split("/") if s]
    key_name = segments[1] if len(segments) >= 2 else ""
    version = segments[2] if len(segments) >= 3 else None
    key = vault["keys"].get(key_name.lower())
    if key is None or (version is not None and version.lower() not in key["versions"]):
        return ChainBroken(
            "KeyNotFound",
            f"The key '{key_name}'{f' version {version!r}' if version else ''} was not found in "
            "key vault "
            f"'{vault_name}'.",
        )
    sp = world.sp_by_app_id(tenant_id, client_id)
    if sp is None:
        return ChainBroken(
            "ApplicationNotFoundInCustomerTenant",
            f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
            "directory "
            f"'{tenant_id}'. The customer has not consented to the application.",
        )
    if not _has_key_access(vault, key_name.lower(), sp["id"]):
        return ChainBroken(
            "KeyVaultAccessForbidden",
            f"Unable to access key vault resource '{vault['uri']}' to enable encryption at "
            "rest. Please "
            "grant get, wrap and unwrap key permissions to user-assigned identity "
            f"'{client_id}'. The "
            f"service principal '{sp['id']}' of application '{client_id}' in tenant "
            f"'{tenant_id}' lacks "
            "'Key Vault Crypto Service Encryption User' on the vault or key.",
        )
    if not vault["soft_delete"]:
        return ChainBroken(
            "KeyVaultSoftDeleteNotEnabled",
            f"The key vault '{vault_name}' must have soft delete enabled.",
        )
    if not vault["purge_protection"]:
        return ChainBroken(
            "KeyVaultPurgeProtectionNotEnabled",
            f"The key vault '{vault_name}' must have purge protection enabled.",
        )
    if not key["enabled"]:
        return ChainBroken("KeyDisabled", f"The key '{key_url}' is disabled.")
    if key["kty"] not in SUPPORTED_KEY_TYPES:
        return ChainBroken(
            "KeyTypeNotSupported",
            f"The key type '{key['kty']}' is not supported; use RSA or RSA-HSM.",
        )
    if key["size"] not in SUPPORTED_KEY_SIZES:
        return ChainBroken(
            "KeySizeNotSupported",
            f"The key size {key['size']} is not supported; use 2048, 3072 or 4096 bits.",
        )
    if vault["region"] != region.replace(" ", "").lower():
        return ChainBroken(
            "KeyVaultRegionMismatch",
            f"The key vault '{vault_name}' is in region '{vault['region']}' but the disk "
            "encryption set is "
            f"in '{region}'; they must be in the same region.",
        )
    return None


def _has_key_access(vault: dict[str, Any], key_name: str, principal_id: str) -> bool:
    if vault["authorization"] == "rbac":
        return any(
            ra["principal_id"] == principal_id
            and ra["role_definition_id"] == CRYPTO_SERVICE_ENCRYPTION_USER
            and ra["key"] in (None, key_name)
            for ra in vault["role_assignments"]
        )
    granted = {p.lower() for p in vault["access_policies"].get(principal_id, [])}
    return granted >= REQUIRED_KEY_PERMISSIONS
