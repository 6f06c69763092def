"""ARM Microsoft.Features feature registration and resource provider registration.

Feature registration runs through its state machine; providers register at once.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.context import Router, ctx_of
from emulator.errors import ApiError, json_response

FEATURES = "/subscriptions/{sub}/providers/Microsoft.Features/providers/{ns}/features"
PROVIDER = "/subscriptions/{sub}/providers/{ns}"
KNOWN_NAMESPACES = {
    "microsoft.compute": "Microsoft.Compute",
    "microsoft.managedidentity": "Microsoft.ManagedIdentity",
    "microsoft.keyvault": "Microsoft.KeyVault",
    "microsoft.features": "Microsoft.Features",
}
COMPUTE_RESOURCE_TYPES = ["disks", "diskEncryptionSets", "locations", "locations/DiskOperations"]


def _namespace(raw: str) -> str:
    canonical = KNOWN_NAMESPACES.get(raw.lower())
    if canonical is None:
        raise ApiError(
            404, "InvalidResourceNamespace", f"The resource namespace '{raw}' is invalid."
        )
    return canonical


def _feature_body(sub: str, namespace: str, name: str, state: str) -> dict[str, Any]:
    return {
        "id": (
            f"/subscriptions/{sub}/providers/Microsoft.Features"
            f"/providers/{namespace}/features/{name}"
        ),
        "name": f"{namespace}/{name}",
        "type": "Microsoft.Features/providers/features",
        "properties": {"state": state},
    }


def _features(request: web.Request, sub: str) -> dict[str, Any]:
    subscription = ctx_of(request).world.subscription(sub)
    assert subscription is not None  # auth already answered 404 SubscriptionNotFound
    return subscription["features"]


async def get_feature(request: web.Request, p: dict[str, str]) -> web.Response:
    namespace = _namespace(p["ns"])
    record = _features(request, p["sub"]).get(f"{namespace}/{p['feature']}".lower())
    state = record["state"] if record else "NotRegistered"
    name = record["name"] if record else p["feature"]
    return json_response(_feature_body(p["sub"], namespace, name, state))


async def register_feature(request: web.Request, p: dict[str, str]) -> web.Response:
    ctx = ctx_of(request)
    namespace = _namespace(p["ns"])
    features = _features(request, p["sub"])
    key = f"{namespace}/{p['feature']}".lower()
    record = features.get(key)
    if record is None or record["state"] in ("NotRegistered", "Unregistered", "Unregistering"):
        record = {
            "name": p["feature"],
            "namespace": namespace,
            "state": "Registering",
            "registered_at": ctx.now() + ctx.world.feature_delay,
        }
        features[key] = record
        ctx.world.dirty = True
    return json_response(_feature_body(p["sub"], namespace, record["name"], record["state"]))


async def list_features(request: web.Request, p: dict[str, str]) -> web.Response:
    namespace = _namespace(p["ns"])
    values = [
        _feature_body(p["sub"], r["namespace"], r["name"], r["state"])
        for r in _features(request, p["sub"]).values()
        if r["namespace"] == namespace
    ]
    return json_response({"value": values})


def _provider_body(sub: str, namespace: str, state: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/providers/{namespace}",
        "namespace": namespace,
        "registrationState": state,
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [
            {
                "resourceType": t,
                "locations": ["East US", "East US 2", "Central US", "North Europe"],
                "apiVersions": ["2026-03-02", "2025-01-02", "2024-03-02", "2022-03-02"],
            }
            for t in (COMPUTE_RESOURCE_TYPES if namespace == "Microsoft.Compute" else [])
        ],
    }


async def get_provider(request: web.Request, p: dict[str, str]) -> web.Response:
    namespace = _namespace(p["ns"])
    subscription = ctx_of(request).world.subscription(p["sub"])
    assert subscription is not None
    state = subscription["providers"].get(namespace.lower(), "NotRegistered")
    return json_response(_provider_body(p["sub"], namespace, state))


async def register_provider(request: web.Request, p: dict[str, str]) -> web.Response:
    ctx = ctx_of(request)
    namespace = _namespace(p["ns"])
    subscription = ctx.world.subscription(p["sub"])
    assert subscription is not None
    # ARM answers the register POST with registrationState "Registering" and finishes in the
    # background (Learn: azure-resource-manager/management/resource-providers-and-types).
    # Re-registering a Registered provider also passes through Registering.
    subscription["providers"][namespace.lower()] = "Registering"
    subscription.setdefault("provider_registered_at", {})[namespace.lower()] = (
        ctx.now() + ctx.world.feature_delay
    )
    ctx.world.dirty = True
    return json_response(_provider_body(p["sub"], namespace, "Registering"))


def settle_features(world: Any, now: float) -> None:
    """Registering features and providers become Registered once their delay has passed."""
    for subscription in world.subscriptions.values():
        pending = subscription.get("provider_registered_at", {})
        for namespace, due in list(pending.items()):
            if due <= now:
                subscription["providers"][namespace] = "Registered"
                del pending[namespace]
                world.dirty = True
        for record in subscription["features"].values():
            if record["state"] == "Registering" and record["registered_at"] <= now:
                record["state"] = "Registered"
                world.dirty = True


def register(router: Router) -> None:
    router.add("GET", FEATURES, list_features)
    router.add("GET", FEATURES + "/{feature}", get_feature)
    router.add("POST", FEATURES + "/{feature}/register", register_feature)
    router.add("GET", PROVIDER, get_provider)
    router.add("POST", PROVIDER + "/register", register_provider)
