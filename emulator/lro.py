"""DiskRP long-running operations.

Start them, settle them lazily by the clock, and serve the operation-status resource.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from emulator import arm_features
from emulator.context import Router, base_url, ctx_of
from emulator.errors import ApiError, json_response
from emulator.state import World, new_guid, utc_iso

OPERATION = "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/DiskOperations/{op}"
# azure-core treats Retry-After 0 as "use your own 30 s default", and the SDK parses Retry-After
# as an int, so sub-second delays go out as retry-after-ms (which azure-core also honours).
MIN_RETRY_AFTER_MS = 50


def start_operation(
    request: web.Request,
    *,
    subscription_id: str,
    location: str,
    resource_id: str,
    error: dict[str, str] | None,
    remove_on_failure: bool = False,
) -> dict[str, str]:
    """Record an InProgress operation and return the 202 headers that point at it."""
    ctx = ctx_of(request)
    op_id = new_guid()
    now = ctx.now()
    ctx.world.operations[op_id] = {
        "id": op_id,
        "subscription_id": subscription_id.lower(),
        "location": location,
        "resource_id": resource_id.lower(),
        "start": now,
        "done_at": now + ctx.world.lro_delay,
        "status": "InProgress",
        "error": error,
        "remove_on_failure": remove_on_failure,
    }
    ctx.world.dirty = True
    version = request.query.get("api-version", "2026-03-02")
    url = (
        f"{base_url(request)}/subscriptions/{subscription_id}/providers/Microsoft.Compute/locations/"
        f"{location}/DiskOperations/{op_id}?p={op_id}&api-version={version}"
    )
    return {
        "Azure-AsyncOperation": url,
        "Location": url + "&monitor=true",
        **retry_after_headers(ctx.world.lro_delay),
    }


def retry_after_headers(seconds: float) -> dict[str, str]:
    """Tell the poller when to come back: whole seconds, or milliseconds below one second."""
    if seconds >= 1:
        return {"Retry-After": str(math.ceil(seconds))}
    return {"retry-after-ms": str(max(math.ceil(seconds * 1000), MIN_RETRY_AFTER_MS))}


def settle(world: World, now: float) -> None:
    """Finish every operation whose time has come, and advance feature registrations."""
    arm_features.settle_features(world, now)
    for op in world.operations.values():
        if op["status"] != "InProgress" or op["done_at"] > now:
            continue
        op["status"] = "Failed" if op["error"] else "Succeeded"
        op["end"] = now
        world.dirty = True
        resource = world.resources.get(op["resource_id"])
        if resource is None:
            continue
        if op["error"] and op["remove_on_failure"]:
            world.resources.pop(op["resource_id"], None)
        else:
            resource["properties"]["provisioningState"] = op["status"]


async def get_operation(request: web.Request, p: dict[str, str]) -> web.StreamResponse:
    ctx = ctx_of(request)
    op = ctx.world.operations.get(p["op"].lower())
    if op is None or op["subscription_id"] != p["sub"].lower():
        raise ApiError(404, "NotFound", f"The operation '{p['op']}' could not be found.")
    body: dict[str, Any] = {
        "name": op["id"],
        "status": op["status"],
        "startTime": utc_iso(op["start"]),
    }
    headers = {}
    if op["status"] == "InProgress":
        headers.update(retry_after_headers(op["done_at"] - ctx.now()))
    else:
        body["endTime"] = utc_iso(op["end"])
        if op["error"]:
            body["error"] = op["error"]
        elif (resource := ctx.world.resources.get(op["resource_id"])) is not None:
            body["properties"] = {"output": resource}
    if "monitor" in request.query and op["status"] != "InProgress":
        # The Location URL answers like the final resource, as DiskRP's monitor endpoint does.
        if op["error"]:
            raise ApiError(400, op["error"]["code"], op["error"]["message"])
        resource = ctx.world.resources.get(op["resource_id"])
        return json_response(resource or {}, status=200)
    if "monitor" in request.query:
        return web.Response(status=202, headers=headers)
    return json_response(body, headers=headers)


def register(router: Router) -> None:
    router.add("GET", OPERATION, get_operation)
