"""Entra token issuance and the bearer-token checks of ARM, with Azure's statuses and codes."""

from __future__ import annotations

import asyncio
import time

import httpx
import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import ClientSecretCredential as SyncClientSecretCredential
from azure.identity.aio import ClientSecretCredential
from azure.mgmt.resource.features.aio import FeatureClient

from emulator.control import IsvTenant
from tests.emulator.conftest import (
    ARM_SCOPE,
    GRAPH_SCOPE,
    arm_error,
    arm_kwargs,
    make_credential,
)

FEATURE = "/subscriptions/{sub}/providers/Microsoft.Features/providers/Microsoft.Compute/features/F"


async def test_sync_msal_credential_gets_signed_arm_token(emulator, isv: IsvTenant) -> None:
    """The MSAL-backed sync ClientSecretCredential gets an RS256 token verifiable with the JWKS."""
    credential = SyncClientSecretCredential(
        isv.tenant_id,
        isv.client_id,
        isv.client_secret,
        authority=emulator.url,
        disable_instance_discovery=True,
        connection_verify=str(emulator.ca_path),
    )
    # The emulator serves on this loop, so the blocking MSAL call runs in a thread.
    token = (await asyncio.to_thread(credential.get_token, ARM_SCOPE)).token
    async with httpx.AsyncClient(verify=str(emulator.ca_path)) as http:
        config = (
            await http.get(f"{emulator.url}/{isv.tenant_id}/v2.0/.well-known/openid-configuration")
        ).json()
        jwks = (await http.get(config["jwks_uri"])).json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="https://management.azure.com")
    assert claims["tid"] == isv.tenant_id and claims["appid"] == isv.client_id
    assert claims["iss"] == config["issuer"] and claims["exp"] > claims["iat"] == claims["nbf"]


async def test_graph_scope_gives_graph_audience(credential) -> None:
    """A Graph .default scope yields aud https://graph.microsoft.com."""
    token = (await credential.get_token(GRAPH_SCOPE)).token
    assert (
        jwt.decode(token, options={"verify_signature": False})["aud"]
        == "https://graph.microsoft.com"
    )


@pytest.mark.parametrize(
    ("tenant", "client", "secret", "code"),
    [
        ("unknown", "ok", "ok", "AADSTS90002"),
        ("ok", "unknown", "ok", "AADSTS700016"),
        ("ok", "ok", "wrong", "AADSTS7000215"),
    ],
)
async def test_token_errors(emulator, isv: IsvTenant, tenant, client, secret, code) -> None:
    """Unknown tenant, unknown client and a wrong secret each raise with Entra's AADSTS code."""
    credential = ClientSecretCredential(
        isv.tenant_id if tenant == "ok" else "11111111-1111-1111-1111-111111111111",
        isv.client_id if client == "ok" else "22222222-2222-2222-2222-222222222222",
        isv.client_secret if secret == "ok" else "not-the-secret",
        authority=emulator.url,
        disable_instance_discovery=True,
        connection_verify=str(emulator.ca_path),
    )
    with pytest.raises(ClientAuthenticationError) as error:
        await credential.get_token(ARM_SCOPE)
    await credential.close()
    assert code in str(error.value)
    assert isv.client_secret not in str(error.value)


