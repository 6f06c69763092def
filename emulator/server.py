"""The aiohttp application.

It adds request ids, the request log, faults, quota, bearer-token checks and error envelopes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import structlog
from aiohttp import web

from emulator import (
    admin,
    arm_compute,
    arm_features,
    arm_identity,
    entra,
    graph,
    health_faults,
    keyvault,
    lro_faults,
    rbac,
    throttling,
)
from emulator.auth import authorize
from emulator.context import CTX, EmulatorContext, ctx_of
from emulator.errors import ApiError, family_of, render
from emulator.faults import FaultRule
from emulator.lro import settle
from emulator.state import World, load_world
from emulator.tokens import TokenIssuer
from emulator.versions import check_api_version

log = structlog.get_logger("emulator")
WRITE_METHODS = {"PUT", "PATCH", "POST", "DELETE"}


class ConnectionDropped(Exception):
    """Raised after the transport was aborted on purpose, so no response is written."""


def resource_type_of(path: str) -> str:
    """A short resource-type label for counters, e.g. Microsoft.Compute/diskEncryptionSets."""
    family = family_of(path)
    parts = [p for p in path.split("/") if p]
    if family == "graph":
        names = [p.split("(")[0] for p in parts[1:] if not _looks_like_id(p)]
        return "graph/" + "/".join(names[:1] + names[1:2]) if names else "graph"
    if family == "entra":
        return "entra/token" if path.endswith("/token") else "entra/metadata"
    lowered = [p.lower() for p in parts]
    if "diskoperations" in lowered:
        return "Microsoft.Compute/diskOperations"
    if "providers" in lowered:
        index = lowered.index("providers")
        namespace = parts[index + 1] if len(parts) > index + 1 else ""
        if namespace.lower() == "microsoft.features":
            return "Microsoft.Features/features"
        if len(parts) > index + 2:
            return f"{namespace}/{parts[index + 2]}"
        return "Microsoft.Resources/providers"
    if "resourcegroups" in lowered:
        return "Microsoft.Resources/resourceGroups"
    return "Microsoft.Resources/subscriptions"


def _looks_like_id(segment: str) -> bool:
    return len(segment) == 36 and segment.count("-") == 4


def _fault_response(rule: FaultRule, family: str, request_id: str) -> web.Response:
    if rule.kind == "throttle":
        code = "TooManyRequests" if family == "graph" else "SubscriptionRequestsThrottled"
        message = (
            "Number of requests for subscription exceeded the limit. "
            f"Please try again after '{rule.retry_after}' seconds."
        )
        error = ApiError(
            429,
            code,
            message,
            headers={
                "Retry-After": str(rule.retry_after),
                "x-ms-ratelimit-remaining-subscription-writes": "0",
                "x-ms-ratelimit-remaining-subscription-reads": "0",
            },
        )
    else:
        code = {500: "InternalServerError", 503: "ServiceUnavailable"}.get(
            rule.status, "ServerError"
        )
        error = ApiError(
            rule.status,
            code,
            f"Injected fault: HTTP {rule.status}.",
            headers={"Retry-After": str(rule.retry_after)} if rule.status in (429, 503) else None,
        )
    return render(error, family, request_id, None)


def _abort(request: web.Request) -> None:
    """Close the connection with no response; the caller then raises ConnectionDropped."""
    if request.transport is not None:
        request.transport.abort()


@web.middleware
async def pipeline(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    """One pass per request: fault, auth, quota, dispatch, envelope, log, persist."""
    ctx = ctx_of(request)
    path = request.path
    family = family_of(path)
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id") or request.headers.get(
        "x-ms-client-request-id"
    )
    # ARM echoes the caller's x-ms-correlation-request-id and makes one up when absent
    # (Learn: azure-resource-manager/management/request-limits-and-throttling, "Request headers").
    correlation_id = request.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
    if family == "admin":
        try:
            admin_response = await handler(request)
        except ApiError as error:
            admin_response = render(error, "arm", request_id, client_request_id)
        except (KeyError, ValueError, TypeError) as error:
            admin_response = render(
                ApiError(400, "InvalidParameter", f"Invalid admin request: {error!r}"),
                "arm",
                request_id,
                client_request_id,
            )
        ctx.save_if_dirty()
        return admin_response
    kind = "write" if request.method in WRITE_METHODS else "read"
    record = {
        "time": time.time(),
        "method": request.method,
        "path": path,
        "status": 0,
        "tenant_id": None,
        "kind": kind,
        "resource_type": resource_type_of(path),
        "fault": None,
    }
    request["record"] = record
    response: web.StreamResponse
    try:
        settle(ctx.world, ctx.now())
        rule = ctx.faults.pick(request.method, path)
        if rule is not None:
            record["fault"] = rule.kind
            if rule.kind == "latency":
                await asyncio.sleep(rule.latency_ms / 1000)
            elif rule.kind == "drop":
                _abort(request)
                raise ConnectionDropped
            elif rule.kind in ("throttle", "error"):
                raise _FaultReply(_fault_response(rule, family, request_id))
        await authorize(request, family, kind)
        if (refusal := throttling.admit(request, family)) is not None:
            raise _FaultReply(refusal)
        response = await handler(request)
        if rule is not None and rule.kind == "lost_response":
            record["status"] = response.status
            ctx.save_if_dirty()
            _abort(request)
            raise ConnectionDropped
    except _FaultReply as reply:
        response = reply.response
    except ApiError as error:
        response = render(error, family, request_id, client_request_id)
    except web.HTTPException as http_error:
        if http_error.status == 404:
            response = render(_not_found(family, path), family, request_id, client_request_id)
        elif http_error.status == 405:
            response = render(
                ApiError(
                    405,
                    "MethodNotAllowed",
                    f"The requested method '{request.method}' is not allowed.",
                ),
                family,
                request_id,
                client_request_id,
            )
        else:
            raise
    except ConnectionDropped:
        ctx.record(record)
        # Nothing can be written to an aborted transport; aiohttp discards this placeholder.
        return web.Response(status=499)
    except ConnectionResetError:
        # The client went away mid-request (a killed worker): there is no one left to answer,
        # and it is not the emulator's failure.
        log.info("emulator.client_gone", method=request.method, path=path)
        return web.Response(status=499)
    except Exception:
        log.exception("emulator.unhandled", method=request.method, path=path)
        response = render(
            ApiError(500, "InternalServerError", "The server encountered an internal error."),
            family,
            request_id,
            client_request_id,
        )
    response.headers["x-ms-request-id"] = request_id
    if family == "arm":
        response.headers["x-ms-correlation-request-id"] = correlation_id
    for name, value in request.get("ratelimit", {}).items():
        response.headers[name] = value
    if family == "graph":
        response.headers["request-id"] = request_id
        response.headers["client-request-id"] = client_request_id or request_id
    if client_request_id:
        response.headers["x-ms-client-request-id"] = client_request_id
    record["status"] = response.status
    ctx.record(record)
    ctx.save_if_dirty()
    return response


class _FaultReply(Exception):
    def __init__(self, response: web.Response):
        self.response = response


def _not_found(family: str, path: str) -> ApiError:
    if family == "graph":
        return ApiError(
            400, "BadRequest", f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'."
        )
    if family == "arm":
        return ApiError(
            404, "InvalidResourceType", f"The resource type in '{path}' could not be found."
        )
    return ApiError(
        400, "AADSTS90002", "Tenant not found. Check to make sure you have the correct tenant ID."
    )


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Catch-all route for ARM and Graph, routed case-insensitively by their own routers."""
    ctx = ctx_of(request)
    family = family_of(request.path)
    router = ctx.graph if family == "graph" else ctx.arm
    resolved = router.resolve(request.method, request.path)
    if resolved is None:
        raise web.HTTPNotFound()
    if isinstance(resolved, str):  # "method": the path exists, for other methods
        raise web.HTTPMethodNotAllowed(request.method, [])
    handler, params = resolved
    if family == "arm":
        check_api_version(request, _location_of(ctx, params))
    return await handler(request, params)


