"""The emulator's world and its JSON persistence.

The world holds tenants, directories, subscriptions, resources and vaults. Entities are plain
JSON-shaped dicts so the whole world serialises as-is; helpers here find and create them.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"


def new_guid() -> str:
    return str(uuid.uuid4())


def utc_iso(epoch: float | None = None) -> str:
    stamp = time.gmtime(epoch if epoch is not None else time.time())
    micros = int(((epoch if epoch is not None else time.time()) % 1) * 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", stamp) + f".{micros:06d}+00:00"


@dataclass
class World:
    """Everything the emulator knows. Keys of id-indexed dicts are lower-cased."""

    tenants: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # ARM resources by lower-cased resource id.
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    feature_delay: float = 0.5
    lro_delay: float = 0.2
    dirty: bool = False

    # --- tenants and directories ---------------------------------------------------------------

    def add_tenant(self, tenant_id: str, display_name: str, kind: str) -> dict[str, Any]:
        tenant = self.tenants.setdefault(
            tenant_id.lower(),
            {
                "id": tenant_id.lower(),
                "display_name": display_name,
                "kind": kind,
                "applications": {},
                "service_principals": {},
                "vaults": {},
            },
        )
        self.dirty = True
        return tenant

    def tenant(self, tenant_id: str) -> dict[str, Any] | None:
        return self.tenants.get(tenant_id.lower())

    def app_by_app_id(self, tenant_id: str, app_id: str) -> dict[str, Any] | None:
        tenant = self.tenant(tenant_id)
        if tenant is None:
            return None
        return next(
            (a for a in tenant["applications"].values() if a["appId"].lower() == app_id.lower()),
            None,
        )

    def app_anywhere(self, app_id: str) -> tuple[str, dict[str, Any]] | None:
        """The home tenant and registration of an application id."""
        for tenant_id in self.tenants:
            if (app := self.app_by_app_id(tenant_id, app_id)) is not None:
                return tenant_id, app
        return None

    def sp_by_app_id(self, tenant_id: str, app_id: str) -> dict[str, Any] | None:
        tenant = self.tenant(tenant_id)
        if tenant is None:
            return None
        return next(
            (
                s
                for s in tenant["service_principals"].values()
                if s["appId"].lower() == app_id.lower()
            ),
            None,
        )

    def vault_anywhere(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """Vault names are global, like *.vault.azure.net host names."""
        for tenant_id, tenant in self.tenants.items():
            if (vault := tenant["vaults"].get(name.lower())) is not None:
                return tenant_id, vault
        return None

    # --- subscriptions ---------------------------------------------------------------------------

    def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        return self.subscriptions.get(subscription_id.lower())

    def resources_under(self, prefix: str, resource_type: str) -> list[dict[str, Any]]:
        prefix = prefix.lower().rstrip("/") + "/"
        return [
            r
            for key, r in self.resources.items()
            if key.startswith(prefix) and r["type"].lower() == resource_type.lower()
        ]

    # --- persistence -----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "tenants": self.tenants,
            "subscriptions": self.subscriptions,
            "resources": self.resources,
            "operations": self.operations,
            "feature_delay": self.feature_delay,
            "lro_delay": self.lro_delay,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> World:
        return cls(
            tenants=data["tenants"],
            subscriptions=data["subscriptions"],
            resources=data["resources"],
            operations=data["operations"],
            feature_delay=data["feature_delay"],
            lro_delay=data["lro_delay"],
        )


def save_world(world: World, data_dir: Path) -> None:
    """Write the state atomically: a crash leaves the old file or the new one, never half of one."""
    target = data_dir / STATE_FILE
    tmp = target.with_suffix(".json.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(world.to_json(), handle)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(target)
    world.dirty = False


def load_world(data_dir: Path) -> World | None:
    path = data_dir / STATE_FILE
    if not path.exists():
        return None
    return World.from_json(json.loads(path.read_text(encoding="utf-8")))