async def _raw(emulator, path: str, token: str | None, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(verify=str(emulator.ca_path), base_url=emulator.url) as http:
        return await http.request(kwargs.pop("method", "GET"), path, headers=headers, **kwargs)


async def test_missing_token_gets_challenge(emulator, isv: IsvTenant) -> None:
    """No bearer token: 401 AuthenticationFailed with a WWW-Authenticate Bearer challenge."""
    response = await _raw(
        emulator,
        FEATURE.format(sub=isv.subscription_id),
        None,
        params={"api-version": "2021-07-01"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    assert response.headers["x-ms-request-id"]


async def test_graph_token_is_wrong_audience_for_arm(emulator, isv: IsvTenant, credential) -> None:
    """A Graph token sent to ARM is refused as InvalidAuthenticationToken."""
    token = (await credential.get_token(GRAPH_SCOPE)).token
    response = await _raw(
        emulator,
        FEATURE.format(sub=isv.subscription_id),
        token,
        params={"api-version": "2021-07-01"},
    )
    assert (
        response.status_code == 401
        and response.json()["error"]["code"] == "InvalidAuthenticationToken"
    )


async def test_expired_and_forged_tokens(emulator, isv: IsvTenant) -> None:
    """An expired token and one with a broken signature are both 401."""
    issued = emulator.context.tokens.issue(
        base_url=emulator.url,
        tenant_id=isv.tenant_id,
        app_id=isv.client_id,
        object_id="o",
        audience="https://management.azure.com",
        now=time.time() - 7200,
    )
    path = FEATURE.format(sub=isv.subscription_id)
    expired = await _raw(emulator, path, issued, params={"api-version": "2021-07-01"})
    assert (
        expired.status_code == 401
        and expired.json()["error"]["code"] == "ExpiredAuthenticationToken"
    )
    fresh = emulator.context.tokens.issue(
        base_url=emulator.url,
        tenant_id=isv.tenant_id,
        app_id=isv.client_id,
        object_id="o",
        audience="https://management.azure.com",
    )
    forged = fresh[:-4] + ("AAAA" if not fresh.endswith("AAAA") else "BBBB")
    response = await _raw(emulator, path, forged, params={"api-version": "2021-07-01"})
    assert (
        response.status_code == 401
        and response.json()["error"]["code"] == "InvalidAuthenticationToken"
    )


async def test_foreign_tenant_token_is_refused_by_sdk(emulator, isv: IsvTenant) -> None:
    """Another tenant's token on this subscription: 401 InvalidAuthenticationTokenTenant."""
    other = await emulator.control.create_isv_tenant()
    credential = make_credential(emulator, other)
    async with FeatureClient(
        credential, isv.subscription_id, **arm_kwargs(emulator, retry_total=0)
    ) as client:
        with pytest.raises(HttpResponseError) as error:
            await client.features.get("Microsoft.Compute", "F")
    await credential.close()
    assert error.value.status_code == 401
    assert arm_error(error.value).code == "InvalidAuthenticationTokenTenant"


async def test_bad_requests_get_azure_codes(emulator, isv: IsvTenant, credential) -> None:
    """Bad requests get Azure codes, never a 500.

    Covers a missing api-version, malformed JSON, an unknown subscription or RG and bad names.
    """
    token = (await credential.get_token(ARM_SCOPE)).token
    sub = isv.subscription_id
    uami = (
        f"/subscriptions/{sub}/resourceGroups/cmk-rg"
        "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
    )
    cases = [
        (FEATURE.format(sub=sub), {}, "GET", None, 400, "MissingApiVersionParameter"),
        (
            FEATURE.format(sub=sub),
            {"api-version": "yesterday"},
            "GET",
            None,
            400,
            "NoRegisteredProviderFound",
        ),
        (
            uami + "ok-name",
            {"api-version": "2024-11-30"},
            "PUT",
            b"{oops",
            400,
            "InvalidRequestContent",
        ),
        (
            uami + "-",
            {"api-version": "2024-11-30"},
            "PUT",
            b'{"location":"eastus"}',
            400,
            "InvalidResourceName",
        ),
        (
            uami.replace("cmk-rg", "nope") + "x12",
            {"api-version": "2024-11-30"},
            "GET",
            None,
            404,
            "ResourceGroupNotFound",
        ),
        (
            FEATURE.format(sub="33333333-3333-3333-3333-333333333333"),
            {"api-version": "2021-07-01"},
            "GET",
            None,
            404,
            "SubscriptionNotFound",
        ),
        (
            f"/subscriptions/{sub}/providers/Microsoft.Nope/things",
            {"api-version": "2021-04-01"},
            "GET",
            None,
            404,
            "InvalidResourceType",
        ),
    ]
    for path, params, method, content, status, code in cases:
        response = await _raw(emulator, path, token, params=params, method=method, content=content)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), path
