"""EmulatorControl methods for throttling, RBAC, Key Vault hosts and key-health faults.

A mixin so that emulator/control.py only names it; each method wraps one admin route.
"""

from __future__ import annotations

from typing import Any

HEALTH_FAULTS = (
    "consent_revoked",
    "role_removed",
    "key_disabled",
    "key_expired",
    "key_deleted",
    "vault_gone",
    "identity_deleted",
    "fic_deleted",
    "des_changed",
)


class ControlExtensions:
    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        raise NotImplementedError

    # --- throttling ------------------------------------------------------------------------------

    async def set_throttling(
        self,
        *,
        enabled: bool | None = None,
        region: str | None = None,
        time_scale: float | None = None,
        arm: dict[str, tuple[float, float]] | None = None,
        global_factor: float | None = None,
        des_windows: list[tuple[str, int, float]] | None = None,
    ) -> dict[str, Any]:
        """Change ARM bucket sizes/refill rates (per read|write|delete) and DiskRP's DES windows.

        Buckets start full again after every change.
        """
        body: dict[str, Any] = {
            k: v
            for k, v in {
                "enabled": enabled,
                "region": region,
                "time_scale": time_scale,
                "arm": {k: list(v) for k, v in arm.items()} if arm else None,
                "global_factor": global_factor,
                "des_windows": [list(w) for w in des_windows] if des_windows else None,
            }.items()
            if v is not None
        }
        return dict(await self._call("PUT", "/throttling", body))

    async def throttling(self) -> dict[str, Any]:
        return dict(await self._call("GET", "/throttling"))

    async def reset_throttling(self) -> None:
        """Back to Azure's documented limits, with full buckets."""
        await self._call("DELETE", "/throttling")

    # --- RBAC ------------------------------------------------------------------------------------

    async def grant_role(
        self,
        subscription_id: str,
        *,
        role: str | None = None,
        action: str | None = None,
        app_id: str | None = None,
        principal_id: str | None = None,
        scope: str = "",
    ) -> dict[str, Any]:
        """Assign a role (by name) or a single action to a principal at a scope.

        `scope` is a full ARM id or a path below the subscription ("" = the subscription,
        "/resourceGroups/cmk-rg"); the principal is given by app_id (its SP in the subscription's
        tenant) or principal_id.
        """
        body = {
            "role": role,
            "action": action,
            "app_id": app_id,
            "principal_id": principal_id,
            "scope": scope,
        }
        return dict(
            await self._call(
                "POST", f"/subscriptions/{subscription_id}/roleAssignments/assign", body
            )
        )

    async def revoke_role(
        self,
        subscription_id: str,
        *,
        role: str | None = None,
        action: str | None = None,
        app_id: str | None = None,
        principal_id: str | None = None,
        scope: str = "",
    ) -> None:
        """Remove the assignment grant_role made with the same arguments."""
        body = {
            "role": role,
            "action": action,
            "app_id": app_id,
            "principal_id": principal_id,
            "scope": scope,
        }
        await self._call("POST", f"/subscriptions/{subscription_id}/roleAssignments/remove", body)

    async def role_assignments(self, subscription_id: str) -> list[dict[str, Any]]:
        data = await self._call("GET", f"/subscriptions/{subscription_id}/roleAssignments")
        return list(data["value"])

    async def set_graph_permissions(self, tenant_id: str, app_id: str, roles: list[str]) -> None:
        """Replace the Graph application permissions (app roles) granted to an app's SP."""
        await self._call("PUT", f"/tenants/{tenant_id}/graphPermissions/{app_id}", {"roles": roles})

    # --- key-health faults -----------------------------------------------------------------------

    async def inject_health_fault(self, des_id: str, kind: str, **options: Any) -> str:
        """Break one link behind a working DES (kind: one of HEALTH_FAULTS); returns the fault id.

        des_changed takes key_url=... and/or identity_id=... (defaults: a new version of the key).
        """
        data = await self._call(
            "POST", "/healthFaults", {"des_id": des_id, "kind": kind, "options": options}
        )
        return str(data["id"])

    async def clear_health_fault(self, fault_id: str) -> None:
        """Undo an injected fault: the deleted or changed object comes back as it was."""
        await self._call("DELETE", f"/healthFaults/{fault_id}")

    async def health_faults(self) -> list[dict[str, Any]]:
        return list((await self._call("GET", "/healthFaults"))["value"])
