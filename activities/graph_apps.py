"""The multi-tenant application and its federated identity credential (Microsoft Graph)."""

from __future__ import annotations

from typing import Any

import httpx
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.applications_with_unique_name import (
    applications_with_unique_name_request_builder as unique_name_builder,
)
from msgraph.generated.models.application import Application
from msgraph.generated.models.federated_identity_credential import FederatedIdentityCredential
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import azure_errors, error_code_of, status_of, translate
from models import (
    ActivityName,
    ApplicationRef,
    ApplicationSpec,
    ErrorType,
    FederatedCredentialRef,
    FederatedCredentialSpec,
    ResourceRef,
)

MULTI_TENANT = "AzureADMultipleOrgs"
# Graph's duplicate answers for a FIC: a name clash is 409 Request_MultipleObjectsWithSameKeyValue
# (Azure/azure-dev#1482), an issuer+subject clash is 400 InvalidFederatedIdentityCredentialValue
# (Azure/azure-workload-identity#434). Both mean "it may exist already: read and match".
DUPLICATE_FIC_CODE = "InvalidFederatedIdentityCredentialValue"


def _may_exist(error: BaseException) -> bool:
    if isinstance(error, httpx.TransportError) or status_of(error) == 409:
        return True
    return status_of(error) == 400 and (error_code_of(error) or "") == DUPLICATE_FIC_CODE


def _create_if_missing() -> RequestConfiguration[Any]:
    config: RequestConfiguration[Any] = RequestConfiguration()
    config.headers.add("Prefer", "create-if-missing")
    return config


def _by_unique_name(
    graph: GraphServiceClient, unique_name: str
) -> unique_name_builder.ApplicationsWithUniqueNameRequestBuilder:
    """`graph.applications_with_unique_name(name)`, minus its race.

    The SDK method writes the name into the client's own path-parameter dict, which every request
    builder shares, and kiota expands the URL only after awaiting the token. Two activities in one
    worker could then both address the name set last: an isolated onboarding read or upserted the
    shared application (or another customer's). A private copy per request keeps each name apart.
    """
    return unique_name_builder.ApplicationsWithUniqueNameRequestBuilder(
        graph.request_adapter, dict(graph.path_parameters), unique_name
    )


class GraphActivities:
    """Idempotent Graph writes: an upsert by uniqueName, never a bare retried POST /applications."""

    def __init__(self, graph: GraphServiceClient) -> None:
        self._graph = graph

    async def _application(self, unique_name: str) -> Application | None:
        with azure_errors(f"read application {unique_name}", missing_ok=True):
            return await _by_unique_name(self._graph, unique_name).get()
        return None

    @activity.defn(name=ActivityName.ENSURE_APPLICATION)
    async def ensure_application(self, spec: ApplicationSpec) -> ApplicationRef:
        """Read first (shared app: usually there); upsert only when missing or not multi-tenant."""
        existing = await self._application(spec.unique_name)
        if existing is not None and existing.sign_in_audience == MULTI_TENANT:
            return _application_ref(existing, spec, created=False)
        with azure_errors(f"upsert application {spec.unique_name}"):
            upserted = await _by_unique_name(self._graph, spec.unique_name).patch(
                Application(display_name=spec.display_name, sign_in_audience=MULTI_TENANT),
                request_configuration=_create_if_missing(),
            )
        if upserted is not None:  # 201: created by this call
            return _application_ref(upserted, spec, created=True)
        # 204: it existed (a concurrent or earlier attempt made it) and was updated in place.
        updated = await self._application(spec.unique_name)
        if updated is None:
            raise ApplicationError(f"application {spec.unique_name} vanished right after upsert")
        return _application_ref(updated, spec, created=False)

    @activity.defn(name=ActivityName.ENSURE_FEDERATED_CREDENTIAL)
    async def ensure_federated_credential(
        self, spec: FederatedCredentialSpec
    ) -> FederatedCredentialRef:
        """List first; create if absent; a conflict or lost response means 'exists': re-read."""
        if found := await self._find_credential(spec):
            return found
        credentials = self._graph.applications.by_application_id(
            spec.app_object_id
        ).federated_identity_credentials
        body = FederatedIdentityCredential(
            name=spec.name,
            issuer=spec.issuer,
            subject=spec.subject,
            audiences=list(spec.audiences),
            description="Cross-tenant customer-managed keys: trusts the ISV's managed identity",
        )
        operation = f"create federated credential {spec.name}"
        try:
            created = await credentials.post(body)
        except Exception as error:
            # It may exist: a concurrent attempt won the race, or a lost response committed it.
            maybe_exists = _may_exist(error)
            if maybe_exists and (found := await self._find_credential(spec)):
                return found
            raise translate(error, operation) from None
        if created is None or created.id is None:
            raise ApplicationError(f"Graph returned no federated credential for {spec.name}")
        return FederatedCredentialRef(id=created.id, name=spec.name, created=True)

    async def _find_credential(
        self, spec: FederatedCredentialSpec
    ) -> FederatedCredentialRef | None:
        """The matching credential, None if absent; one that clashes is a non-retryable error."""
        with azure_errors(f"list federated credentials of application {spec.app_object_id}"):
            page = await self._graph.applications.by_application_id(
                spec.app_object_id
            ).federated_identity_credentials.get()
        for credential in (page.value if page else None) or []:
            same_trust = credential.issuer == spec.issuer and credential.subject == spec.subject
            same_audiences = set(credential.audiences or []) == set(spec.audiences)
            if same_trust and same_audiences:
                return FederatedCredentialRef(
                    id=credential.id or "", name=credential.name or spec.name, created=False
                )
            if same_trust or credential.name == spec.name:
                raise ApplicationError(
                    f"federated credential '{credential.name}' on application "
                    f"{spec.app_object_id} conflicts with the one needed (name {spec.name}, "
                    f"issuer {spec.issuer}, subject {spec.subject}, audiences "
                    f"{list(spec.audiences)}): it has issuer {credential.issuer}, subject "
                    f"{credential.subject}, audiences {credential.audiences}; delete or rename it",
                    type=ErrorType.AZURE_REQUEST_REJECTED,
                    non_retryable=True,
                )
        return None

    @activity.defn(name=ActivityName.DELETE_APPLICATION)
    async def delete_application(self, ref: ResourceRef) -> None:
        """Idempotent: deleting an application that is already gone succeeds."""
        with azure_errors(f"delete application {ref.id}", missing_ok=True):
            await self._graph.applications.by_application_id(ref.id).delete()


def _application_ref(app: Application, spec: ApplicationSpec, *, created: bool) -> ApplicationRef:
    if not app.id or not app.app_id:
        raise ApplicationError(f"Graph returned application {spec.unique_name} without ids")
    return ApplicationRef(object_id=app.id, app_id=app.app_id, created=created)
