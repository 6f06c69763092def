"""Which data-plane role lets a customer's service principal use a key for disk encryption.

Key Vault (RBAC mode): "Key Vault Crypto Service Encryption User"; Managed HSM (local RBAC):
"Managed HSM Crypto Service Encryption User" (Learn, "Local RBAC built-in roles for Managed HSM").
"""

from __future__ import annotations

from typing import Any

KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
MANAGED_HSM_CRYPTO_SERVICE_ENCRYPTION_USER = "33413926-3206-4cdd-b39a-83574fe37a17"
VAULT_KINDS = ("vault", "managed_hsm")
HOST_SUFFIX = {"vault": "vault.azure.net", "managed_hsm": "managedhsm.azure.net"}
RESOURCE = {"vault": "https://vault.azure.net", "managed_hsm": "https://managedhsm.azure.net"}


def kind_of(vault: dict[str, Any]) -> str:
    return str(vault.get("kind", "vault"))


def crypto_role_for(vault: dict[str, Any]) -> str:
    """The role id that grants get/wrapKey/unwrapKey for service encryption on this vault."""
    if kind_of(vault) == "managed_hsm":
        return MANAGED_HSM_CRYPTO_SERVICE_ENCRYPTION_USER
    return KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
