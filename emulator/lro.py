"""DiskRP long-running operations.

Start them, settle them lazily by the clock, and serve the operation-status resource.
"""

from __future__ import annotations

import math
import os
from typing import Any

from aiohttp import web

from emulator import arm_features, lro_faults
from emulator.context import Router, base_url, ctx_of
from emulator.errors import ApiError, json_response
from emulator.state import World, new_guid, utc_iso

OPERATION = "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/DiskOperations/{op}"
# azure-core treats Retry-After 0 as "use your own 30 s default", and the SDK parses Retry-After
# as an int, so the real wait goes out as retry-after-ms (which azure-core honours first).
MIN_RETRY_AFTER_MS = 50
# ARM's Retry-After is whole seconds (RFC 9110 delay-seconds). EMULATOR_TIME_SCALE is the number
# of real seconds one advertised second stands for: at 0.01 a 0.3 s wait is advertised as
# "Retry-After: 30", the size Azure sends, while retry-after-ms keeps the real pace.
TIME_SCALE_ENV = "EMULATOR_TIME_SCALE"


def time_scale() -> float:
    """EMULATOR_TIME_SCALE (default 1.0); a bad value is refused loudly, not ignored."""
    raw = os.environ.get(TIME_SCALE_ENV, "1")
    try:
        scale = float(raw)
    except ValueError:
        raise ValueError(f"{TIME_SCALE_ENV} must be a positive number, not {raw!r}") from None
    if scale <= 0:
        raise ValueError(f"{TIME_SCALE_ENV} must be a positive number, not {raw!r}")
    return scale


def start_operation(
    request: web.Request,
    *,
    subscription_id: str,
    location: str,
    resource_id: str,
    error: dict[str, Any] | None,
    remove_on_failure: bool = False,
    delete: bool = False,
) -> dict[str, str]:
    """Record an InProgress operation and return the 202 headers that point at it.

    `delete`: the resource is removed when the operation succeeds.
    """
    ctx = ctx_of(request)
    op_id = new_guid()
    error = lro_faults.take(request, resource_id) or error
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
        "delete": delete,
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
    """Retry-After in whole (scaled) seconds as ARM sends it; retry-after-ms for the real wait."""
    advertised = max(math.ceil(seconds / time_scale()), 1)
    real_ms = max(math.ceil(seconds * 1000), MIN_RETRY_AFTER_MS)
    headers = {"Retry-After": str(advertised)}
    if real_ms != advertised * 1000:
        headers["retry-after-ms"] = str(real_ms)
    return headers


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
        if (op["error"] and op["remove_on_failure"]) or (op.get("delete") and not op["error"]):
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
            raise ApiError(
                400,
                op["error"]["code"],
                op["error"]["message"],
                additional_info=op["error"].get("additionalInfo"),
            )
        resource = ctx.world.resources.get(op["resource_id"])
        return json_response(resource or {}, status=200)
    if "monitor" in request.query:
        return web.Response(status=202, headers=headers)
    return json_response(body, headers=headers)


def register(router: Router) -> None:
    router.add("GET", OPERATION, get_operation)
