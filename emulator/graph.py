"""Microsoft Graph v1.0 applications and servicePrincipals, per tenant.

Applications include the uniqueName upsert.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator import graph_fic
from emulator.context import Router, ctx_of
from emulator.errors import ApiError, json_response
from emulator.graph_common import (
    collection,
    directory,
    filter_items,
    graph_body,
    not_found,
    odata_context,
    public,
    require_string,
)
from emulator.state import new_guid, utc_iso

AUDIENCES = (
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
)
APP_FIELDS = ("displayName", "signInAudience", "uniqueName", "description", "tags", "notes")


def _apply_app_fields(app: dict[str, Any], body: dict[str, Any]) -> None:
    if "displayName" in body:
        require_string(body, "displayName")
    audience = body.get("signInAudience", app.get("signInAudience", "AzureADMyOrg"))
    if audience not in AUDIENCES:
        raise ApiError(
            400,
            "Request_BadRequest",
            f"Invalid value specified for property 'signInAudience': '{audience}'. Use one of "
            f"{', '.join(AUDIENCES)}.",
        )
    for field in APP_FIELDS:
        if field in body:
            app[field] = body[field]
    app["signInAudience"] = audience


def new_application(tenant: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Create an application object in a directory (also used by the admin API)."""
    require_string(body, "displayName")
    unique = body.get("uniqueName")
    if unique and any(
        a.get("uniqueName", "").lower() == str(unique).lower()
        for a in tenant["applications"].values()
    ):
        raise ApiError(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            f"Another object with the same value for property uniqueName '{unique}' already "
            "exists.",
        )
    app: dict[str, Any] = {
        "id": new_guid(),
        "appId": new_guid(),
        "createdDateTime": utc_iso(),
        "publisherDomain": "emulator.onmicrosoft.com",
        "federatedIdentityCredentials": [],
        "passwordCredentials": [],
    }
    _apply_app_fields(app, body)
    tenant["applications"][app["id"]] = app
    return app


def _find_app(
    request: web.Request,
    *,
    object_id: str | None = None,
    unique_name: str | None = None,
    app_id: str | None = None,
) -> dict[str, Any] | None:
    for app in directory(request)["applications"].values():
        if object_id is not None and app["id"] == object_id.lower():
            return app
        if unique_name is not None and app.get("uniqueName", "").lower() == unique_name.lower():
            return app
        if app_id is not None and app["appId"] == app_id.lower():
            return app
    return None


def _required(app: dict[str, Any] | None, label: str) -> dict[str, Any]:
    if app is None:
        raise not_found(label)
    return app


async def create_app(request: web.Request, p: dict[str, str]) -> web.Response:
    body = await graph_body(request)
    app = new_application(directory(request), body)
    ctx_of(request).world.dirty = True
    return json_response(public(app, odata_context(request, "applications")), status=201)


async def list_apps(request: web.Request, p: dict[str, str]) -> web.Response:
    items = filter_items(
        list(directory(request)["applications"].values()),
        request.query.get("$filter"),
        ("appId", "displayName", "uniqueName", "id"),
    )
    return json_response(collection(request, "applications", items))


def _lookup(request: web.Request, p: dict[str, str]) -> dict[str, Any]:
    if "id" in p:
        return _required(_find_app(request, object_id=p["id"]), p["id"])
    if "unique" in p:
        return _required(_find_app(request, unique_name=p["unique"]), p["unique"])
    return _required(_find_app(request, app_id=p["appid"]), p["appid"])


async def get_app(request: web.Request, p: dict[str, str]) -> web.Response:
    return json_response(public(_lookup(request, p), odata_context(request, "applications")))


async def patch_app(request: web.Request, p: dict[str, str]) -> web.Response:
    """PATCH by id, or the uniqueName upsert: 201 with `Prefer: create-if-missing`, else 204."""
    body = await graph_body(request)
    ctx = ctx_of(request)
    if "unique" in p and _find_app(request, unique_name=p["unique"]) is None:
        if "create-if-missing" not in request.headers.get("Prefer", "").lower():
            raise not_found(p["unique"])
        if "uniqueName" in body and str(body["uniqueName"]).lower() != p["unique"].lower():
            raise ApiError(
                400,
                "Request_BadRequest",
                "Property 'uniqueName' in the body must match the key in the URL.",
            )
        app = new_application(directory(request), {**body, "uniqueName": p["unique"]})
        ctx.world.dirty = True
        return json_response(public(app, odata_context(request, "applications")), status=201)
    app = _lookup(request, p)
    if "uniqueName" in body and app.get("uniqueName") and body["uniqueName"] != app["uniqueName"]:
        raise ApiError(400, "Request_BadRequest", "Property 'uniqueName' is immutable once set.")
    _apply_app_fields(app, body)
    ctx.world.dirty = True
    return web.Response(status=204)


