"""Entra ID (v2.0) per tenant: OpenID metadata, JWKS and the client-credentials token endpoint."""

from __future__ import annotations

import hmac
import time

from aiohttp import web

from emulator.context import base_url, ctx_of
from emulator.errors import ApiError, json_response
from emulator.tokens import AUDIENCE_FOR_RESOURCE, TOKEN_LIFETIME_SECONDS


def _tenant_or_error(request: web.Request) -> str:
    tenant_id = request.match_info["tenant"].lower()
    if ctx_of(request).world.tenant(tenant_id) is None:
        raise ApiError(
            400,
            "AADSTS90002",
            f"Tenant '{tenant_id}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
            entra_error="invalid_request",
        )
    return tenant_id


async def openid_configuration(request: web.Request) -> web.Response:
    tenant_id = _tenant_or_error(request)
    root = f"{base_url(request)}/{tenant_id}"
    return json_response(
        {
            "issuer": f"{root}/v2.0",
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
        }
    )


async def keys(request: web.Request) -> web.Response:
    _tenant_or_error(request)
    return json_response(ctx_of(request).tokens.jwks())


async def token(request: web.Request) -> web.Response:
    """client_credentials with client_secret, as MSAL and azure-identity send it."""
    tenant_id = _tenant_or_error(request)
    ctx = ctx_of(request)
    request["record"]["tenant_id"] = tenant_id
    form = await request.post()
    grant_type = str(form.get("grant_type", ""))
    client_id = str(form.get("client_id", "")).lower()
    secret = str(form.get("client_secret", ""))
    scope = str(form.get("scope", ""))
    if grant_type != "client_credentials":
        raise ApiError(
            400,
            "AADSTS70003",
            f"The app requested an unsupported grant type '{grant_type}'.",
            entra_error="unsupported_grant_type",
        )
    app = ctx.world.app_by_app_id(tenant_id, client_id)
    if app is None:
        raise ApiError(
            400,
            "AADSTS700016",
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant_id}'. "
            "This can happen if the application has not been installed by the administrator of the "
            "tenant or consented to by any user in the tenant. You may have sent your "
            "authentication request to the wrong tenant.",
            entra_error="unauthorized_client",
        )
    if ctx.world.sp_by_app_id(tenant_id, client_id) is None:
        # An app registration without a service principal in its own tenant: verbatim shape
        # from Azure/azure-sdk-for-net#46762 and Azure/Commercial-Marketplace-SaaS-Accelerator#830.
        raise ApiError(
            401,
            "AADSTS7000229",
            f"The client application {client_id} is missing service principal in the tenant "
            f"{tenant_id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
            entra_error="invalid_client",
        )
    known = [c["secret"] for c in app.get("passwordCredentials", [])]
    if not secret or not any(hmac.compare_digest(secret, k) for k in known):
        raise ApiError(
            401,
            "AADSTS7000215",
            "Invalid client secret provided. Ensure the secret being sent in the request is "
            "the client "
            f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            entra_error="invalid_client",
        )
    resources = [
        s.removesuffix(".default").rstrip("/") for s in scope.split() if s.endswith("/.default")
    ]
    audience = AUDIENCE_FOR_RESOURCE.get(resources[0]) if len(resources) == 1 else None
    if audience is None:
        raise ApiError(
            400,
            "AADSTS500011",
            f"The resource principal named '{scope}' was not found in the tenant named "
            f"'{tenant_id}'. "
            "Request a '<resource>/.default' scope for https://management.azure.com or https://graph.microsoft.com.",
            entra_error="invalid_resource",
        )
    sp = ctx.world.sp_by_app_id(tenant_id, client_id)
    object_id = sp["id"] if sp else app["id"]
    access_token = ctx.tokens.issue(
        base_url=base_url(request),
        tenant_id=tenant_id,
        app_id=client_id,
        object_id=object_id,
        audience=audience,
    )
    now = int(time.time())
    return json_response(
        {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS,
            "expires_on": now + TOKEN_LIFETIME_SECONDS,
            "access_token": access_token,
        },
        headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
    )


def register(app: web.Application) -> None:
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration)
    app.router.add_get("/{tenant}/.well-known/openid-configuration", openid_configuration)
    app.router.add_get("/{tenant}/discovery/v2.0/keys", keys)
    app.router.add_get("/{tenant}/discovery/keys", keys)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", token)
