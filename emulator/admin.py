"""Admin API under /_emulator.

Set up tenants, play the customer, tune delays, faults and quota, and read the logs.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from emulator import rbac
from emulator.context import ctx_of
from emulator.errors import ApiError, json_body, json_response
from emulator.faults import FaultRule
from emulator.graph import new_application, new_service_principal
from emulator.key_roles import HOST_SUFFIX, VAULT_KINDS, crypto_role_for
from emulator.state import new_guid

PREFIX = "/_emulator"


def _tenant(request: web.Request) -> dict[str, Any]:
    tenant = ctx_of(request).world.tenant(request.match_info["tenant"])
    if tenant is None:
        raise ApiError(
            404, "TenantNotFound", f"Tenant '{request.match_info['tenant']}' does not exist."
        )
    return tenant


def _vault(request: web.Request) -> dict[str, Any]:
    vault = _tenant(request)["vaults"].get(request.match_info["vault"].lower())
    if vault is None:
        raise ApiError(
            404,
            "VaultNotFound",
            f"Vault '{request.match_info['vault']}' does not exist in this tenant.",
        )
    return vault


def _key(request: web.Request) -> dict[str, Any]:
    key = _vault(request)["keys"].get(request.match_info["key"].lower())
    if key is None:
        raise ApiError(
            404, "KeyNotFound", f"Key '{request.match_info['key']}' does not exist in this vault."
        )
    return key


def _guid_or_new(value: Any) -> str:
    return str(value).lower() if value else new_guid()


async def create_isv_tenant(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    body = await json_body(request, required=False)
    tenant_id, subscription_id = (
        _guid_or_new(body.get("tenant_id")),
        _guid_or_new(body.get("subscription_id")),
    )
    tenant = ctx.world.add_tenant(tenant_id, body.get("display_name", "Fabrikam ISV"), "isv")
    app = new_application(
        tenant, {"displayName": "cmk-automation", "signInAudience": "AzureADMyOrg"}
    )
    secret = secrets.token_urlsafe(24)
    app["passwordCredentials"].append(
        {"keyId": new_guid(), "displayName": "automation", "secret": secret}
    )
    worker = new_service_principal(ctx.world, tenant, app["appId"])
    location = str(body.get("location", "eastus"))
    ctx.world.subscriptions[subscription_id] = {
        "id": subscription_id,
        "tenant_id": tenant_id,
        "authorized_apps": [app["appId"]],
        "resource_groups": {
            rg.lower(): {"name": rg, "location": location, "tags": {}}
            for rg in body.get("resource_groups", ["cmk-rg"])
        },
        "features": {},
        "providers": {},
    }
    rbac.seed_isv(ctx.world.subscriptions[subscription_id], worker["id"])
    ctx.world.dirty = True
    return json_response(
        {
            "tenant_id": tenant_id,
            "subscription_id": subscription_id,
            "client_id": app["appId"],
            "client_secret": secret,
        },
        status=201,
    )


async def create_customer_tenant(request: web.Request) -> web.Response:
    body = await json_body(request, required=False)
    tenant_id = _guid_or_new(body.get("tenant_id"))
    ctx_of(request).world.add_tenant(tenant_id, body.get("display_name", "Contoso"), "customer")
    return json_response({"tenant_id": tenant_id}, status=201)


async def grant_consent(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    tenant = _tenant(request)
    app_id = str((await json_body(request)).get("app_id", "")).lower()
    existing = ctx.world.sp_by_app_id(tenant["id"], app_id)
    sp = existing or new_service_principal(ctx.world, tenant, app_id)
    ctx.world.dirty = True
    return json_response({"service_principal_id": sp["id"]}, status=200 if existing else 201)


async def revoke_consent(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    tenant = _tenant(request)
    sp = ctx.world.sp_by_app_id(tenant["id"], request.match_info["app_id"])
    if sp is not None:
        tenant["service_principals"].pop(sp["id"])
        for vault in tenant["vaults"].values():
            vault["role_assignments"] = [
                r for r in vault["role_assignments"] if r["principal_id"] != sp["id"]
            ]
            vault["access_policies"].pop(sp["id"], None)
        ctx.world.dirty = True
    return web.Response(status=204)


async def create_vault(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    tenant = _tenant(request)
    body = await json_body(request)
    name = str(body.get("name", "")).lower()
    owner = ctx.world.vault_anywhere(name)
    if owner is not None and owner[0] != tenant["id"]:
        raise ApiError(409, "VaultAlreadyExists", f"The vault name '{name}' is already in use.")
    if body.get("authorization", "rbac") not in ("rbac", "access_policy"):
        raise ApiError(400, "InvalidParameter", "authorization must be 'rbac' or 'access_policy'.")
    kind = str(body.get("kind", "vault"))
    if kind not in VAULT_KINDS:
        raise ApiError(400, "InvalidParameter", "kind must be 'vault' or 'managed_hsm'.")
    vault = tenant["vaults"].get(name) or {
        "keys": {},
        "role_assignments": [],
        "access_policies": {},
    }
    vault.update(
        {
            "name": name,
            "kind": kind,
            "uri": f"https://{name}.{HOST_SUFFIX[kind]}/",
            "region": str(body["region"]).replace(" ", "").lower(),
            "soft_delete": bool(body.get("soft_delete", True)),
            "purge_protection": bool(body.get("purge_protection", True)),
            "authorization": body.get("authorization", "rbac"),
        }
    )
    tenant["vaults"][name] = vault
    ctx.world.dirty = True
    return json_response({"name": name, "uri": vault["uri"]}, status=201)


async def create_key(request: web.Request) -> web.Response:
    vault = _vault(request)
    body = await json_body(request)
    name = str(body.get("name", ""))
    key = vault["keys"].setdefault(name.lower(), {"name": name, "versions": []})
    key.update(
        {
            "kty": body.get("kty", "RSA"),
            "size": int(body.get("size", 2048)),
            "enabled": bool(body.get("enabled", True)),
        }
    )
    version = secrets.token_hex(16)
    key["versions"].append(version)
    ctx_of(request).world.dirty = True
    return json_response({"key_url": f"{vault['uri']}keys/{name}/{version}"}, status=201)


async def update_key(request: web.Request) -> web.Response:
    key = _key(request)
    body = await json_body(request)
    if "enabled" in body:
        key["enabled"] = bool(body["enabled"])
    ctx_of(request).world.dirty = True
    return json_response({"name": key["name"], "enabled": key["enabled"]})


def _principal(request: web.Request, app_id: str) -> str:
    sp = ctx_of(request).world.sp_by_app_id(request.match_info["tenant"], app_id)
    if sp is None:
        raise ApiError(
            400,
            "PrincipalNotFound",
            f"Application '{app_id}' has no service principal in this tenant; grant consent first.",
        )
    return sp["id"]


async def change_role(request: web.Request) -> web.Response:
    vault = _vault(request)
    body = await json_body(request)
    principal_id = _principal(request, str(body.get("app_id", "")))
    key = str(body["key"]).lower() if body.get("key") else None
    assignment = {
        "principal_id": principal_id,
        # The role the customer assigned; by default the one this vault kind needs.
        "role_definition_id": str(body.get("role_definition_id") or crypto_role_for(vault)),
        "key": key,
    }
    vault["role_assignments"] = [r for r in vault["role_assignments"] if r != assignment]
    if request.match_info["action"] == "assign":
        vault["role_assignments"].append(assignment)
    ctx_of(request).world.dirty = True
    return web.Response(status=204)


async def set_access_policy(request: web.Request) -> web.Response:
    vault = _vault(request)
    body = await json_body(request)
    principal_id = _principal(request, request.match_info["app_id"])
    vault["access_policies"][principal_id] = [str(p) for p in body.get("permissions", [])]
    ctx_of(request).world.dirty = True
    return web.Response(status=204)


async def settings(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    body = await json_body(request)
    for name in ("feature_delay", "lro_delay"):
        if name in body:
            value = float(body[name])
            if value < 0:
                raise ApiError(400, "InvalidParameter", f"{name} must not be negative.")
            setattr(ctx.world, name, value)
    ctx.world.dirty = True
    return json_response(
        {"feature_delay": ctx.world.feature_delay, "lro_delay": ctx.world.lro_delay}
    )


async def set_faults(request: web.Request) -> web.Response:
    body = await json_body(request)
    try:
        rules = [
            FaultRule(**{k: v for k, v in r.items() if k != "fired"}) for r in body.get("rules", [])
        ]
    except (TypeError, ValueError) as error:
        raise ApiError(400, "InvalidParameter", f"Invalid fault rule: {error}") from None
    ctx_of(request).faults.configure(rules, int(body.get("seed", 0)))
    return json_response({"rules": [r.describe() for r in rules]})


async def get_faults(request: web.Request) -> web.Response:
    return json_response({"rules": [r.describe() for r in ctx_of(request).faults.rules]})


async def clear_faults(request: web.Request) -> web.Response:
    ctx_of(request).faults.configure([], 0)
    return web.Response(status=204)


async def set_quota(request: web.Request) -> web.Response:
    body = await json_body(request)
    limit = body.get("writes_per_minute")
    ctx_of(request).quota.set_limit(
        request.match_info["sub"], None if limit is None else int(limit)
    )
    return web.Response(status=204)


async def requests(request: web.Request) -> web.Response:
    return json_response({"value": ctx_of(request).requests})


async def reset_requests(request: web.Request) -> web.Response:
    ctx_of(request).reset_requests()
    return web.Response(status=204)


async def counters(request: web.Request) -> web.Response:
    return json_response(ctx_of(request).counters)


async def snapshot(request: web.Request) -> web.Response:
    world = ctx_of(request).world
    tenants = {
        tid: {
            **t,
            "applications": {
                aid: {k: v for k, v in a.items() if k != "passwordCredentials"}
                for aid, a in t["applications"].items()
            },
        }
        for tid, t in world.tenants.items()
    }
    return json_response(
        {
            "tenants": tenants,
            "subscriptions": world.subscriptions,
            "resources": world.resources,
            "operations": world.operations,
        }
    )


async def post_webhook(request: web.Request) -> web.Response:
    body = await json_body(request)
    ctx_of(request).webhooks.setdefault(request.match_info["channel"], []).append(body)
    return web.Response(status=204)


async def get_webhooks(request: web.Request) -> web.Response:
    return json_response({"value": ctx_of(request).webhooks.get(request.match_info["channel"], [])})


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


def register(app: web.Application) -> None:
    r = app.router
    t = PREFIX + "/tenants/{tenant}"
    v = t + "/vaults/{vault}"
    r.add_get(PREFIX + "/health", health)
    r.add_post(PREFIX + "/tenants/isv", create_isv_tenant)
    r.add_post(PREFIX + "/tenants/customer", create_customer_tenant)
    r.add_post(t + "/consent", grant_consent)
    r.add_delete(t + "/consent/{app_id}", revoke_consent)
    r.add_post(t + "/vaults", create_vault)
    r.add_post(v + "/keys", create_key)
    r.add_patch(v + "/keys/{key}", update_key)
    r.add_post(v + "/roleAssignments/{action:assign|remove}", change_role)
    r.add_put(v + "/accessPolicies/{app_id}", set_access_policy)
    r.add_put(PREFIX + "/settings", settings)
    r.add_get(PREFIX + "/faults", get_faults)
    r.add_put(PREFIX + "/faults", set_faults)
    r.add_delete(PREFIX + "/faults", clear_faults)
    r.add_put(PREFIX + "/quota/{sub}", set_quota)
    r.add_get(PREFIX + "/requests", requests)
    r.add_delete(PREFIX + "/requests", reset_requests)
    r.add_get(PREFIX + "/counters", counters)
    r.add_get(PREFIX + "/snapshot", snapshot)
    r.add_post(PREFIX + "/webhooks/{channel}", post_webhook)
    r.add_get(PREFIX + "/webhooks/{channel}", get_webhooks)
