"""Typed async client for the emulator's admin API (/_emulator).

It covers tenants, the customer's side, faults and logs. For example:

control = EmulatorControl(emulator.url, emulator.ca_path)
isv = await control.create_isv_tenant()
customer = await control.create_customer_tenant()
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from emulator.control_ext import ControlExtensions


@dataclass(frozen=True)
class IsvTenant:
    tenant_id: str
    subscription_id: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # keep the secret out of logs and test output
        return (
            f"IsvTenant(tenant_id={self.tenant_id!r}, "
            f"subscription_id={self.subscription_id!r}, client_id={self.client_id!r})"
        )


@dataclass(frozen=True)
class CustomerTenant:
    tenant_id: str


@dataclass(frozen=True)
class FaultRule:
    method: str = "*"
    path_regex: str = ".*"
    kind: Literal["throttle", "error", "latency", "drop", "lost_response"] = "error"
    probability: float = 1.0
    status: int = 503
    retry_after: int = 1
    latency_ms: int = 0
    max_count: int | None = None


@dataclass(frozen=True)
class RequestRecord:
    time: float
    method: str
    path: str
    status: int
    tenant_id: str | None
    kind: Literal["read", "write"]
    resource_type: str
    fault: str | None


class EmulatorControlError(RuntimeError):
    """The admin API refused a call; the message carries its error code and text."""


class EmulatorControl(ControlExtensions):
    """One method per admin route; trusts the emulator through its CA bundle."""

    def __init__(self, base_url: str, ca_path: str | Path):
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/_emulator", verify=str(ca_path), timeout=30.0
        )

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = await self._http.request(method, path, json=body)
        if response.status_code >= 400:
            raise EmulatorControlError(
                f"{method} /_emulator{path} -> {response.status_code}: {response.text}"
            )
        return response.json() if response.content else None

    async def create_isv_tenant(
        self,
        *,
        tenant_id: str | None = None,
        display_name: str = "Fabrikam ISV",
        subscription_id: str | None = None,
        resource_groups: tuple[str, ...] = ("cmk-rg",),
        location: str = "eastus",
    ) -> IsvTenant:
        data = await self._call(
            "POST",
            "/tenants/isv",
            {
                "tenant_id": tenant_id,
                "display_name": display_name,
                "subscription_id": subscription_id,
                "resource_groups": list(resource_groups),
                "location": location,
            },
        )
        return IsvTenant(**data)

    async def create_customer_tenant(
        self, *, tenant_id: str | None = None, display_name: str = "Contoso"
    ) -> CustomerTenant:
        data = await self._call(
            "POST", "/tenants/customer", {"tenant_id": tenant_id, "display_name": display_name}
        )
        return CustomerTenant(**data)

    async def grant_consent(self, tenant_id: str, app_id: str) -> str:
        data = await self._call("POST", f"/tenants/{tenant_id}/consent", {"app_id": app_id})
        return str(data["service_principal_id"])

    async def revoke_consent(self, tenant_id: str, app_id: str) -> None:
        await self._call("DELETE", f"/tenants/{tenant_id}/consent/{app_id}")

    async def create_vault(
        self,
        tenant_id: str,
        name: str,
        *,
        region: str,
        soft_delete: bool = True,
        purge_protection: bool = True,
        authorization: Literal["rbac", "access_policy"] = "rbac",
        kind: Literal["vault", "managed_hsm"] = "vault",
    ) -> None:
        await self._call(
            "POST",
            f"/tenants/{tenant_id}/vaults",
            {
                "name": name,
                "region": region,
                "soft_delete": soft_delete,
                "purge_protection": purge_protection,
                "authorization": authorization,
                "kind": kind,
            },
        )

    async def create_key(
        self,
        tenant_id: str,
        vault: str,
        name: str,
        *,
        kty: str = "RSA",
        size: int = 2048,
        enabled: bool = True,
    ) -> str:
        data = await self._call(
            "POST",
            f"/tenants/{tenant_id}/vaults/{vault}/keys",
            {"name": name, "kty": kty, "size": size, "enabled": enabled},
        )
        return str(data["key_url"])

    async def set_key_enabled(self, tenant_id: str, vault: str, key: str, enabled: bool) -> None:
        await self._call(
            "PATCH", f"/tenants/{tenant_id}/vaults/{vault}/keys/{key}", {"enabled": enabled}
        )

    async def assign_key_role(
        self,
        tenant_id: str,
        vault: str,
        app_id: str,
        *,
        key: str | None = None,
        role_definition_id: str | None = None,
    ) -> None:
        """role_definition_id defaults to the crypto service encryption role of the vault's kind."""
        await self._call(
            "POST",
            f"/tenants/{tenant_id}/vaults/{vault}/roleAssignments/assign",
            {"app_id": app_id, "key": key, "role_definition_id": role_definition_id},
        )

    async def remove_key_role(
        self,
        tenant_id: str,
        vault: str,
        app_id: str,
        *,
        key: str | None = None,
        role_definition_id: str | None = None,
    ) -> None:
        """role_definition_id defaults to the crypto service encryption role of the vault's kind."""
        await self._call(
            "POST",
            f"/tenants/{tenant_id}/vaults/{vault}/roleAssignments/remove",
            {"app_id": app_id, "key": key, "role_definition_id": role_definition_id},
        )

    async def set_access_policy(
        self,
        tenant_id: str,
        vault: str,
        app_id: str,
        permissions: tuple[str, ...] = ("get", "wrapKey", "unwrapKey"),
    ) -> None:
        await self._call(
            "PUT",
            f"/tenants/{tenant_id}/vaults/{vault}/accessPolicies/{app_id}",
            {"permissions": list(permissions)},
        )

    async def set_feature_delay(self, seconds: float) -> None:
        await self._call("PUT", "/settings", {"feature_delay": seconds})

    async def set_lro_delay(self, seconds: float) -> None:
        await self._call("PUT", "/settings", {"lro_delay": seconds})

    async def set_faults(self, rules: list[FaultRule], *, seed: int = 0) -> None:
        await self._call("PUT", "/faults", {"rules": [asdict(r) for r in rules], "seed": seed})

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/faults")

    async def set_write_quota(self, subscription_id: str, writes_per_minute: int | None) -> None:
        await self._call(
            "PUT", f"/quota/{subscription_id}", {"writes_per_minute": writes_per_minute}
        )

    async def requests(self) -> list[RequestRecord]:
        data = await self._call("GET", "/requests")
        return [RequestRecord(**r) for r in data["value"]]

    async def reset_requests(self) -> None:
        await self._call("DELETE", "/requests")

    async def counters(self) -> dict[str, Any]:
        return dict(await self._call("GET", "/counters"))

    async def snapshot(self) -> dict[str, Any]:
        return dict(await self._call("GET", "/snapshot"))

    async def webhook_messages(self, channel: str) -> list[dict[str, Any]]:
        data = await self._call("GET", f"/webhooks/{channel}")
        return list(data["value"])

    async def health(self) -> bool:
        return bool((await self._call("GET", "/health"))["status"] == "ok")

    async def aclose(self) -> None:
        await self._http.aclose()