async def delete_app(request: web.Request, p: dict[str, str]) -> web.Response:
    app = _lookup(request, p)
    directory(request)["applications"].pop(app["id"])
    ctx_of(request).world.dirty = True
    return web.Response(status=204)


def new_service_principal(ctx_world: Any, tenant: dict[str, Any], app_id: str) -> dict[str, Any]:
    """Consent: a service principal for `app_id` in `tenant`.

    The app may live in another tenant.
    """
    app_id = app_id.lower()
    home = ctx_world.app_anywhere(app_id)
    if home is None:
        raise ApiError(
            400,
            "Request_BadRequest",
            f"The appId '{app_id}' of the service principal does not reference a valid "
            "application object.",
        )
    home_tenant, app = home
    if home_tenant != tenant["id"] and app.get("signInAudience") == "AzureADMyOrg":
        raise ApiError(
            400,
            "Request_BadRequest",
            f"The application '{app_id}' is single-tenant and cannot be added to tenant "
            f"'{tenant['id']}'.",
        )
    if any(s["appId"] == app_id for s in tenant["service_principals"].values()):
        raise ApiError(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            f"A service principal for appId '{app_id}' already exists in this directory.",
        )
    sp = {
        "id": new_guid(),
        "appId": app_id,
        "displayName": app.get("displayName"),
        "appOwnerOrganizationId": home_tenant,
        "servicePrincipalType": "Application",
        "accountEnabled": True,
        "createdDateTime": utc_iso(),
    }
    tenant["service_principals"][sp["id"]] = sp
    return sp


async def create_sp(request: web.Request, p: dict[str, str]) -> web.Response:
    body = await graph_body(request)
    app_id = require_string(body, "appId")
    assert app_id is not None
    sp = new_service_principal(ctx_of(request).world, directory(request), app_id)
    ctx_of(request).world.dirty = True
    return json_response(public(sp, odata_context(request, "servicePrincipals")), status=201)


async def list_sps(request: web.Request, p: dict[str, str]) -> web.Response:
    items = filter_items(
        list(directory(request)["service_principals"].values()),
        request.query.get("$filter"),
        ("appId", "displayName", "id"),
    )
    return json_response(collection(request, "servicePrincipals", items))


def _sp(request: web.Request, p: dict[str, str]) -> dict[str, Any]:
    for sp in directory(request)["service_principals"].values():
        if sp["id"] == p.get("id", "").lower() or sp["appId"] == p.get("appid", "").lower():
            return sp
    raise not_found(p.get("id") or p.get("appid", ""))


async def get_sp(request: web.Request, p: dict[str, str]) -> web.Response:
    return json_response(public(_sp(request, p), odata_context(request, "servicePrincipals")))


async def delete_sp(request: web.Request, p: dict[str, str]) -> web.Response:
    directory(request)["service_principals"].pop(_sp(request, p)["id"])
    ctx_of(request).world.dirty = True
    return web.Response(status=204)


def register(router: Router) -> None:
    apps = "/v1.0/applications"
    router.add("GET", apps, list_apps)
    router.add("POST", apps, create_app)
    for template in (apps + "(uniqueName='{unique}')", apps + "(appId='{appid}')", apps + "/{id}"):
        router.add("GET", template, get_app)
        router.add("PATCH", template, patch_app)
        router.add("DELETE", template, delete_app)
    graph_fic.register(router)
    sps = "/v1.0/servicePrincipals"
    router.add("GET", sps, list_sps)
    router.add("POST", sps, create_sp)
    for template in (sps + "(appId='{appid}')", sps + "/{id}"):
        router.add("GET", template, get_sp)
        router.add("DELETE", template, delete_sp)
