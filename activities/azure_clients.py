"""The async Azure SDK clients the activities use, built once per worker from AzureSettings.

    async with AzureClients(settings.azure) as clients:
        resources = clients.resources(subscription_id)   # one client per surface and subscription
        graph = clients.graph

Retries: Temporal owns throttling. azure-core and kiota's RetryHandler would otherwise retry a 429
invisibly inside one activity attempt; here a 429 surfaces at once and the activity fails with
next_retry_delay = Retry-After, which Temporal paces and records. Transient 5xx and connection
errors on ARM keep a few quick SDK retries (ARM writes are idempotent PUT/DELETE), so a hiccup while
polling a long-running operation does not restart a whole create.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import aiohttp
import httpx
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import AsyncRetryPolicy
from azure.core.pipeline.transport import AioHttpTransport
from azure.identity.aio import ClientSecretCredential, DefaultAzureCredential
from azure.mgmt.msi.aio import ManagedServiceIdentityClient
from azure.mgmt.resource.features.aio import FeatureClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import RetryHandler
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph_core import GraphClientFactory  # type: ignore[import-untyped]

from activities.key_vault_tenant import KeyVaultTenantProbe
from config.settings import AzureSettings

ARM_SCOPE = "https://management.azure.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PUBLIC_ARM_URL = "https://management.azure.com"
PUBLIC_GRAPH_URL = "https://graph.microsoft.com/v1.0"
ARM_TRANSIENT_RETRIES = 3

ClientT = TypeVar("ClientT")


class NoThrottleRetryPolicy(AsyncRetryPolicy):
    """azure-core's retry policy minus 429: Temporal retries throttling after Retry-After."""

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        if response.http_response.status_code == 429:
            return False
        return bool(super().is_retry(settings, response))


class PerSubscription(Generic[ClientT]):
    """Lazily built clients of one ARM surface, one per subscription, kept for connection reuse."""

    def __init__(self, factory: Callable[[str], ClientT]) -> None:
        self._factory = factory
        self._clients: dict[str, ClientT] = {}

    def __call__(self, subscription_id: str) -> ClientT:
        key = subscription_id.lower()
        if key not in self._clients:
            self._clients[key] = self._factory(subscription_id)
        return self._clients[key]

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()  # type: ignore[attr-defined]


class AzureClients:
    """Credential, ARM clients per subscription and the Graph client; close with `async with`."""

    def __init__(self, settings: AzureSettings, *, arm_retries: int = ARM_TRANSIENT_RETRIES):
        self.settings = settings
        self.credential = _credential(settings)
        self._arm_options = _arm_options(settings, arm_retries)
        self._arm_connections = _ArmConnections(settings)
        self.features: PerSubscription[FeatureClient] = PerSubscription(
            lambda sub: FeatureClient(self.credential, sub, **self._arm(sub))
        )
        self.resources: PerSubscription[ResourceManagementClient] = PerSubscription(
            lambda sub: ResourceManagementClient(self.credential, sub, **self._arm(sub))
        )
        self.msi: PerSubscription[ManagedServiceIdentityClient] = PerSubscription(
            lambda sub: ManagedServiceIdentityClient(self.credential, sub, **self._arm(sub))
        )
        self._http, self.graph = _graph_client(settings, self.credential)
        # Unauthenticated: it only reads which tenant a customer's vault belongs to.
        self.key_vault = KeyVaultTenantProbe.from_settings(settings)

    def _arm(self, _subscription_id: str) -> dict[str, Any]:
        return self._arm_options | self._arm_connections.transport_option()

    async def __aenter__(self) -> AzureClients:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for clients in (self.features, self.resources, self.msi):
            await clients.aclose()
        await self._arm_connections.aclose()
        await self._http.aclose()
        await self.key_vault.aclose()
        await self.credential.close()


class _ArmConnections:
    """One connection pool for every ARM client when a private CA (the emulator's) is trusted.

    Given a CA path, azure-core builds a new SSLContext for every request, and aiohttp keys its
    connection pool by that context: no connection was ever reused, every request paid a TLS
    handshake on both ends. Here the CA is loaded once into one context that the pool keeps.
    With public Azure (no CA path) azure-core's own per-client session already reuses connections.
    """

    def __init__(self, settings: AzureSettings) -> None:
        self._context = (
            ssl.create_default_context(cafile=settings.emulator_ca_bundle)
            if settings.mode == "emulator"
            else None
        )
        self._session: aiohttp.ClientSession | None = None

    def transport_option(self) -> dict[str, Any]:
        if self._context is None:
            return {}
        if self._session is None:  # created on first use, inside the running event loop
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self._context))
        return {"transport": AioHttpTransport(session=self._session, session_owner=False)}

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _credential(settings: AzureSettings) -> AsyncTokenCredential:
    if settings.mode == "azure":
        # Environment variables, workload identity, managed identity or a developer login.
        return DefaultAzureCredential()
    assert settings.tenant_id and settings.client_id and settings.client_secret
    return ClientSecretCredential(
        settings.tenant_id,
        settings.client_id,
        settings.client_secret,
        authority=settings.emulator_url,
        disable_instance_discovery=True,
        connection_verify=str(settings.emulator_ca_bundle),
    )


def _arm_options(settings: AzureSettings, retries: int) -> dict[str, Any]:
    options: dict[str, Any] = {
        "retry_policy": NoThrottleRetryPolicy(retry_total=retries, retry_backoff_factor=0.5),
        # azure-core's HTTP logging prints request headers; it must stay off.
        "logging_enable": False,
    }
    if settings.mode == "emulator":
        options |= {
            "base_url": settings.emulator_url,
            "credential_scopes": [ARM_SCOPE],
        }
    return options


def _graph_client(
    settings: AzureSettings, credential: AsyncTokenCredential
) -> tuple[httpx.AsyncClient, GraphServiceClient]:
    if settings.mode == "emulator":
        base_url = f"{settings.emulator_url}/v1.0"
        http = httpx.AsyncClient(
            verify=ssl.create_default_context(cafile=settings.emulator_ca_bundle)
        )
        allowed_hosts = [urlsplit(base_url).hostname or ""]
    else:
        base_url = PUBLIC_GRAPH_URL
        http = httpx.AsyncClient()
        allowed_hosts = [urlsplit(base_url).hostname or ""]
    middleware = [
        handler
        for handler in KiotaClientFactory.get_default_middleware(None)
        if not isinstance(handler, RetryHandler)
    ]
    http = GraphClientFactory.create_with_custom_middleware(middleware, client=http)
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=[GRAPH_SCOPE], allowed_hosts=allowed_hosts
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = base_url  # the adapter resets it in __init__, so set it afterwards
    return http, GraphServiceClient(request_adapter=adapter)