def _location_of(ctx: EmulatorContext, params: dict[str, str]) -> str:
    """The addressed resource group's region, which ARM names in NoRegisteredProviderFound."""
    subscription = ctx.world.subscription(params.get("sub", ""))
    group = (subscription or {}).get("resource_groups", {}).get(params.get("rg", "").lower())
    if group is not None:
        return str(group["location"])
    return str(params.get("loc", ""))


def build_context(
    data_dir: Path, *, persist: bool, feature_delay: float, seed: int
) -> EmulatorContext:
    """Load persisted state (when asked) or start an empty world."""
    world = (load_world(data_dir) if persist else None) or World()
    world.feature_delay = feature_delay
    ctx = EmulatorContext(
        data_dir=data_dir, world=world, tokens=TokenIssuer(data_dir), persist=persist
    )
    ctx.faults.configure([], seed)
    return ctx


def create_app(ctx: EmulatorContext) -> web.Application:
    app = web.Application(middlewares=[pipeline], client_max_size=4 * 1024 * 1024)
    app[CTX] = ctx
    for module in (arm_features, arm_identity, arm_compute, rbac):
        module.register(ctx.arm)
    graph.register(ctx.graph)
    admin.register(app)
    rbac.register_admin(app)
    throttling.register_admin(app)
    health_faults.register_admin(app)
    keyvault.register(app, ctx)
    lro_faults.register(app)
    entra.register(app)
    app.router.add_route("*", "/subscriptions/{tail:.*}", dispatch)
    app.router.add_route("*", "/providers/{tail:.*}", dispatch)
    app.router.add_route("*", "/v1.0/{tail:.*}", dispatch)
    return app
