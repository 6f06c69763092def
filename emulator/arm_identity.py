"""ARM resource groups and Microsoft.ManagedIdentity user-assigned identities."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from emulator.context import Router, ctx_of
from emulator.errors import ApiError, json_body, json_response
from emulator.state import new_guid

RG = "/subscriptions/{sub}/resourcegroups/{rg}"
UAMI_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
UAMIS = RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
_RG_NAME = re.compile(r"^[-\w.()]{0,89}[-\w()]$", re.ASCII)
_IDENTITY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")


def resource_group(request: web.Request, sub: str, rg: str) -> dict[str, Any]:
    """The resource group record, or 404 ResourceGroupNotFound like ARM."""
    subscription = ctx_of(request).world.subscription(sub)
    assert subscription is not None  # auth already answered 404 SubscriptionNotFound
    group = subscription["resource_groups"].get(rg.lower())
    if group is None:
        raise ApiError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    return group


def _rg_body(sub: str, group: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/{group['name']}",
        "name": group["name"],
        "type": "Microsoft.Resources/resourceGroups",
        "location": group["location"],
        "tags": group.get("tags", {}),
        "properties": {"provisioningState": "Succeeded"},
    }


def require_location(body: dict[str, Any]) -> str:
    location = body.get("location")
    if not isinstance(location, str) or not location.strip():
        raise ApiError(
            400, "LocationRequired", "The location property is required for this definition."
        )
    return location.replace(" ", "").lower()


def require_tags(body: dict[str, Any]) -> dict[str, str]:
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ApiError(
            400,
            "InvalidParameter",
            "The value of parameter 'tags' is invalid: expected an object of strings.",
        )
    return tags


async def get_rg(request: web.Request, p: dict[str, str]) -> web.Response:
    return json_response(_rg_body(p["sub"], resource_group(request, p["sub"], p["rg"])))


async def put_rg(request: web.Request, p: dict[str, str]) -> web.Response:
    ctx = ctx_of(request)
    body = await json_body(request)
    if not _RG_NAME.match(p["rg"]):
        raise ApiError(
            400,
            "InvalidResourceGroupName",
            "Resource group names only allow alphanumeric characters, periods, underscores, "
            "hyphens and parenthesis and cannot end in a period.",
        )
    subscription = ctx.world.subscription(p["sub"])
    assert subscription is not None
    existing = subscription["resource_groups"].get(p["rg"].lower())
    group = {
        "name": existing["name"] if existing else p["rg"],
        "location": require_location(body),
        "tags": require_tags(body),
    }
    subscription["resource_groups"][p["rg"].lower()] = group
    ctx.world.dirty = True
    return json_response(_rg_body(p["sub"], group), status=200 if existing else 201)


def _uami_id(p: dict[str, str], group: dict[str, Any]) -> str:
    return (
        f"/subscriptions/{p['sub']}/resourcegroups/{group['name']}"
        f"/providers/{UAMI_TYPE}/{p['name']}"
    )


async def put_uami(request: web.Request, p: dict[str, str]) -> web.Response:
    ctx = ctx_of(request)
    group = resource_group(request, p["sub"], p["rg"])
    if not _IDENTITY_NAME.match(p["name"]):
        raise ApiError(
            400,
            "InvalidResourceName",
            f"Resource name '{p['name']}' is invalid. The name can be 3-128 characters: letters, "
            "digits, '-' and '_', starting with a letter or digit.",
        )
    body = await json_body(request)
    location, tags = require_location(body), require_tags(body)
    resource_id = _uami_id(p, group)
    existing = ctx.world.resources.get(resource_id.lower())
    if existing is not None:
        if existing["location"] != location:
            raise ApiError(
                400,
                "InvalidResourceLocation",
                f"The resource '{p['name']}' already exists in location '{existing['location']}'. "
                "A resource with the same name cannot be created in another location.",
            )
        existing["tags"] = tags
        ctx.world.dirty = True
        return json_response(existing, status=200)
    subscription = ctx.world.subscription(p["sub"])
    assert subscription is not None
    tenant_id = subscription["tenant_id"]
    principal_id, client_id = new_guid(), new_guid()
    tenant = ctx.world.tenant(tenant_id)
    assert tenant is not None
    # The identity's principal is a managed-identity service principal in the ISV directory.
    tenant["service_principals"][principal_id] = {
        "id": principal_id,
        "appId": client_id,
        "displayName": p["name"],
        "servicePrincipalType": "ManagedIdentity",
        "alternativeNames": [resource_id],
    }
    resource = {
        "id": resource_id,
        "name": p["name"],
        "type": UAMI_TYPE,
        "location": location,
        "tags": tags,
        "properties": {
            "tenantId": tenant_id,
            "principalId": principal_id,
            "clientId": client_id,
            "isolationScope": "None",
        },
    }
    ctx.world.resources[resource_id.lower()] = resource
    ctx.world.dirty = True
    return json_response(resource, status=201)


def _existing_uami(request: web.Request, p: dict[str, str]) -> dict[str, Any]:
    group = resource_group(request, p["sub"], p["rg"])
    resource = ctx_of(request).world.resources.get(_uami_id(p, group).lower())
    if resource is None:
        raise ApiError(
            404,
            "ResourceNotFound",
            f"The Resource '{UAMI_TYPE}/{p['name']}' under resource group '{p['rg']}' was not "
            "found.",
        )
    return resource


async def get_uami(request: web.Request, p: dict[str, str]) -> web.Response:
    return json_response(_existing_uami(request, p))


async def delete_uami(request: web.Request, p: dict[str, str]) -> web.Response:
    ctx = ctx_of(request)
    group = resource_group(request, p["sub"], p["rg"])
    resource = ctx.world.resources.pop(_uami_id(p, group).lower(), None)
    if resource is None:
        return web.Response(status=204)
    tenant = ctx.world.tenant(resource["properties"]["tenantId"])
    if tenant is not None:
        tenant["service_principals"].pop(resource["properties"]["principalId"], None)
    ctx.world.dirty = True
    return web.Response(status=200)


async def list_uamis(request: web.Request, p: dict[str, str]) -> web.Response:
    group = resource_group(request, p["sub"], p["rg"])
    prefix = f"/subscriptions/{p['sub']}/resourcegroups/{group['name']}"
    return json_response({"value": ctx_of(request).world.resources_under(prefix, UAMI_TYPE)})


def register(router: Router) -> None:
    router.add("GET", RG, get_rg)
    router.add("PUT", RG, put_rg)
    router.add("GET", UAMIS, list_uamis)
    router.add("GET", UAMIS + "/{name}", get_uami)
    router.add("PUT", UAMIS + "/{name}", put_uami)
    router.add("DELETE", UAMIS + "/{name}", delete_uami)
