"""ARM api-version checks: only versions that exist for the addressed resource type pass.

Two refusals, each with ARM's own code and sentence (sources in docs/azure-fidelity.md):
- Microsoft.Resources endpoints (providers, resource groups, subscriptions) answer
  400 InvalidApiVersionParameter "The api-version 'X' is invalid. The supported versions are '...'."
- Resource-provider types answer 400 NoRegisteredProviderFound "No registered resource provider
  found for location 'L' and API version 'X' for type 'T'. The supported api-versions are '...'.
  The supported locations are '...'."
"""

from __future__ import annotations

from aiohttp import web

from emulator.errors import ApiError

# DiskRP: DES versions as listed by Get-AzResourceProvider in Azure/bicep#11044 (2019-07-01 ..
# 2023-04-02), then the stable folders of specification/compute/.../DiskRP and azure-mgmt-compute
# 39's default (2026-03-02). federatedClientId exists from 2022-03-02.
_DES_VERSIONS = (
    "2019-07-01", "2019-11-01", "2020-05-01", "2020-06-30", "2020-09-30", "2020-12-01",
    "2021-04-01", "2021-08-01", "2021-12-01", "2022-03-02", "2022-07-02", "2023-01-02",
    "2023-04-02", "2023-10-02", "2024-03-02", "2025-01-02", "2026-03-02",
)  # fmt: skip
_DISK_VERSIONS = (
    "2016-04-30-preview", "2017-03-30", "2018-04-01", "2018-06-01", "2018-09-30", "2019-03-01",
    *_DES_VERSIONS,
)  # fmt: skip
# Microsoft.ManagedIdentity: the versions named in the MSI REST reference and azure-mgmt-msi.
_MSI_VERSIONS = (
    "2015-08-31-preview", "2018-11-30", "2021-09-30-preview", "2022-01-31-preview", "2023-01-31",
    "2024-11-30",
)  # fmt: skip
_FEATURE_VERSIONS = ("2015-12-01", "2021-07-01")
# Microsoft.Resources: the list ARM itself printed in ansible-collections/azure#1739, plus
# azure-mgmt-resource's current default (2025-04-01).
_RESOURCES_VERSIONS = (
    "2025-04-01", "2024-11-01", "2024-08-01", "2024-07-01", "2024-03-01", "2023-07-01",
    "2022-12-01", "2022-09-01", "2022-06-01", "2022-05-01", "2022-01-01", "2021-04-01",
    "2021-01-01", "2020-10-01", "2020-09-01", "2020-08-01", "2020-07-01", "2020-06-01",
    "2020-05-01", "2020-01-01", "2019-11-01", "2019-10-01", "2019-09-01", "2019-08-01",
    "2019-07-01", "2019-06-01", "2019-05-10", "2019-05-01", "2019-03-01", "2018-11-01",
    "2018-09-01", "2018-08-01", "2018-07-01", "2018-06-01", "2018-05-01", "2018-02-01",
    "2018-01-01", "2017-12-01", "2017-08-01", "2017-06-01", "2017-05-10", "2017-05-01",
    "2017-03-01", "2016-09-01", "2016-07-01", "2016-06-01", "2016-02-01", "2015-11-01",
    "2015-01-01", "2014-04-01",
)  # fmt: skip

# (namespace, type) -> supported versions; the type is the segment after the namespace.
RESOURCE_TYPE_VERSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("microsoft.compute", "diskencryptionsets"): _DES_VERSIONS,
    ("microsoft.compute", "disks"): _DISK_VERSIONS,
    ("microsoft.compute", "locations"): _DISK_VERSIONS,  # locations/DiskOperations
    ("microsoft.managedidentity", "userassignedidentities"): _MSI_VERSIONS,
    ("microsoft.features", "providers"): _FEATURE_VERSIONS,
    ("microsoft.features", "features"): _FEATURE_VERSIONS,
    # azure-rest-api-specs authorization: Permissions_ListForResourceGroup.
    ("microsoft.authorization", "permissions"): ("2015-07-01", "2018-01-01-preview", "2022-04-01"),
}
PROVIDER_LOCATIONS = (
    "eastus, eastus2, centralus, northcentralus, westus, westcentralus, northeurope"
)


def resource_type(path: str) -> tuple[str, str] | None:
    """(namespace, type) of a provider resource path; None for Microsoft.Resources endpoints."""
    parts = [p.lower() for p in path.split("/") if p]
    if "providers" not in parts:
        return None
    index = parts.index("providers")
    rest = parts[index + 1 :]
    # /subscriptions/{s}/providers/{ns}[/register] is Microsoft.Resources' provider API.
    if len(rest) < 2 or (len(rest) == 2 and rest[1] == "register"):
        return None
    return rest[0], rest[1]


def check_api_version(request: web.Request, location: str = "") -> None:
    """400 MissingApiVersionParameter / InvalidApiVersionParameter / NoRegisteredProviderFound."""
    version = request.query.get("api-version")
    if not version:
        raise ApiError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    kind = resource_type(request.path)
    supported = RESOURCE_TYPE_VERSIONS.get(kind) if kind else _RESOURCES_VERSIONS
    if supported is None or version in supported:
        return  # an unknown type is answered by the router (InvalidResourceType)
    listed = ", ".join(supported)
    if kind is None:
        raise ApiError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are '{listed}'.",
        )
    raise ApiError(
        400,
        "NoRegisteredProviderFound",
        f"No registered resource provider found for location '{location}' and API version "
        f"'{version}' for type '{kind[1]}'. The supported api-versions are '{listed}'. The "
        f"supported locations are '{PROVIDER_LOCATIONS}'.",
    )
