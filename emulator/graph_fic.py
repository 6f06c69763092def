"""Microsoft Graph federatedIdentityCredentials on applications.

Graph's uniqueness and count rules apply.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.context import Router, ctx_of
from emulator.errors import ApiError, json_response
from emulator.graph_common import directory, graph_body, not_found, require_string
from emulator.state import new_guid

MAX_FICS_PER_APP = 20
FICS = "/v1.0/applications/{app}/federatedIdentityCredentials"


def _app(request: web.Request, object_id: str) -> dict[str, Any]:
    app = directory(request)["applications"].get(object_id.lower())
    if app is None:
        raise not_found(object_id)
    return app


def _shape(
    request: web.Request, app_id: str, fic: dict[str, Any], *, entity: bool
) -> dict[str, Any]:
    body = dict(fic)
    if entity:
        body["@odata.context"] = (
            f"https://{request.host}/v1.0/$metadata#applications('{app_id}')/"
            "federatedIdentityCredentials/$entity"
        )
    return body


async def create_fic(request: web.Request, p: dict[str, str]) -> web.Response:
    app = _app(request, p["app"])
    body = await graph_body(request)
    name, issuer, subject = (require_string(body, f) for f in ("name", "issuer", "subject"))
    assert name and issuer and subject
    audiences = body.get("audiences")
    if (
        not isinstance(audiences, list)
        or len(audiences) != 1
        or not all(isinstance(a, str) for a in audiences)
    ):
        raise ApiError(
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'audiences': exactly one audience is required.",
        )
    fics = app["federatedIdentityCredentials"]
    if any(f["name"].lower() == name.lower() for f in fics):
        # Verbatim from a Graph v1.0 response quoted in Azure/azure-dev#1482.
        raise ApiError(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            f"FederatedIdentityCredential with name {name} already exists.",
        )
    if any(f["issuer"] == issuer and f["subject"] == subject for f in fics):
        # A 400, not a 409: verbatim from a Graph response quoted in
        # Azure/azure-workload-identity#434 ("The combination of issuer and subject must be
        # unique", also stated by Learn's workload-identity-federation-considerations).
        raise ApiError(
            400,
            "InvalidFederatedIdentityCredentialValue",
            "The combination of issuer and subject must be unique for the application. Issuer "
            f"{issuer} and Subject: {subject} already exist. paramName: "
            f"FederatedIdentityCredential.Subject, paramValue: {subject}, objectType: "
            "Microsoft.Online.DirectoryServices.Application",
        )
    if len(fics) >= MAX_FICS_PER_APP:
        raise ApiError(
            400,
            "Request_BadRequest",
            f"An application can have at most {MAX_FICS_PER_APP} federated identity credentials.",
        )
    fic = {
        "id": new_guid(),
        "name": name,
        "issuer": issuer,
        "subject": subject,
        "audiences": audiences,
        "description": body.get("description"),
    }
    fics.append(fic)
    ctx_of(request).world.dirty = True
    return json_response(_shape(request, app["id"], fic, entity=True), status=201)


async def list_fics(request: web.Request, p: dict[str, str]) -> web.Response:
    app = _app(request, p["app"])
    return json_response(
        {
            "@odata.context": f"https://{request.host}/v1.0/$metadata#applications('{app['id']}')/federatedIdentityCredentials",
            "value": [
                _shape(request, app["id"], f, entity=False)
                for f in app["federatedIdentityCredentials"]
            ],
        }
    )


def _fic(app: dict[str, Any], key: str) -> dict[str, Any]:
    """Graph addresses a FIC by id or by name."""
    for fic in app["federatedIdentityCredentials"]:
        if fic["id"] == key.lower() or fic["name"].lower() == key.lower():
            return fic
    raise not_found(key)


async def get_fic(request: web.Request, p: dict[str, str]) -> web.Response:
    app = _app(request, p["app"])
    return json_response(_shape(request, app["id"], _fic(app, p["fic"]), entity=True))


async def delete_fic(request: web.Request, p: dict[str, str]) -> web.Response:
    app = _app(request, p["app"])
    app["federatedIdentityCredentials"].remove(_fic(app, p["fic"]))
    ctx_of(request).world.dirty = True
    return web.Response(status=204)


def register(router: Router) -> None:
    router.add("GET", FICS, list_fics)
    router.add("POST", FICS, create_fic)
    router.add("GET", FICS + "/{fic}", get_fic)
    router.add("DELETE", FICS + "/{fic}", delete_fic)
