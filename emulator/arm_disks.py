"""ARM Microsoft.Compute managed disks.

Create is an LRO that re-checks the customer key; get, delete and list.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from emulator import des_health, disk_policy, lro
from emulator.arm_identity import require_location, require_tags, resource_group
from emulator.context import Router, ctx_of
from emulator.errors import ApiError, json_body, json_response
from emulator.state import World, new_guid, utc_iso

DISK_TYPE = "Microsoft.Compute/disks"
DISK_LIST = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Compute/disks"
DISK = DISK_LIST + "/{name}"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$|^[A-Za-z0-9_]$")
SKUS = (
    "Standard_LRS",
    "Premium_LRS",
    "StandardSSD_LRS",
    "UltraSSD_LRS",
    "Premium_ZRS",
    "StandardSSD_ZRS",
    "PremiumV2_LRS",
)
ENCRYPTION_TYPES = (
    "EncryptionAtRestWithPlatformKey",
    "EncryptionAtRestWithCustomerKey",
    "EncryptionAtRestWithPlatformAndCustomerKeys",
)
CREATE_OPTIONS = ("Empty",)


def disks_using(world: World, des_id: str) -> list[str]:
    """Ids of disks whose encryption uses the given disk encryption set."""
    return [
        r["id"]
        for r in world.resources.values()
        if r["type"] == DISK_TYPE
        and str(r["properties"].get("encryption", {}).get("diskEncryptionSetId", "")).lower()
        == des_id.lower()
    ]


def _invalid(prop: str, message: str) -> ApiError:
    return ApiError(400, "InvalidParameter", f"{message} Target: '{prop}'.")


def _disk_id(sub: str, group: dict[str, Any], name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group['name']}/providers/{DISK_TYPE}/{name}"


def _validated_encryption(
    world: World, location: str, raw: Any
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    encryption = raw or {"type": "EncryptionAtRestWithPlatformKey"}
    if not isinstance(encryption, dict):
        raise _invalid("properties.encryption", "The encryption object is invalid.")
    kind = encryption.get(
        "type",
        "EncryptionAtRestWithCustomerKey"
        if encryption.get("diskEncryptionSetId")
        else "EncryptionAtRestWithPlatformKey",
    )
    if kind not in ENCRYPTION_TYPES:
        raise _invalid(
            "properties.encryption.type",
            f"'{kind}' is not valid; use one of {', '.join(ENCRYPTION_TYPES)}.",
        )
    des_id = encryption.get("diskEncryptionSetId")
    if kind == "EncryptionAtRestWithPlatformKey":
        return {"type": kind}, None
    if not isinstance(des_id, str) or not des_id:
        raise _invalid(
            "properties.encryption.diskEncryptionSetId",
            f"Encryption type '{kind}' needs a disk encryption set.",
        )
    des = world.resources.get(des_id.lower())
    if des is None or des["type"] != "Microsoft.Compute/diskEncryptionSets":
        raise ApiError(
            404,
            "NotFound",
            f"Disk encryption set '{des_id}' was not found. Target: "
            "'properties.encryption.diskEncryptionSetId'.",
        )
    if des["properties"].get("provisioningState") != "Succeeded":
        raise ApiError(
            409,
            "Conflict",
            f"Disk encryption set '{des_id}' is in provisioning state "
            f"'{des['properties'].get('provisioningState')}', not 'Succeeded'.",
        )
    if des["location"] != location:
        raise _invalid(
            "properties.encryption.diskEncryptionSetId",
            f"Disk encryption set '{des_id}' is in '{des['location']}', not '{location}'.",
        )
    if des["properties"]["encryptionType"] != kind:
        raise _invalid(
            "properties.encryption.type",
            f"Encryption type '{kind}' does not match the disk encryption set's "
            f"'{des['properties']['encryptionType']}'.",
        )
    return {"type": kind, "diskEncryptionSetId": des["id"]}, des


async def put_disk(request: web.Request, p: dict[str, str]) -> web.Response:
    ctx = ctx_of(request)
    group = resource_group(request, p["sub"], p["rg"])
    if not _NAME.match(p["name"]):
        raise ApiError(
            400,
            "InvalidResourceName",
            f"The disk name '{p['name']}' is invalid: use 1-80 letters, digits, '_', '.' or '-'.",
        )
    body = await json_body(request)
    location, tags = require_location(body), require_tags(body)
    sku = (
        (body.get("sku") or {}).get("name", "Standard_LRS")
        if isinstance(body.get("sku"), dict | None)
        else None
    )
    if sku not in SKUS:
        raise _invalid("sku.name", f"'{sku}' is not a disk SKU; use one of {', '.join(SKUS)}.")
    disk_policy.check_sku_region(sku, location)
    props = body.get("properties")
    if not isinstance(props, dict):
        raise _invalid("properties", "The properties object is required.")
    creation = props.get("creationData")
    if not isinstance(creation, dict) or creation.get("createOption") not in CREATE_OPTIONS:
        raise _invalid(
            "properties.creationData.createOption", "Only createOption 'Empty' is emulated."
        )
    size = props.get("diskSizeGB")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 32767:
        raise _invalid("properties.diskSizeGB", "diskSizeGB must be an integer from 1 to 32767.")
    encryption, des = _validated_encryption(ctx.world, location, props.get("encryption"))
    error = None
    if des is not None:
        broken = des_health.check_des(ctx.world, des)
        error = broken.as_error() if broken else None
    disk_id = _disk_id(p["sub"], group, p["name"])
    resource = {
        "id": disk_id,
        "name": p["name"],
        "type": DISK_TYPE,
        "location": location,
        "tags": tags,
        "sku": {"name": sku, "tier": "Premium" if sku.startswith("Premium") else "Standard"},
        "properties": {
            "creationData": {"createOption": "Empty"},
            "diskSizeGB": size,
            "diskSizeBytes": size * 1024**3,
            "encryption": encryption,
            "diskState": "Unattached",
            "timeCreated": utc_iso(),
            "uniqueId": new_guid(),
            "provisioningState": "Updating",
        },
    }
    ctx.world.resources[disk_id.lower()] = resource
    headers = lro.start_operation(
        request,
        subscription_id=p["sub"],
        location=location,
        resource_id=disk_id,
        error=error,
        remove_on_failure=True,
    )
    return json_response(resource, status=202, headers=headers)


def _existing(request: web.Request, p: dict[str, str]) -> tuple[str, dict[str, Any] | None]:
    group = resource_group(request, p["sub"], p["rg"])
    disk_id = _disk_id(p["sub"], group, p["name"])
    return disk_id, ctx_of(request).world.resources.get(disk_id.lower())


async def get_disk(request: web.Request, p: dict[str, str]) -> web.Response:
    _, disk = _existing(request, p)
    if disk is None:
        raise ApiError(
            404,
            "ResourceNotFound",
            f"The Resource '{DISK_TYPE}/{p['name']}' under resource group '{p['rg']}' was not "
            "found.",
        )
    return json_response(disk)


async def delete_disk(request: web.Request, p: dict[str, str]) -> web.Response:
    ctx = ctx_of(request)
    disk_id, disk = _existing(request, p)
    if disk is None:
        return web.Response(status=204)
    ctx.world.resources.pop(disk_id.lower())
    ctx.world.dirty = True
    return web.Response(status=200)


async def list_disks(request: web.Request, p: dict[str, str]) -> web.Response:
    group = resource_group(request, p["sub"], p["rg"])
    prefix = f"/subscriptions/{p['sub']}/resourceGroups/{group['name']}"
    return json_response({"value": ctx_of(request).world.resources_under(prefix, DISK_TYPE)})


def register(router: Router) -> None:
    router.add("GET", DISK_LIST, list_disks)
    router.add("GET", DISK, get_disk)
    router.add("PUT", DISK, put_disk)
    router.add("DELETE", DISK, delete_disk)
