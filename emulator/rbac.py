"""Azure RBAC for ARM and Microsoft Graph application permissions, enforced per principal.

ARM: every request maps to an operation (e.g. Microsoft.Compute/diskEncryptionSets/write) checked
against the caller's role assignments at or above the request's scope; linked resources named in
the body (a DES's user-assigned identities, a disk's DES) need their own action ("linked
authorization"). Graph: /applications needs Application.ReadWrite.OwnedBy or .All.

Role assignments live in subscription["role_assignments"]; a subscription without that key (state
written before RBAC existed) is not enforced, so old persisted worlds keep working.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from emulator.arm_identity import resource_group
from emulator.context import Router, ctx_of
from emulator.errors import ApiError, json_body, json_response
from emulator.state import new_guid
from emulator.tokens import TokenClaims

# Built-in role definitions (Learn, "Azure built-in roles"), reduced to the actions this emulator
# serves. The custom role carries exactly what the onboarding needs beyond them.
ROLES: dict[str, dict[str, Any]] = {
    "Reader": {"id": "acdd72a7-3385-48ef-bd42-f606fba81ae7", "actions": ["*/read"]},
    "Contributor": {
        "id": "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "actions": ["*"],
        "not_actions": [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ],
    },
    "Managed Identity Contributor": {
        "id": "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
        "actions": [
            "Microsoft.ManagedIdentity/userAssignedIdentities/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/write",
            "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
    },
    "Managed Identity Operator": {
        "id": "f1a07417-d97a-45cb-824c-7a7467783830",
        "actions": [
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
    },
    # Not built in: no built-in role grants DES and disk writes without also granting VMs, networks
    # and more (Contributor), so the ISV worker gets this least-privilege custom role instead.
    "CMK Disk Encryption Operator": {
        "id": "6d1f3c2e-5b0a-4c8e-9f71-2a9c0e4b8d15",
        "actions": [
            "Microsoft.Compute/diskEncryptionSets/read",
            "Microsoft.Compute/diskEncryptionSets/write",
            "Microsoft.Compute/diskEncryptionSets/delete",
            "Microsoft.Compute/disks/read",
            "Microsoft.Compute/disks/write",
            "Microsoft.Compute/disks/delete",
            "Microsoft.Compute/locations/DiskOperations/read",
            "Microsoft.Compute/register/action",
            "Microsoft.Features/providers/features/read",
            "Microsoft.Features/providers/features/register/action",
            "Microsoft.Resources/subscriptions/providers/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
    },
}
# The seeded ISV worker: (role, scope relative to the subscription; "" is the subscription).
DEFAULT_ISV_ROLES: list[tuple[str, str]] = [
    ("CMK Disk Encryption Operator", ""),
    ("Managed Identity Contributor", ""),
    ("Managed Identity Operator", ""),
]
GRAPH_WRITE_ROLES = {"Application.ReadWrite.OwnedBy", "Application.ReadWrite.All"}
GRAPH_READ_ROLES = GRAPH_WRITE_ROLES | {"Application.Read.All"}
DEFAULT_GRAPH_ROLES = ["Application.ReadWrite.OwnedBy"]

_VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}
_PROVIDER_ACTION = re.compile(r"^/subscriptions/[^/]+/providers/([^/]+)(/register)?/?$", re.I)
_FEATURE = re.compile(
    r"^/subscriptions/[^/]+/providers/Microsoft\.Features/providers/[^/]+/features(/[^/]+)?"
    r"(/register)?/?$",
    re.I,
)
_RESOURCE = re.compile(
    r"^(/subscriptions/[^/]+/resourcegroups/[^/]+)/providers/([^/]+)/([^/]+)(?:/([^/]+))?(/.*)?$",
    re.I,
)


_PERMISSIONS = re.compile(r"/providers/Microsoft\.Authorization/permissions$", re.I)


def operation(method: str, path: str) -> tuple[str, str] | None:
    """(action, scope) of an ARM request; None for paths that need no RBAC check."""
    path = path.rstrip("/")
    if _PERMISSIONS.search(path):
        return None  # any principal may list its own permissions

    verb = _VERBS.get(method.upper(), "action")
    sub_scope = "/".join(path.split("/")[:3])
    if (m := _FEATURE.match(path)) is not None:
        action = "register/action" if m.group(2) else "read"
        return f"Microsoft.Features/providers/features/{action}", sub_scope
    if (m := _PROVIDER_ACTION.match(path)) is not None:
        if m.group(2):
            return f"{m.group(1)}/register/action", sub_scope
        return "Microsoft.Resources/subscriptions/providers/read", sub_scope
    if "/diskoperations/" in path.lower():
        return "Microsoft.Compute/locations/DiskOperations/read", sub_scope
    if (m := _RESOURCE.match(path)) is not None:
        namespace, rtype = m.group(2), m.group(3)
        tail = m.group(5) or ""
        if tail:  # e.g. /associatedResources: a read of the parent resource
            verb = "read"
        return f"{namespace}/{rtype}/{verb}", path[: len(path) - len(tail)]
    if re.match(r"^/subscriptions/[^/]+/resourcegroups/[^/]+$", path, re.I):
        return f"Microsoft.Resources/subscriptions/resourceGroups/{verb}", path
    if re.match(r"^/subscriptions/[^/]+(/providers)?$", path, re.I):
        return "Microsoft.Resources/subscriptions/read", sub_scope
    return None


def _matches(pattern: str, action: str) -> bool:
    """Azure action wildcards: '*' is any text, and 'a/*/b' also matches 'a/b'.

    (Managed Identity Operator's 'userAssignedIdentities/*/assign/action' grants
    'userAssignedIdentities/assign/action'.)
    """
    regex = re.escape(pattern.lower()).replace(r"/\*/", "/(?:.*/)?").replace(r"\*", ".*")
    return re.fullmatch(regex, action.lower()) is not None


def _role_allows(role: dict[str, Any], action: str) -> bool:
    if not any(_matches(p, action) for p in role["actions"]):
        return False
    return not any(_matches(p, action) for p in role.get("not_actions", []))


def _in_scope(assignment_scope: str, scope: str) -> bool:
    outer, inner = assignment_scope.lower().rstrip("/"), scope.lower().rstrip("/")
    return inner == outer or inner.startswith(outer + "/")


def allowed(subscription: dict[str, Any], principal_id: str, action: str, scope: str) -> bool:
    for assignment in subscription["role_assignments"]:
        if assignment["principal_id"] != principal_id.lower():
            continue
        if not _in_scope(assignment["scope"], scope):
            continue
        if assignment.get("action") and _matches(assignment["action"], action):
            return True
        role = ROLES.get(assignment.get("role") or "")
        if role is not None and _role_allows(role, action):
            return True
    return False


def _denied(claims: TokenClaims, action: str, scope: str) -> ApiError:
    return ApiError(
        403,
        "AuthorizationFailed",
        f"The client '{claims.object_id}' with object id '{claims.object_id}' does not have "
        f"authorization to perform action '{action}' over scope '{scope}' or the scope is "
        "invalid. If access was recently granted, please refresh your credentials.",
    )


def _linked_denied(
    claims: TokenClaims, action: str, scope: str, linked: list[tuple[str, str]]
) -> ApiError:
    missing = sorted({a for a, _ in linked})
    return ApiError(
        403,
        "LinkedAuthorizationFailed",
        f"The client '{claims.object_id}' with object id '{claims.object_id}' has permission to "
        f"perform action '{action}' on scope '{scope}'; however, it does not have permission to "
        f"perform action(s) '{', '.join(missing)}' on the linked scope(s) "
        f"'{', '.join(s for _, s in linked)}' (respectively) or the linked scope(s) are invalid.",
    )


async def _linked_scopes(request: web.Request, action: str) -> list[tuple[str, str]]:
    """(action, scope) pairs for resources a DES or disk write refers to."""
    if not action.lower().endswith("/write"):
        return []
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        return []  # the handler answers the malformed body
    if not isinstance(body, dict):
        return []
    linked: list[tuple[str, str]] = []
    if action.lower() == "microsoft.compute/diskencryptionsets/write":
        identities = (body.get("identity") or {}).get("userAssignedIdentities") or {}
        if isinstance(identities, dict):
            linked += [
                ("Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", str(i))
                for i in identities
            ]
    if action.lower() == "microsoft.compute/disks/write":
        encryption = (body.get("properties") or {}).get("encryption") or {}
        des_id = encryption.get("diskEncryptionSetId") if isinstance(encryption, dict) else None
        if isinstance(des_id, str) and des_id:
            linked.append(("Microsoft.Compute/diskEncryptionSets/read", des_id))
    return linked


async def check_arm(
    request: web.Request, claims: TokenClaims, subscription: dict[str, Any]
) -> None:
    """403 AuthorizationFailed / LinkedAuthorizationFailed like ARM, before the handler runs."""
    if "role_assignments" not in subscription:
        return
    resolved = operation(request.method, request.path)
    if resolved is None:
        return
    action, scope = resolved
    if not allowed(subscription, claims.object_id, action, scope):
        raise _denied(claims, action, scope)
    linked = [
        (a, s)
        for a, s in await _linked_scopes(request, action)
        if not allowed(subscription, claims.object_id, a, s)
    ]
    if linked:
        raise _linked_denied(claims, action, scope, linked)


def check_graph(request: web.Request, claims: TokenClaims) -> None:
    """Authorization_RequestDenied when the app lacks the Application.* permission Graph needs."""
    parts = [p for p in request.path.split("/") if p]
    if len(parts) < 2 or not parts[1].lower().startswith("applications"):
        return
    tenant = ctx_of(request).world.tenant(claims.tenant_id)
    sp = tenant["service_principals"].get(claims.object_id.lower()) if tenant else None
    granted = set(sp.get("graph_app_roles", DEFAULT_GRAPH_ROLES)) if sp else set()
    needed = GRAPH_READ_ROLES if request.method.upper() == "GET" else GRAPH_WRITE_ROLES
    if not granted & needed:
        raise ApiError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )


