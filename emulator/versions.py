"""ARM api-version checks.

Every call must carry one, at least the first version that has the feature.
"""

from __future__ import annotations

import re

from aiohttp import web

from emulator.errors import ApiError

_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
# Oldest version accepted per provider namespace; the pinned SDKs send newer ones.
MINIMUM_VERSION = {
    "microsoft.features": "2015-12-01",
    "microsoft.resources": "2019-10-01",
    "microsoft.managedidentity": "2018-11-30",
    # federatedClientId on disk encryption sets exists from 2022-03-02.
    "microsoft.compute": "2022-03-02",
}


def _namespace(path: str) -> str:
    parts = [p.lower() for p in path.split("/") if p]
    if "diskoperations" in parts:
        return "microsoft.compute"
    if "providers" in parts:
        index = parts.index("providers")
        namespace = parts[index + 1] if len(parts) > index + 1 else ""
        # /subscriptions/{s}/providers/{ns}/register is served by Microsoft.Resources.
        if namespace != "microsoft.features" and len(parts) <= index + 3:
            return "microsoft.resources"
        return namespace
    return "microsoft.resources"


def check_api_version(request: web.Request) -> None:
    """400 MissingApiVersionParameter / InvalidApiVersionParameter, as ARM answers."""
    version = request.query.get("api-version")
    if not version:
        raise ApiError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    namespace = _namespace(request.path)
    minimum = MINIMUM_VERSION.get(namespace, "2000-01-01")
    if not _VERSION.match(version) or version[:10] < minimum:
        raise ApiError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions for namespace "
            f"'{namespace}' are '{minimum}' and later (for example '2026-03-02').",
        )
