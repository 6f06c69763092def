"""The Key Vault and Managed HSM data plane's authentication challenge (tenant discovery).

Vault hosts are addressed like in Azure, by the Host header: a request to the emulator's address
with `Host: <vault>.vault.azure.net` (or `<hsm>.managedhsm.azure.net`) reaches this module. An
unauthenticated request gets 401 with `WWW-Authenticate: Bearer
authorization="https://login.microsoftonline.com/<vault tenant>", resource="https://vault.azure.net"`
so a client learns which tenant to get a token from; a token from another tenant is refused with
AKV10032 (the reason DESIGN.md forbids "pre-checking" a customer's key with the ISV's token). Key
operations themselves are not emulated: DiskRP's own checks (trust_chain.py) stand for them.
"""

from __future__ import annotations

from aiohttp import web

from emulator.context import CTX, EmulatorContext, ctx_of
from emulator.errors import json_response
from emulator.key_roles import HOST_SUFFIX, RESOURCE, kind_of
from emulator.tokens import TokenInvalid

LOGIN = "https://login.microsoftonline.com"


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    # Key Vault's error envelope: {"error": {"code", "message"}}.
    return json_response({"error": {"code": code, "message": message}}, status, headers)


def _vault_of(request: web.Request) -> tuple[str, str, str]:
    """(vault name, kind, host) from the Host header."""
    host = request.host.split(":")[0].lower()
    for kind, suffix in HOST_SUFFIX.items():
        if host.endswith("." + suffix):
            return host.removesuffix("." + suffix), kind, host
    raise web.HTTPNotFound()


def challenge(tenant_id: str, kind: str) -> dict[str, str]:
    return {
        "WWW-Authenticate": (
            f'Bearer authorization="{LOGIN}/{tenant_id}", resource="{RESOURCE[kind]}"'
        )
    }


async def serve(request: web.Request) -> web.Response:
    name, kind, host = _vault_of(request)
    found = ctx_of(request).world.vault_anywhere(name)
    if found is None or kind_of(found[1]) != kind:
        # Real Azure: the host name does not resolve. There is no HTTP answer to imitate.
        return _error(404, "VaultNotFound", f"No vault or managed HSM answers at '{host}'.")
    tenant_id, _vault = found
    request["record"]["tenant_id"] = tenant_id
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(
            401,
            "Unauthorized",
            "AKV10000: Request is missing a Bearer or PoP token.",
            challenge(tenant_id, kind),
        )
    try:
        claims = ctx_of(request).tokens.validate(token.strip(), audience=RESOURCE[kind])
    except TokenInvalid as invalid:
        return _error(401, "Unauthorized", f"AKV10022: {invalid}", challenge(tenant_id, kind))
    if claims.tenant_id.lower() != tenant_id:
        return _error(
            401,
            "Unauthorized",
            f"AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{tenant_id}/, "
            f"found https://sts.windows.net/{claims.tenant_id}/.",
            challenge(tenant_id, kind),
        )
    return _error(
        501,
        "NotImplemented",
        "The emulator answers only Key Vault's authentication challenge; key operations are "
        "checked by the disk encryption set and disk operations.",
    )


def _sub_app(ctx: EmulatorContext) -> web.Application:
    sub = web.Application()
    sub[CTX] = ctx
    sub.router.add_route("*", "/{tail:.*}", serve)
    return sub


def register(app: web.Application, ctx: EmulatorContext) -> None:
    for suffix in HOST_SUFFIX.values():
        app.add_domain(f"*.{suffix}", _sub_app(ctx))
