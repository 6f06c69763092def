"""Checks of the ISV side before any onboarding: the worker's credential, subscription, resource
group, ARM permissions (Microsoft.Authorization/permissions), the preview feature and Graph.

Independent of the activities: it uses AzureClients only, so `starter.py doctor` can run it.

    async with AzureClients(settings) as clients:
        report = await check_isv(clients, subscription_id=..., resource_group="cmk-rg")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
from azure.core.rest import HttpRequest
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.applications.applications_request_builder import (
    ApplicationsRequestBuilder,
)

from activities.azure_clients import ARM_SCOPE, AzureClients
from activities.isv_access import IsvAccess, action_matches, isv_access
from models import FEATURE_NAME, FEATURE_NAMESPACE

PERMISSIONS_API_VERSION = "2022-04-01"
Outcome = Literal["ok", "missing", "info"]


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str
    fix: str = ""


@dataclass
class PreflightReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.outcome != "missing" for c in self.checks)

    def add(self, name: str, outcome: Outcome, detail: str, fix: str = "") -> Check:
        check = Check(name, outcome, detail, fix)
        self.checks.append(check)
        return check


def _azure_text(error: BaseException) -> str:
    if isinstance(error, HttpResponseError) and error.error is not None:
        return f"{error.error.code}: {error.error.message} (HTTP {error.status_code})"
    if isinstance(error, APIError):
        main: Any = getattr(error, "error", None)
        code = getattr(main, "code", None) or "error"
        message = getattr(main, "message", None) or error.message
        return f"{code}: {message} (HTTP {error.response_status_code})"
    return " ".join(str(error).split())[:400]


async def check_isv(
    clients: AzureClients,
    *,
    subscription_id: str,
    resource_group: str,
    access: IsvAccess | None = None,
) -> PreflightReport:
    """Every check, in order; later ones are skipped when the credential itself fails."""
    access = access or isv_access()
    report = PreflightReport()
    try:
        await clients.credential.get_token(ARM_SCOPE)
    except (ClientAuthenticationError, AzureError, ValueError, OSError) as error:
        report.add(
            "credential",
            "missing",
            f"could not obtain a token: {_azure_text(error)}",
            "check AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET (or the workload or "
            "managed identity) and that the tenant can be reached",
        )
        return report
    report.add("credential", "ok", "obtained an ARM token")
    if not await _resource_group(report, clients, subscription_id, resource_group):
        return report
    await _permissions(report, clients, subscription_id, resource_group, access)
    await _feature(report, clients, subscription_id)
    await _graph(report, clients, access)
    return report


async def _resource_group(
    report: PreflightReport, clients: AzureClients, subscription_id: str, resource_group: str
) -> bool:
    try:
        await clients.resources(subscription_id).resource_groups.get(resource_group)
    except HttpResponseError as error:
        code = error.error.code if error.error else ""
        if code == "SubscriptionNotFound" or error.status_code == 401:
            report.add(
                "subscription",
                "missing",
                f"subscription {subscription_id} is not reachable: {_azure_text(error)}",
                "set AZURE_SUBSCRIPTION_ID to the ISV subscription, in the credential's tenant",
            )
        elif code == "ResourceGroupNotFound":
            report.add("subscription", "ok", f"subscription {subscription_id} reachable")
            report.add(
                "resource group",
                "missing",
                f"resource group '{resource_group}' does not exist",
                f"`az group create --name {resource_group} --location <region>`",
            )
        else:
            report.add(
                "resource group",
                "missing",
                f"could not read resource group '{resource_group}': {_azure_text(error)}",
                access_fix(isv_access(), ["Microsoft.Resources/subscriptions/resourceGroups/read"]),
            )
        return False
    except AzureError as error:
        report.add(
            "subscription",
            "missing",
            f"ARM is not reachable: {_azure_text(error)}",
            "check the network path to Azure Resource Manager",
        )
        return False
    report.add("subscription", "ok", f"subscription {subscription_id} reachable")
    report.add("resource group", "ok", f"resource group '{resource_group}' exists")
    return True


def access_fix(access: IsvAccess, missing: list[str]) -> str:
    return "; ".join(dict.fromkeys(access.fix_for(a) for a in missing))


def effective_actions_allow(permissions: list[dict[str, Any]], action: str) -> bool:
    """ARM's rule: allowed when some Permission's actions match and its notActions do not."""
    for permission in permissions:
        if any(action_matches(p, action) for p in permission.get("actions", [])) and not any(
            action_matches(p, action) for p in permission.get("notActions", [])
        ):
            return True
    return False


async def _permissions(
    report: PreflightReport,
    clients: AzureClients,
    subscription_id: str,
    resource_group: str,
    access: IsvAccess,
) -> None:
    url = (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/"
        f"Microsoft.Authorization/permissions?api-version={PERMISSIONS_API_VERSION}"
    )
    permissions: list[dict[str, Any]] = []
    try:
        while url:
            response = await clients.resources(subscription_id).send_request(
                HttpRequest("GET", url)
            )
            response.raise_for_status()
            page = response.json()
            permissions += page.get("value", [])
            url = page.get("nextLink") or ""
    except (HttpResponseError, AzureError) as error:
        report.add(
            "permissions",
            "missing",
            f"could not list the identity's permissions: {_azure_text(error)}",
            "check the role assignments in deploy/isv-access.json",
        )
        return
    missing = [a for a in access.actions if not effective_actions_allow(permissions, a)]
    if missing:
        report.add(
            "permissions",
            "missing",
            "missing ARM actions: " + ", ".join(missing),
            access_fix(access, missing),
        )
    else:
        report.add("permissions", "ok", f"all {len(access.actions)} ARM actions granted")


async def _feature(report: PreflightReport, clients: AzureClients, subscription_id: str) -> None:
    try:
        feature = await clients.features(subscription_id).features.get(
            FEATURE_NAMESPACE, FEATURE_NAME
        )
    except HttpResponseError as error:
        report.add(
            "feature",
            "missing",
            f"could not read {FEATURE_NAMESPACE}/{FEATURE_NAME}: {_azure_text(error)}",
            access_fix(isv_access(), ["Microsoft.Features/providers/features/read"]),
        )
        return
    state = (feature.properties.state if feature.properties else None) or "unknown"
    if state == "Registered":
        report.add("feature", "ok", f"{FEATURE_NAME} is Registered")
    else:
        report.add(
            "feature",
            "info",
            f"{FEATURE_NAME} is {state}: the first onboarding registers it (preview policy on)",
        )


async def _graph(report: PreflightReport, clients: AzureClients, access: IsvAccess) -> None:
    config = RequestConfiguration(
        query_parameters=ApplicationsRequestBuilder.ApplicationsRequestBuilderGetQueryParameters(
            top=1, select=["id", "appId"]
        )
    )
    try:
        await clients.graph.applications.get(request_configuration=config)
    except APIError as error:
        report.add(
            "graph",
            "missing",
            f"cannot list applications in Microsoft Graph: {_azure_text(error)}",
            access.graph_fix(),
        )
        return
    except Exception as error:  # kiota raises plain errors for transport and token failures
        report.add(
            "graph",
            "missing",
            f"Microsoft Graph is not reachable: {_azure_text(error)}",
            "check the network path to graph.microsoft.com and the credential",
        )
        return
    report.add(
        "graph", "ok", "can list its applications (" + ", ".join(access.graph_permissions) + ")"
    )
