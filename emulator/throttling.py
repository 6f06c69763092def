"""Throttling over HTTP: 429s with Retry-After and x-ms-ratelimit-* headers, and its admin routes.

The limits themselves live in emulator/ratelimits.py.
"""

from __future__ import annotations

import json
import re
import time

from aiohttp import web

from emulator.context import ctx_of
from emulator.errors import ApiError, json_body, json_response
from emulator.ratelimits import DES_WRITE, operation_kind
from emulator.state import utc_iso

_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


def _compute_refusal(policy: str, allowed: int, wait: int, remaining: str) -> web.Response:
    """CRP's throttling answer (Learn: "Troubleshooting API throttling errors")."""
    now = time.time()
    detail = {
        "operationGroup": policy,
        "startTime": utc_iso(now - wait),
        "endTime": utc_iso(now + wait),
        "allowedRequestCount": allowed,
        "measuredRequestCount": allowed + 1,
    }
    body = {
        "error": {
            "code": "OperationNotAllowed",
            "message": "The server rejected the request because too many requests have been "
            "received for this subscription.",
            "details": [
                {"code": "TooManyRequests", "target": policy, "message": json.dumps(detail)}
            ],
        }
    }
    headers = {"Retry-After": str(wait), "x-ms-ratelimit-remaining-resource": remaining}
    return json_response(body, status=429, headers=headers)


def admit(request: web.Request, family: str) -> web.Response | None:
    """Apply ARM's buckets, the legacy per-minute write quota and DiskRP's DES limit.

    Success headers go to request["ratelimit"]; a refusal is returned as the 429 to send.
    """
    if family != "arm" or "claims" not in request:
        return None
    ctx = ctx_of(request)
    throttle = ctx.throttle
    claims = request["claims"]
    kind = operation_kind(request.method)
    match = _SUBSCRIPTION.match(request.path)
    scope, scope_id = ("subscription", match.group(1)) if match else ("tenant", claims.tenant_id)
    now = time.monotonic()
    headers: dict[str, str] = {}
    if throttle.enabled:
        headers, wait = throttle.admit_arm(scope, scope_id.lower(), claims.object_id, kind, now)
        if wait is not None:
            code = (
                "SubscriptionRequestsThrottled"
                if scope == "subscription"
                else "TenantRequestsThrottled"
            )
            raise ApiError(
                429,
                code,
                f"Number of '{kind}' requests for {scope} '{scope_id}' actor '{claims.object_id}' "
                f"exceeded. Please try again after '{wait}' seconds after additional tokens are "
                "available. Refer to https://aka.ms/arm-throttling for additional information.",
                headers={"Retry-After": str(wait), **headers},
            )
    if scope == "subscription" and kind != "read":
        # The bench's per-minute write knob (set_write_quota) still applies on top.
        admitted, remaining, wait = ctx.quota.admit(scope_id)
        if not admitted:
            raise ApiError(
                429,
                "SubscriptionRequestsThrottled",
                f"Number of 'write' requests for subscription '{scope_id}' exceeded the limit. "
                f"Please try again after '{wait}' seconds.",
                headers={
                    "Retry-After": str(wait),
                    "x-ms-ratelimit-remaining-subscription-writes": "0",
                },
            )
        if scope_id.lower() in ctx.quota.limits:
            headers["x-ms-ratelimit-remaining-subscription-writes"] = str(remaining)
    if (
        throttle.enabled
        and scope == "subscription"
        and request.method.upper() in ("PUT", "PATCH")
        and DES_WRITE.search(request.path)
    ):
        remaining_resource, wait, policy = throttle.admit_des_write(scope_id, now)
        if wait is not None:
            allowed = next(c for n, c, _ in throttle.des_windows if n == policy)
            return _compute_refusal(policy, allowed, wait, remaining_resource)
        headers["x-ms-ratelimit-remaining-resource"] = remaining_resource
    request["ratelimit"] = headers
    return None


async def get_config(request: web.Request) -> web.Response:
    return json_response(ctx_of(request).throttle.describe())


async def put_config(request: web.Request) -> web.Response:
    throttle = ctx_of(request).throttle
    try:
        throttle.configure(await json_body(request))
    except (TypeError, ValueError, IndexError) as error:
        raise ApiError(400, "InvalidParameter", f"Invalid throttling settings: {error}") from None
    return json_response(throttle.describe())


async def reset_config(request: web.Request) -> web.Response:
    ctx_of(request).throttle.reset()
    return web.Response(status=204)


def register_admin(app: web.Application) -> None:
    app.router.add_get("/_emulator/throttling", get_config)
    app.router.add_put("/_emulator/throttling", put_config)
    app.router.add_delete("/_emulator/throttling", reset_config)
