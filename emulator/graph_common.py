"""Helpers shared by the Microsoft Graph handlers.

They cover the caller's directory, request bodies, $filter and response shapes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from emulator.context import ctx_of
from emulator.errors import ApiError

_FILTER = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)
HIDDEN_FIELDS = ("federatedIdentityCredentials", "passwordCredentials")


def directory(request: web.Request) -> dict[str, Any]:
    """The tenant named by the caller's token: each tenant has its own directory."""
    tenant = ctx_of(request).world.tenant(request["claims"].tenant_id)
    assert tenant is not None  # auth checked the tenant exists
    return tenant


async def graph_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise ApiError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type "
            "header is set and payload is of valid JSON format.",
        )
    return data


def not_found(object_id: str) -> ApiError:
    return ApiError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


def require_string(body: dict[str, Any], prop: str, *, required: bool = True) -> str | None:
    value = body.get(prop)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(
            400,
            "Request_BadRequest",
            f"Invalid value specified for property '{prop}' of resource: a non-empty string is "
            "required.",
        )
    return value


def filter_items(
    items: list[dict[str, Any]], raw_filter: str | None, allowed: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Apply `$filter=<prop> eq '<value>'` for the properties Graph lets us filter on here."""
    if not raw_filter:
        return items
    match = _FILTER.match(raw_filter)
    if match is None or match.group(1) not in allowed:
        raise ApiError(
            400,
            "Request_UnsupportedQuery",
            f"Unsupported query: '{raw_filter}'. Use $filter=<{'|'.join(allowed)}> eq '<value>'.",
        )
    prop, value = match.group(1), match.group(2).replace("''", "'")
    return [i for i in items if str(i.get(prop, "")).lower() == value.lower()]


def public(entity: dict[str, Any], context: str) -> dict[str, Any]:
    """The Graph representation: secrets and child collections are not part of the resource."""
    shown = {k: v for k, v in entity.items() if k not in HIDDEN_FIELDS}
    if "passwordCredentials" in entity:
        shown["passwordCredentials"] = [
            {"keyId": c["keyId"], "displayName": c.get("displayName"), "hint": c["secret"][:3]}
            for c in entity["passwordCredentials"]
        ]
    return {"@odata.context": context, **shown}


def odata_context(request: web.Request, collection: str) -> str:
    return f"https://{request.host}/v1.0/$metadata#{collection}/$entity"


def collection(request: web.Request, name: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@odata.context": f"https://{request.host}/v1.0/$metadata#{name}",
        "value": [{k: v for k, v in public(i, "").items() if k != "@odata.context"} for i in items],
    }
