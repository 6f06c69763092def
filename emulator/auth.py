"""Bearer-token checks for ARM and Graph (throttling is emulator/throttling.py).

Refusals carry the 401/403/404 answers Azure gives.
"""

from __future__ import annotations

import re

from aiohttp import web

from emulator import rbac
from emulator.context import base_url, ctx_of
from emulator.errors import ApiError
from emulator.tokens import ARM_AUDIENCE, GRAPH_AUDIENCE, TokenClaims, TokenInvalid

_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _arm_challenge(request: web.Request, tenant_id: str | None = None) -> dict[str, str]:
    authority = f"{base_url(request)}/{tenant_id}" if tenant_id else f"{base_url(request)}/"
    return {
        "WWW-Authenticate": (
            f'Bearer authorization_uri="{authority}", error="invalid_token", '
            'error_description="The authentication failed because of missing or invalid token."'
        )
    }


async def authorize(request: web.Request, family: str, kind: str) -> None:
    """Validate the bearer token for ARM/Graph requests and stash its claims on the request."""
    if family not in ("arm", "graph"):
        return
    ctx = ctx_of(request)
    token = _bearer(request)
    if family == "graph":
        if token is None:
            raise ApiError(401, "InvalidAuthenticationToken", "Access token is empty.")
        try:
            claims = ctx.tokens.validate(token, audience=GRAPH_AUDIENCE)
        except TokenInvalid as error:
            raise ApiError(401, "InvalidAuthenticationToken", str(error)) from None
        if ctx.world.tenant(claims.tenant_id) is None:
            raise ApiError(401, "InvalidAuthenticationToken", "The token's tenant does not exist.")
        _remember(request, claims)
        rbac.check_graph(request, claims)
        return
    if token is None:
        raise ApiError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            headers=_arm_challenge(request),
        )
    try:
        claims = ctx.tokens.validate(token, audience=ARM_AUDIENCE)
    except TokenInvalid as error:
        code = (
            "ExpiredAuthenticationToken"
            if "expired" in str(error)
            else "InvalidAuthenticationToken"
        )
        raise ApiError(401, code, str(error), headers=_arm_challenge(request)) from None
    _remember(request, claims)
    match = _SUBSCRIPTION.match(request.path)
    if match is None:
        return
    subscription_id = match.group(1)
    subscription = ctx.world.subscription(subscription_id)
    if subscription is None:
        raise ApiError(
            404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found."
        )
    if subscription["tenant_id"] != claims.tenant_id.lower():
        raise ApiError(
            401,
            "InvalidAuthenticationTokenTenant",
            "The access token is from the wrong issuer "
            f"'{ctx.tokens.issuer(base_url(request), claims.tenant_id)}'. "
            "It must match the tenant "
            f"'{ctx.tokens.issuer(base_url(request), subscription['tenant_id'])}' "
            "associated with this subscription. Please use the authority (URL) "
            f"'{base_url(request)}/{subscription['tenant_id']}' to get the token.",
            headers=_arm_challenge(request, subscription["tenant_id"]),
        )
    if claims.app_id.lower() not in subscription["authorized_apps"]:
        raise ApiError(
            403,
            "AuthorizationFailed",
            f"The client '{claims.object_id}' with object id '{claims.object_id}' does not have "
            f"authorization to perform action '{request.method}' over scope "
            f"'/subscriptions/{subscription_id}' "
            "or the scope is invalid.",
        )
    await rbac.check_arm(request, claims, subscription)


def _remember(request: web.Request, claims: TokenClaims) -> None:
    request["claims"] = claims
    request["record"]["tenant_id"] = claims.tenant_id