def seed_isv(subscription: dict[str, Any], principal_id: str) -> None:
    """Give the ISV worker the documented default role set (see DEFAULT_ISV_ROLES)."""
    base = f"/subscriptions/{subscription['id']}"
    subscription["role_assignments"] = [
        _assignment(principal_id, base + scope, role=role) for role, scope in DEFAULT_ISV_ROLES
    ]


def _assignment(
    principal_id: str, scope: str, *, role: str | None = None, action: str | None = None
) -> dict[str, Any]:
    return {
        "id": new_guid(),
        "principal_id": principal_id.lower(),
        "scope": scope,
        "role": role,
        "action": action,
    }


# --- Microsoft.Authorization/permissions: the caller's effective permissions --------------------


def permissions_at(
    subscription: dict[str, Any], principal_id: str, scope: str
) -> list[dict[str, Any]]:
    """One Permission per role assignment at or above `scope` (ARM lists them unmerged)."""
    result = []
    for assignment in subscription.get("role_assignments", []):
        if assignment["principal_id"] != principal_id.lower():
            continue
        if not _in_scope(assignment["scope"], scope):
            continue
        role = ROLES.get(assignment.get("role") or "")
        actions = role["actions"] if role else [assignment["action"]]
        result.append(
            {
                "actions": list(actions),
                "notActions": list(role.get("not_actions", [])) if role else [],
                "dataActions": [],
                "notDataActions": [],
            }
        )
    return result


