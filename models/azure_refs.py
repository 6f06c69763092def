"""Inputs and outputs of the Azure activities: what to create and what was found or created."""

from __future__ import annotations

from models.base import Strict
from models.contract import FEATURE_NAME, FEATURE_NAMESPACE, FIC_AUDIENCE


class FeatureRef(Strict):
    subscription_id: str
    namespace: str = FEATURE_NAMESPACE
    feature_name: str = FEATURE_NAME


class FeatureState(Strict):
    state: str


class ProviderRef(Strict):
    subscription_id: str
    namespace: str = FEATURE_NAMESPACE


class ApplicationSpec(Strict):
    unique_name: str
    display_name: str


class ApplicationRef(Strict):
    object_id: str
    app_id: str
    created: bool


class ManagedIdentitySpec(Strict):
    subscription_id: str
    resource_group: str
    name: str
    region: str
    tags: dict[str, str] = {}


class ManagedIdentityRef(Strict):
    id: str
    principal_id: str
    client_id: str
    tenant_id: str
    created: bool


class FederatedCredentialSpec(Strict):
    app_object_id: str
    name: str
    issuer: str
    subject: str
    audiences: tuple[str, ...] = (FIC_AUDIENCE,)


class FederatedCredentialRef(Strict):
    id: str
    name: str
    created: bool


class EncryptionSetSpec(Strict):
    subscription_id: str
    resource_group: str
    name: str
    region: str
    identity_id: str
    federated_client_id: str
    key_url: str
    encryption_type: str
    rotation_to_latest_key_version_enabled: bool
    tags: dict[str, str] = {}


class EncryptionSetRef(Strict):
    id: str
    provisioning_state: str
    key_url: str
    federated_client_id: str
    identity_ids: tuple[str, ...]
    encryption_type: str
    auto_key_rotation_error: str | None = None


class TestDiskSpec(Strict):
    subscription_id: str
    resource_group: str
    name: str
    region: str
    sku: str
    size_gb: int
    encryption_set_id: str
    encryption_type: str


class TestDiskRef(Strict):
    id: str
    encryption_type: str
    encryption_set_id: str


class KeyVaultTenantCheck(Strict):
    """A submitted key URL and the customer tenant its vault must belong to."""

    key_url: str
    customer_tenant_id: str


class KeyVaultTenant(Strict):
    tenant_id: str


class ResourceRef(Strict):
    """An ARM resource id or a Graph object id to delete; deletion is idempotent."""

    id: str


class CustomerSetupIssue(Strict):
    """Details of a `CustomerSetupError`: what Azure said and what the customer must change."""

    code: str
    message: str
    fix: str
    # Set when Azure kept the resource although its set-up failed (a DES whose long-running
    # create failed on the customer's key): status shows it, compensation removes it.
    resource_id: str | None = None
