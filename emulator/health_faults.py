"""Admin routes that break (and mend) one link behind a working disk encryption set.

Each fault is addressed by the DES it harms: the emulator finds the customer tenant, vault, key,
service principal, identity and federated credential from the DES itself. Injecting stashes what
it removes or changes; clearing puts exactly that back. Faults live in the ISV subscription
(subscription["health_faults"]) so they persist with the rest of the world.
"""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from emulator.context import ctx_of
from emulator.errors import ApiError, json_body, json_response
from emulator.state import World, new_guid, utc_iso

KINDS = (
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


class Links:
    """Everything a DES depends on, looked up from the DES."""

    def __init__(self, world: World, des: dict[str, Any]):
        self.world, self.des = world, des
        self.subscription = world.subscription(des["id"].split("/")[2])
        assert self.subscription is not None
        self.isv_tenant_id = self.subscription["tenant_id"]
        self.client_id = str(des["properties"].get("federatedClientId") or "").lower()
        parts = urlsplit(des["properties"]["activeKey"]["keyUrl"])
        self.vault_name = (parts.hostname or "").split(".", 1)[0].lower()
        segments = [s for s in parts.path.split("/") if s]
        self.key_name = segments[1].lower() if len(segments) > 1 else ""
        found = world.vault_anywhere(self.vault_name)
        self.customer_id = found[0] if found else None
        self.vault = found[1] if found else None

    def customer(self) -> dict[str, Any]:
        tenant = self.world.tenant(self.customer_id or "")
        if tenant is None or self.vault is None:
            raise ApiError(409, "InvalidState", "The DES's vault is already gone.")
        return tenant

    def sp(self) -> dict[str, Any]:
        sp = self.world.sp_by_app_id(self.customer()["id"], self.client_id)
        if sp is None:
            raise ApiError(409, "InvalidState", "The customer has no SP for the app (no consent).")
        return sp

    def key(self) -> dict[str, Any]:
        assert self.vault is not None
        key = self.vault["keys"].get(self.key_name) if self.customer() else None
        if key is None:
            raise ApiError(409, "InvalidState", "The DES's key is already gone.")
        return key

    def app(self) -> dict[str, Any]:
        app = self.world.app_by_app_id(self.isv_tenant_id, self.client_id)
        if app is None:
            raise ApiError(409, "InvalidState", "The DES's federated client app is gone.")
        return app


def _strip_principal(vault: dict[str, Any], principal_id: str) -> dict[str, Any]:
    removed = {
        "roles": [r for r in vault["role_assignments"] if r["principal_id"] == principal_id],
        "policy": vault["access_policies"].pop(principal_id, None),
    }
    vault["role_assignments"] = [
        r for r in vault["role_assignments"] if r["principal_id"] != principal_id
    ]
    return removed


def _restore_principal(vault: dict[str, Any], principal_id: str, removed: dict[str, Any]) -> None:
    vault["role_assignments"].extend(removed["roles"])
    if removed["policy"] is not None:
        vault["access_policies"][principal_id] = removed["policy"]


def inject(links: Links, kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """Apply the fault; returns the stash that `clear` needs."""
    if kind == "consent_revoked":
        tenant, sp = links.customer(), links.sp()
        tenant["service_principals"].pop(sp["id"])
        vaults = {n: _strip_principal(v, sp["id"]) for n, v in tenant["vaults"].items()}
        return {"sp": sp, "vaults": vaults}
    if kind == "role_removed":
        sp = links.sp()
        assert links.vault is not None
        return {"sp_id": sp["id"], "removed": _strip_principal(links.vault, sp["id"])}
    if kind == "key_disabled":
        key = links.key()
        previous, key["enabled"] = key["enabled"], False
        return {"enabled": previous}
    if kind == "key_expired":
        key = links.key()
        previous, key["exp"] = key.get("exp"), time.time() - 60
        return {"exp": previous}
    if kind == "key_deleted":
        assert links.vault is not None
        links.key()
        return {"key": links.vault["keys"].pop(links.key_name)}
    if kind == "vault_gone":
        tenant = links.customer()
        return {"vault": tenant["vaults"].pop(links.vault_name)}
    if kind == "identity_deleted":
        isv = links.world.tenant(links.isv_tenant_id)
        assert isv is not None
        stash = []
        for identity_id in links.des["identity"]["userAssignedIdentities"]:
            resource = links.world.resources.pop(identity_id.lower(), None)
            if resource is not None:
                sp = isv["service_principals"].pop(resource["properties"]["principalId"], None)
                stash.append({"resource": resource, "sp": sp})
        return {"identities": stash}
    if kind == "fic_deleted":
        app = links.app()
        principals = {
            v["principalId"].lower()
            for v in links.des["identity"]["userAssignedIdentities"].values()
        }
        fics = app.get("federatedIdentityCredentials", [])
        removed = [f for f in fics if f["subject"].lower() in principals]
        app["federatedIdentityCredentials"] = [f for f in fics if f not in removed]
        return {"fics": removed}
    if kind == "des_changed":
        return _change_des(links, options)
    raise ApiError(400, "InvalidParameter", f"kind must be one of {', '.join(KINDS)}.")


def _change_des(links: Links, options: dict[str, Any]) -> dict[str, Any]:
    """Someone else PATCHes the DES: a new key URL and/or another identity."""
    des = links.des
    stash = {
        "properties": copy.deepcopy(des["properties"]),
        "identity": copy.deepcopy(des["identity"]),
        "systemData": copy.deepcopy(des.get("systemData")),
    }
    key_url = options.get("key_url")
    if not key_url and not options.get("identity_id"):
        key = links.key()  # default: the customer's key gets a new version, and the DES follows
        version = secrets.token_hex(16)
        key["versions"].append(version)
        assert links.vault is not None
        key_url = f"{links.vault['uri']}keys/{key['name']}/{version}"
        stash["added_version"] = version
    if key_url:
        old = des["properties"]["activeKey"]
        des["properties"]["activeKey"] = {"keyUrl": str(key_url)}
        des["properties"]["previousKeys"] = [old, *des["properties"].get("previousKeys", [])]
    if options.get("identity_id"):
        resource = links.world.resources.get(str(options["identity_id"]).lower())
        if resource is None:
            raise ApiError(400, "InvalidParameter", "identity_id names no user-assigned identity.")
        des["identity"] = {
            "type": "UserAssigned",
            "userAssignedIdentities": {
                resource["id"]: {
                    "principalId": resource["properties"]["principalId"],
                    "clientId": resource["properties"]["clientId"],
                }
            },
        }
    # ARM's systemData (common-types) names who changed a resource last; whether DiskRP returns it
    # for DES is not confirmed.
    des["systemData"] = {
        **(des.get("systemData") or {}),
        "lastModifiedBy": str(options.get("modified_by", "someone-else@isv.example")),
        "lastModifiedByType": "User",
        "lastModifiedAt": utc_iso(),
    }
    return stash


def clear(world: World, fault: dict[str, Any]) -> None:
    kind, stash = fault["kind"], fault["stash"]
    des = world.resources.get(fault["des_id"].lower())
    tenant = world.tenant(fault.get("customer_id") or "")
    vault = tenant["vaults"].get(fault["vault"]) if tenant else None
    if kind == "consent_revoked" and tenant is not None:
        tenant["service_principals"][stash["sp"]["id"]] = stash["sp"]
        for name, removed in stash["vaults"].items():
            if name in tenant["vaults"]:
                _restore_principal(tenant["vaults"][name], stash["sp"]["id"], removed)
    elif kind == "role_removed" and vault is not None:
        _restore_principal(vault, stash["sp_id"], stash["removed"])
    elif kind == "key_disabled" and vault is not None and fault["key"] in vault["keys"]:
        vault["keys"][fault["key"]]["enabled"] = stash["enabled"]
    elif kind == "key_expired" and vault is not None and fault["key"] in vault["keys"]:
        key = vault["keys"][fault["key"]]
        key.pop("exp", None)
        if stash["exp"] is not None:
            key["exp"] = stash["exp"]
    elif kind == "key_deleted" and vault is not None:
        vault["keys"].setdefault(fault["key"], stash["key"])
    elif kind == "vault_gone" and tenant is not None:
        tenant["vaults"].setdefault(fault["vault"], stash["vault"])
    elif kind == "identity_deleted":
        isv = world.tenant(fault["isv_tenant_id"])
        for item in stash["identities"]:
            world.resources.setdefault(item["resource"]["id"].lower(), item["resource"])
            if isv is not None and item["sp"] is not None:
                isv["service_principals"].setdefault(item["sp"]["id"], item["sp"])
    elif kind == "fic_deleted":
        app = world.app_by_app_id(fault["isv_tenant_id"], fault["client_id"])
        if app is not None:
            app.setdefault("federatedIdentityCredentials", []).extend(stash["fics"])
    elif kind == "des_changed" and des is not None:
        des["properties"], des["identity"] = stash["properties"], stash["identity"]
        if stash["systemData"] is None:
            des.pop("systemData", None)
        else:
            des["systemData"] = stash["systemData"]
    world.dirty = True


# --- routes ------------------------------------------------------------------------------------


def _faults(world: World) -> dict[str, dict[str, Any]]:
    return {
        fid: f
        for sub in world.subscriptions.values()
        for fid, f in sub.get("health_faults", {}).items()
    }


async def inject_route(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    body = await json_body(request)
    kind, des_id = str(body.get("kind", "")), str(body.get("des_id", ""))
    if kind not in KINDS:
        raise ApiError(400, "InvalidParameter", f"kind must be one of {', '.join(KINDS)}.")
    des = ctx.world.resources.get(des_id.lower())
    if des is None or des["type"] != "Microsoft.Compute/diskEncryptionSets":
        raise ApiError(404, "ResourceNotFound", f"No disk encryption set '{des_id}'.")
    links = Links(ctx.world, des)
    stash = inject(links, kind, dict(body.get("options") or {}))
    fault = {
        "id": new_guid(),
        "kind": kind,
        "des_id": des["id"],
        "isv_tenant_id": links.isv_tenant_id,
        "client_id": links.client_id,
        "customer_id": links.customer_id,
        "vault": links.vault_name,
        "key": links.key_name,
        "stash": stash,
    }
    assert links.subscription is not None
    links.subscription.setdefault("health_faults", {})[fault["id"]] = fault
    ctx.world.dirty = True
    return json_response({k: v for k, v in fault.items() if k != "stash"}, status=201)


async def clear_route(request: web.Request) -> web.Response:
    world = ctx_of(request).world
    for sub in world.subscriptions.values():
        fault = sub.get("health_faults", {}).pop(request.match_info["id"], None)
        if fault is not None:
            clear(world, fault)
            return web.Response(status=204)
    raise ApiError(404, "NotFound", f"No health fault '{request.match_info['id']}'.")


async def list_route(request: web.Request) -> web.Response:
    faults = _faults(ctx_of(request).world).values()
    return json_response({"value": [{k: v for k, v in f.items() if k != "stash"} for f in faults]})


def register_admin(app: web.Application) -> None:
    app.router.add_get("/_emulator/healthFaults", list_route)
    app.router.add_post("/_emulator/healthFaults", inject_route)
    app.router.add_delete("/_emulator/healthFaults/{id}", clear_route)
