"""Microsoft Graph applications, federated identity credentials and service principals.

All through msgraph-sdk.
"""

from __future__ import annotations

import httpx
import pytest
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.applications.applications_request_builder import ApplicationsRequestBuilder
from msgraph.generated.models.application import Application
from msgraph.generated.models.federated_identity_credential import FederatedIdentityCredential
from msgraph.generated.models.o_data_errors.main_error import MainError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph.generated.service_principals.service_principals_request_builder import (
    ServicePrincipalsRequestBuilder,
)

from tests.emulator.conftest import create_if_missing


def _fic(name: str, subject: str) -> FederatedIdentityCredential:
    return FederatedIdentityCredential(
        name=name,
        issuer="https://login.microsoftonline.com/t/v2.0",
        subject=subject,
        audiences=["api://AzureADTokenExchange"],
    )


async def test_application_crud_and_filters(graph) -> None:
    """POST creates (201), GET by id/appId works, $filter on appId/displayName, DELETE removes."""
    created = await graph.applications.post(
        Application(display_name="Alpha", sign_in_audience="AzureADMultipleOrgs")
    )
    assert created.id and created.app_id and created.sign_in_audience == "AzureADMultipleOrgs"
    assert (await graph.applications.by_application_id(created.id).get()).display_name == "Alpha"
    assert (await graph.applications_with_app_id(created.app_id).get()).id == created.id
    for expression in (f"appId eq '{created.app_id}'", "displayName eq 'Alpha'"):
        query = ApplicationsRequestBuilder.ApplicationsRequestBuilderGetQueryParameters(
            filter=expression
        )
        found = await graph.applications.get(RequestConfiguration(query_parameters=query))
        assert [a.id for a in found.value] == [created.id]
    await graph.applications.by_application_id(created.id).delete()
    with pytest.raises(APIError) as missing:
        await graph.applications.by_application_id(created.id).get()
    assert missing.value.response_status_code == 404


async def test_unique_name_upsert_creates_then_updates(graph) -> None:
    """PATCH (uniqueName) with Prefer create-if-missing creates the app once, then updates it.

    The second PATCH updates the same app in place.
    """
    builder = graph.applications_with_unique_name("upsert-app")
    first = await builder.patch(
        Application(display_name="One", sign_in_audience="AzureADMultipleOrgs"),
        request_configuration=create_if_missing(),
    )
    assert first is not None and first.id
    second = await builder.patch(
        Application(display_name="Two"), request_configuration=create_if_missing()
    )
    assert second is None
    current = await builder.get()
    assert current.id == first.id and current.display_name == "Two"
    all_apps = await graph.applications.get()
    assert sum(1 for a in all_apps.value if a.display_name == "Two") == 1


async def test_unique_name_patch_without_prefer_is_404(graph) -> None:
    """Without Prefer: create-if-missing a PATCH of a missing uniqueName is a 404."""
    with pytest.raises(APIError) as error:
        await graph.applications_with_unique_name("absent").patch(Application(display_name="x"))
    assert error.value.response_status_code == 404


async def test_fic_rules(graph) -> None:
    """FIC names and issuer+subject pairs are unique per app, with at most 20 FICs per app.

    GET and DELETE work by id.
    """
    app = await graph.applications.post(Application(display_name="FIC app"))
    fics = graph.applications.by_application_id(app.id).federated_identity_credentials
    first = await fics.post(_fic("one", "subject-1"))
    assert first.id and first.audiences == ["api://AzureADTokenExchange"]
    # A name clash is 409 Request_MultipleObjectsWithSameKeyValue (Azure/azure-dev#1482); an
    # issuer+subject clash is 400 InvalidFederatedIdentityCredentialValue
    # (Azure/azure-workload-identity#434).
    for duplicate, status, code, text in (
        (_fic("one", "subject-2"), 409, "Request_MultipleObjectsWithSameKeyValue", "with name one"),
        (
            _fic("other", "subject-1"),
            400,
            "InvalidFederatedIdentityCredentialValue",
            "The combination of issuer and subject must be unique for the application.",
        ),
    ):
        with pytest.raises(APIError) as conflict:
            await fics.post(duplicate)
        assert conflict.value.response_status_code == status
        body = _odata(conflict.value)
        assert body.code == code and text in (body.message or "")
    for number in range(2, 21):
        await fics.post(_fic(f"n{number}", f"subject-{number}"))
    with pytest.raises(APIError) as too_many:
        await fics.post(_fic("n21", "subject-21"))
    assert too_many.value.response_status_code == 400
    assert len((await fics.get()).value) == 20
    assert (await fics.by_federated_identity_credential_id(first.id).get()).name == "one"
    await fics.by_federated_identity_credential_id(first.id).delete()
    assert len((await fics.get()).value) == 19


async def test_service_principals(graph) -> None:
    """POST {appId} creates an SP (201); a second conflicts; $filter finds it; DELETE removes it."""
    app = await graph.applications.post(Application(display_name="SP app"))
    sp = await graph.service_principals.post(ServicePrincipal(app_id=app.app_id))
    assert sp.id and sp.app_id == app.app_id
    with pytest.raises(APIError) as conflict:
        await graph.service_principals.post(ServicePrincipal(app_id=app.app_id))
    assert conflict.value.response_status_code == 409
    query = ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(
        filter=f"appId eq '{app.app_id}'"
    )
    found = await graph.service_principals.get(RequestConfiguration(query_parameters=query))
    assert [s.id for s in found.value] == [sp.id]
    assert (
        await graph.service_principals.by_service_principal_id(sp.id).get()
    ).app_id == app.app_id
    await graph.service_principals.by_service_principal_id(sp.id).delete()
    found = await graph.service_principals.get(RequestConfiguration(query_parameters=query))
    assert found.value == []


async def test_each_tenant_has_its_own_directory(emulator, graph) -> None:
    """An app created by one ISV is invisible to another ISV's Graph token."""
    from tests.emulator.conftest import make_credential, make_graph

    await graph.applications.post(Application(display_name="Private"))
    other = await emulator.control.create_isv_tenant()
    credential = make_credential(emulator, other)
    async with httpx.AsyncClient(verify=str(emulator.ca_path)) as http:
        apps = await make_graph(emulator, credential, http).applications.get()
    await credential.close()
    assert apps is not None and apps.value is not None
    assert [a.display_name for a in apps.value] == ["cmk-automation"]


async def test_graph_errors_have_graph_envelope(emulator, isv, credential) -> None:
    """No token -> 401 InvalidAuthenticationToken; bad JSON -> 400 BadRequest.

    Both come in Graph's error envelope with innerError.
    """
    async with httpx.AsyncClient(verify=str(emulator.ca_path), base_url=emulator.url) as http:
        anonymous = await http.get("/v1.0/applications")
        token = (await credential.get_token("https://graph.microsoft.com/.default")).token
        malformed = await http.post(
            "/v1.0/applications", content=b"{not json", headers={"Authorization": f"Bearer {token}"}
        )
        bad_filter = await http.get(
            "/v1.0/applications",
            params={"$filter": "foo gt 1"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert set(anonymous.json()["error"]["innerError"]) == {
        "date",
        "request-id",
        "client-request-id",
    }
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "BadRequest"
    assert (
        bad_filter.status_code == 400
        and bad_filter.json()["error"]["code"] == "Request_UnsupportedQuery"
    )


def _odata(error: APIError) -> MainError:
    """The Graph error body msgraph parsed into the ODataError it raised."""
    assert isinstance(error, ODataError) and error.error is not None, error
    return error.error
