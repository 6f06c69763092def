"""Which Entra tenant owns the customer's vault, from Key Vault's unauthenticated challenge.

An unauthenticated GET of a key URL answers 401 with `WWW-Authenticate: Bearer
authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`
(Managed HSM likewise). No token is sent, so nothing of the ISV's reaches the customer's vault
(DESIGN.md: the ISV's own token must not be used there).
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import customer_setup_error
from config.settings import AzureSettings
from models import (
    ActivityName,
    CustomerSetupIssue,
    KeyVaultTenant,
    KeyVaultTenantCheck,
)

# Any data-plane version answers the challenge; one is sent because Key Vault requires it.
KEY_VAULT_API_VERSION = "7.5"
PROBE_TIMEOUT_SECONDS = 30
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_TENANT_IN_AUTHORITY = re.compile(r"^/([0-9a-fA-F-]{36})/?", re.ASCII)


class KeyVaultTenantProbe:
    """The unauthenticated request; in emulator mode sent to the emulator with the vault's Host."""

    def __init__(self, *, emulator_url: str | None = None, ca_path: Path | None = None) -> None:
        self._emulator_url = emulator_url
        self._ssl = ssl.create_default_context(cafile=ca_path) if ca_path else True
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: AzureSettings) -> KeyVaultTenantProbe:
        if settings.mode == "emulator":
            return cls(emulator_url=settings.emulator_url, ca_path=settings.emulator_ca_bundle)
        return cls()

    async def challenge(self, key_url: str) -> tuple[int, str | None]:
        """The HTTP status and the WWW-Authenticate header of an unauthenticated GET."""
        if self._session is None:  # created on first use, inside the running event loop
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_SECONDS)
            )
        parts = urlsplit(key_url)
        url, headers = key_url, {}
        if self._emulator_url is not None:
            url = f"{self._emulator_url}{parts.path}"
            headers = {"Host": parts.hostname or ""}
        async with self._session.get(
            url,
            params={"api-version": KEY_VAULT_API_VERSION},
            headers=headers,
            ssl=self._ssl,
            allow_redirects=False,
        ) as response:
            return response.status, response.headers.get("WWW-Authenticate")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def tenant_from_challenge(header: str | None) -> str | None:
    """The tenant id in a Bearer challenge's `authorization` (or `authorization_uri`), or None."""
    if not header or not header.strip().lower().startswith("bearer"):
        return None
    params = {k.lower(): v for k, v in _CHALLENGE_PARAM.findall(header)}
    authority = params.get("authorization") or params.get("authorization_uri")
    if not authority:
        return None
    match = _TENANT_IN_AUTHORITY.match(urlsplit(authority).path)
    return match.group(1).lower() if match else None


class KeyVaultTenantActivities:
    """Checks that the key URL a customer sent lives in that customer's own tenant."""

    def __init__(self, probe: KeyVaultTenantProbe) -> None:
        self._probe = probe

    @activity.defn(name=ActivityName.CHECK_KEY_VAULT_TENANT)
    async def check_key_vault_tenant(self, check: KeyVaultTenantCheck) -> KeyVaultTenant:
        """The vault's tenant; another tenant's vault is a CUSTOMER_SETUP error, nothing written."""
        host = (urlsplit(check.key_url).hostname or "").lower()
        expected = check.customer_tenant_id.lower()
        try:
            status, header = await self._probe.challenge(check.key_url)
        except aiohttp.ClientConnectorDNSError:
            raise customer_setup_error(_not_found(host)) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ApplicationError(
                f"ask vault {host} for its tenant: connection problem ({type(error).__name__}); "
                "retrying",
                type="KeyVaultConnectionError",
            ) from None
        if status == 404:
            raise customer_setup_error(_not_found(host))
        if status == 429 or status >= 500:
            raise ApplicationError(
                f"ask vault {host} for its tenant: HTTP {status}; retrying",
                type="KeyVaultUnavailable",
            )
        tenant = tenant_from_challenge(header) if status == 401 else None
        if tenant is None:
            raise customer_setup_error(
                CustomerSetupIssue(
                    code="KeyVaultTenantUnknown",
                    message=f"'{host}' did not name its tenant (HTTP {status}), so it is not a "
                    "Key Vault or Managed HSM this onboarding can use.",
                    fix="Send the key identifier exactly as `az keyvault key show --vault-name "
                    "<vault> --name <key> --query key.kid` prints it.",
                )
            )
        if tenant != expected:
            raise customer_setup_error(
                CustomerSetupIssue(
                    code="KeyVaultInAnotherTenant",
                    message=f"The vault '{host}' belongs to tenant {tenant}, not to this "
                    f"onboarding's customer tenant {expected}; no encryption set was created.",
                    fix=f"Use a key in a Key Vault or Managed HSM of your own tenant {expected} "
                    "and submit its key URL.",
                )
            )
        activity.logger.info("Vault %s belongs to the customer tenant %s", host, tenant)
        return KeyVaultTenant(tenant_id=tenant)


def _not_found(host: str) -> CustomerSetupIssue:
    return CustomerSetupIssue(
        code="KeyVaultNotFound",
        message=f"No Key Vault or Managed HSM answers at '{host}'.",
        fix="Check the key URL: the vault must exist in your tenant; copy the key identifier "
        "from `az keyvault key show --vault-name <vault> --name <key> --query key.kid`.",
    )