async def list_permissions(request: web.Request, p: dict[str, str]) -> web.Response:
    """GET .../resourceGroups/{rg}/providers/Microsoft.Authorization/permissions (2022-04-01):
    PermissionGetResult {value: [{actions, notActions, dataActions, notDataActions}], nextLink}."""
    group = resource_group(request, p["sub"], p["rg"])
    subscription = ctx_of(request).world.subscription(p["sub"])
    assert subscription is not None
    claims: TokenClaims = request["claims"]
    scope = f"/subscriptions/{subscription['id']}/resourceGroups/{group['name']}"
    if "role_assignments" not in subscription:  # not enforced: everything is allowed
        value = [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}]
    else:
        value = permissions_at(subscription, claims.object_id, scope)
    return json_response({"value": value, "nextLink": None})


def register(router: Router) -> None:
    router.add(
        "GET",
        "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Authorization/permissions",
        list_permissions,
    )


# --- admin routes ------------------------------------------------------------------------------


def _subscription(request: web.Request) -> dict[str, Any]:
    subscription = ctx_of(request).world.subscription(request.match_info["sub"])
    if subscription is None:
        raise ApiError(404, "SubscriptionNotFound", "No such subscription in the emulator.")
    subscription.setdefault("role_assignments", [])
    return subscription


def _principal(request: web.Request, body: dict[str, Any], tenant_id: str) -> str:
    if body.get("principal_id"):
        return str(body["principal_id"]).lower()
    sp = ctx_of(request).world.sp_by_app_id(tenant_id, str(body.get("app_id", "")))
    if sp is None:
        raise ApiError(400, "PrincipalNotFound", "Give principal_id, or an app_id with an SP.")
    return str(sp["id"])


async def change_assignment(request: web.Request) -> web.Response:
    subscription = _subscription(request)
    body = await json_body(request)
    role, action = body.get("role"), body.get("action")
    if bool(role) == bool(action):
        raise ApiError(400, "InvalidParameter", "Give exactly one of role or action.")
    if role and role not in ROLES:
        raise ApiError(400, "RoleDefinitionDoesNotExist", f"Unknown role '{role}'.")
    principal_id = _principal(request, body, subscription["tenant_id"])
    scope = f"/subscriptions/{subscription['id']}" + str(body.get("scope") or "")
    if str(body.get("scope") or "").startswith("/subscriptions/"):
        scope = str(body["scope"])
    key = (principal_id, scope.lower(), role, action)
    kept = [
        a
        for a in subscription["role_assignments"]
        if (a["principal_id"], a["scope"].lower(), a["role"], a["action"]) != key
    ]
    subscription["role_assignments"] = kept
    created = None
    if request.match_info["verb"] == "assign":
        created = _assignment(principal_id, scope, role=role, action=action)
        kept.append(created)
    ctx_of(request).world.dirty = True
    return json_response(created or {}, status=201 if created else 200)


async def list_assignments(request: web.Request) -> web.Response:
    return json_response({"value": _subscription(request)["role_assignments"]})


async def set_graph_roles(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    body = await json_body(request)
    sp = ctx.world.sp_by_app_id(request.match_info["tenant"], request.match_info["app_id"])
    if sp is None:
        raise ApiError(404, "PrincipalNotFound", "The application has no SP in this tenant.")
    sp["graph_app_roles"] = [str(r) for r in body.get("roles", [])]
    ctx.world.dirty = True
    return web.Response(status=204)


def register_admin(app: web.Application) -> None:
    base = "/_emulator/subscriptions/{sub}/roleAssignments"
    app.router.add_get(base, list_assignments)
    app.router.add_post(base + "/{verb:assign|remove}", change_assignment)
    app.router.add_put("/_emulator/tenants/{tenant}/graphPermissions/{app_id}", set_graph_roles)
