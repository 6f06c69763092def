"""ARM Microsoft.Compute disk encryption sets.

PUT and PATCH are LROs checked by the trust chain; GET, DELETE and list are synchronous.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from aiohttp import web

from emulator import arm_disks, lro
from emulator.arm_identity import require_location, require_tags, resource_group
from emulator.context import Router, ctx_of
from emulator.errors import ApiError, json_body, json_response
from emulator.trust_chain import check_customer_key, check_federated_client, check_federation

DES_TYPE = "Microsoft.Compute/diskEncryptionSets"
DES_LIST = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Compute/diskEncryptionSets"
DES = DES_LIST + "/{name}"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
ENCRYPTION_TYPES = (
    "EncryptionAtRestWithCustomerKey",
    "EncryptionAtRestWithPlatformAndCustomerKeys",
    "ConfidentialVmEncryptedWithCustomerKey",
)
_KEY_URL = re.compile(
    r"^https://[A-Za-z0-9-]{3,24}\.(vault\.azure\.net|managedhsm\.azure\.net)/keys/[A-Za-z0-9-]{1,127}"
    r"(/[0-9a-fA-F]{32})?/?$"
)


def invalid(prop: str, message: str) -> ApiError:
    return ApiError(400, "InvalidParameter", f"{message} Target: '{prop}'.")


def des_id(sub: str, group: dict[str, Any], name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group['name']}/providers/{DES_TYPE}/{name}"


def _validated_identity(request: web.Request, identity: Any) -> dict[str, Any]:
    if not isinstance(identity, dict) or identity.get("type") not in (
        "UserAssigned",
        "SystemAssigned, UserAssigned",
    ):
        raise invalid(
            "identity.type",
            "A cross-tenant disk encryption set needs identity.type 'UserAssigned'.",
        )
    uamis = identity.get("userAssignedIdentities")
    if not isinstance(uamis, dict) or not uamis:
        raise invalid(
            "identity.userAssignedIdentities", "At least one user-assigned identity is required."
        )
    world = ctx_of(request).world
    result = {}
    for identity_id in uamis:
        resource = world.resources.get(str(identity_id).lower())
        if (
            resource is None
            or resource["type"] != "Microsoft.ManagedIdentity/userAssignedIdentities"
        ):
            raise invalid(
                "identity.userAssignedIdentities",
                f"The user-assigned identity '{identity_id}' was not found.",
            )
        props = resource["properties"]
        result[resource["id"]] = {
            "principalId": props["principalId"],
            "clientId": props["clientId"],
        }
    return {"type": identity["type"], "userAssignedIdentities": result}


def _validated_properties(props: Any) -> dict[str, Any]:
    if not isinstance(props, dict):
        raise invalid("properties", "The properties object is required.")
    key = props.get("activeKey")
    if not isinstance(key, dict) or not isinstance(key.get("keyUrl"), str):
        raise invalid("properties.activeKey.keyUrl", "The key URL is required.")
    if not _KEY_URL.match(key["keyUrl"]):
        raise invalid(
            "properties.activeKey.keyUrl",
            f"'{key['keyUrl']}' is not a valid key URL (https://<vault>.vault.azure.net/keys/<name>[/<version>]).",
        )
    if "sourceVault" in key and key["sourceVault"]:
        raise invalid(
            "properties.activeKey.sourceVault",
            "sourceVault cannot be set when the key is in another tenant; use federatedClientId.",
        )
    encryption_type = props.get("encryptionType", "EncryptionAtRestWithCustomerKey")
    if encryption_type not in ENCRYPTION_TYPES:
        raise invalid(
            "properties.encryptionType",
            f"'{encryption_type}' is not valid; use one of {', '.join(ENCRYPTION_TYPES)}.",
        )
    rotation = props.get("rotationToLatestKeyVersionEnabled", False)
    if not isinstance(rotation, bool):
        raise invalid("properties.rotationToLatestKeyVersionEnabled", "Expected true or false.")
    client_id = props.get("federatedClientId")
    if client_id is not None and not isinstance(client_id, str):
        raise invalid("properties.federatedClientId", "Expected a GUID or 'None'.")
    return {
        "activeKey": {"keyUrl": key["keyUrl"]},
        "encryptionType": encryption_type,
        "rotationToLatestKeyVersionEnabled": rotation,
        "federatedClientId": client_id,
    }


def _trust_error(request: web.Request, resource: dict[str, Any], sub: str) -> dict[str, str] | None:
    """Check links 1-8; link 1 answers synchronously, the others fail the operation."""
    world = ctx_of(request).world
    subscription = world.subscription(sub)
    assert subscription is not None
    isv_tenant = subscription["tenant_id"]
    props = resource["properties"]
    client_id = props.get("federatedClientId")
    if not client_id or client_id == "None":
        return {
            "code": "KeyVaultAccessForbidden",
            "message": "Unable to access key vault resource to enable encryption at rest: a key in "
            "another tenant needs properties.federatedClientId.",
        }
    if (broken := check_federated_client(world, isv_tenant, client_id)) is not None:
        raise ApiError(400, broken.code, broken.message)
    principals = [v["principalId"] for v in resource["identity"]["userAssignedIdentities"].values()]
    broken = check_federation(world, isv_tenant, client_id, principals) or check_customer_key(
        world, client_id, props["activeKey"]["keyUrl"], resource["location"]
    )
    return broken.as_error() if broken else None


async def _store_and_start(
    request: web.Request, p: dict[str, str], resource: dict[str, Any]
) -> web.Response:
    ctx = ctx_of(request)
    error = _trust_error(request, resource, p["sub"])
    resource["properties"]["provisioningState"] = "Updating"
    ctx.world.resources[resource["id"].lower()] = resource
    headers = lro.start_operation(
        request,
        subscription_id=p["sub"],
        location=resource["location"],
        resource_id=resource["id"],
        error=error,
    )
    return json_response(resource, status=202, headers=headers)


def _lookup(
    request: web.Request, p: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    group = resource_group(request, p["sub"], p["rg"])
    if not _NAME.match(p["name"]):
        raise ApiError(
            400,
            "InvalidResourceName",
            f"The disk encryption set name '{p['name']}' is invalid: use 1-80 letters, digits, "
            "'_' or '-'.",
        )
    return group, ctx_of(request).world.resources.get(des_id(p["sub"], group, p["name"]).lower())


async def put_des(request: web.Request, p: dict[str, str]) -> web.Response:
    group, existing = _lookup(request, p)
    body = await json_body(request)
    location, tags = require_location(body), require_tags(body)
    if existing is not None and existing["location"] != location:
        raise invalid(
            "location", f"The disk encryption set already exists in '{existing['location']}'."
        )
    props = _validated_properties(body.get("properties"))
    resource: dict[str, Any] = {
        "id": des_id(p["sub"], group, p["name"]),
        "name": p["name"],
        "type": DES_TYPE,
        "location": location,
        "tags": tags,
        "identity": _validated_identity(request, body.get("identity")),
        "properties": {**props, "previousKeys": []},
    }
    if existing is not None:
        resource["properties"]["previousKeys"] = _previous_keys(existing, props)
    return await _store_and_start(request, p, resource)


def _previous_keys(existing: dict[str, Any], props: dict[str, Any]) -> list[dict[str, str]]:
    old_key = existing["properties"]["activeKey"]
    if old_key["keyUrl"] == props["activeKey"]["keyUrl"]:
        return existing["properties"].get("previousKeys", [])
    return [old_key, *existing["properties"].get("previousKeys", [])]


async def patch_des(request: web.Request, p: dict[str, str]) -> web.Response:
    _, existing = _lookup(request, p)
    if existing is None:
        raise ApiError(
            404,
            "ResourceNotFound",
            f"The Resource '{DES_TYPE}/{p['name']}' under resource group '{p['rg']}' was not "
            "found.",
        )
    body = await json_body(request)
    merged = copy.deepcopy(existing)
    if "tags" in body:
        merged["tags"] = require_tags(body)
    if body.get("identity") is not None:
        merged["identity"] = _validated_identity(request, body["identity"])
    patch = body.get("properties") or {}
    if not isinstance(patch, dict):
        raise invalid("properties", "The properties object is invalid.")
    props = {
        k: merged["properties"].get(k)
        for k in (
            "activeKey",
            "encryptionType",
            "rotationToLatestKeyVersionEnabled",
            "federatedClientId",
        )
    }
    props.update({k: v for k, v in patch.items() if k in props})
    validated = _validated_properties(props)
    validated["previousKeys"] = _previous_keys(existing, validated)
    merged["properties"] = validated
    return await _store_and_start(request, p, merged)


async def get_des(request: web.Request, p: dict[str, str]) -> web.Response:
    _, existing = _lookup(request, p)
    if existing is None:
        raise ApiError(
            404,
            "ResourceNotFound",
            f"The Resource '{DES_TYPE}/{p['name']}' under resource group '{p['rg']}' was not "
            "found.",
        )
    return json_response(existing)


async def delete_des(request: web.Request, p: dict[str, str]) -> web.Response:
    ctx = ctx_of(request)
    _, existing = _lookup(request, p)
    if existing is None:
        return web.Response(status=204)
    users = arm_disks.disks_using(ctx.world, existing["id"])
    if users:
        raise ApiError(
            409,
            "Conflict",
            f"Disk encryption set '{existing['id']}' is in use by {len(users)} resource(s): "
            f"{', '.join(users)}. Remove them first.",
        )
    ctx.world.resources.pop(existing["id"].lower())
    ctx.world.dirty = True
    return web.Response(status=200)


async def associated(request: web.Request, p: dict[str, str]) -> web.Response:
    _, existing = _lookup(request, p)
    if existing is None:
        raise ApiError(
            404, "ResourceNotFound", f"The Resource '{DES_TYPE}/{p['name']}' was not found."
        )
    return json_response({"value": arm_disks.disks_using(ctx_of(request).world, existing["id"])})


async def list_in_group(request: web.Request, p: dict[str, str]) -> web.Response:
    group = resource_group(request, p["sub"], p["rg"])
    prefix = f"/subscriptions/{p['sub']}/resourceGroups/{group['name']}"
    return json_response({"value": ctx_of(request).world.resources_under(prefix, DES_TYPE)})


async def list_in_subscription(request: web.Request, p: dict[str, str]) -> web.Response:
    prefix = f"/subscriptions/{p['sub']}"
    return json_response({"value": ctx_of(request).world.resources_under(prefix, DES_TYPE)})


def register(router: Router) -> None:
    lro.register(router)
    router.add(
        "GET",
        "/subscriptions/{sub}/providers/Microsoft.Compute/diskEncryptionSets",
        list_in_subscription,
    )
    router.add("GET", DES_LIST, list_in_group)
    router.add("GET", DES, get_des)
    router.add("PUT", DES, put_des)
    router.add("PATCH", DES, patch_des)
    router.add("DELETE", DES, delete_des)
    router.add("GET", DES + "/associatedResources", associated)
    arm_disks.register(router)
