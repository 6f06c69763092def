"""Activities on the real Azure SDKs, one module per Azure surface.

async with AzureClients(settings.azure) as clients:
    worker = Worker(client, task_queue=..., activities=build_activities(clients, LogNotifier()))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio.client import Client

from activities.azure_clients import AzureClients
from activities.encryption import EncryptionActivities
from activities.features import FeatureActivities
from activities.graph_apps import GraphActivities
from activities.identity import ManagedIdentityActivities
from activities.key_health import KeyHealthActivities
from activities.key_vault_tenant import KeyVaultTenantActivities
from activities.lifecycle_notify import LifecycleNotifierActivities
from activities.notify import (
    LogNotifier,
    Notifier,
    NotifierActivities,
    SetupLinks,
    WebhookNotifier,
)
from activities.policy import PolicyActivities
from activities.run_history import RunHistoryActivities
from models import DEFAULT_POLICY, Policy


def build_activities(
    clients: AzureClients,
    notifier: Notifier,
    *,
    poll_seconds: float | None = None,
    policy: Policy = DEFAULT_POLICY,
    setup_links: SetupLinks | None = None,
    temporal: Client | None = None,
) -> list[Callable[..., Any]]:
    """Every activity as a bound method, each registered under its models.ActivityName;
    `temporal` (the worker's client) serves the activity that reads earlier runs."""
    features = FeatureActivities(clients.features, clients.resources)
    graph = GraphActivities(clients.graph)
    identity = ManagedIdentityActivities(clients.msi)
    encryption = (
        EncryptionActivities(clients.resources, poll_seconds=poll_seconds)
        if poll_seconds is not None
        else EncryptionActivities(clients.resources)
    )
    notify = NotifierActivities(notifier, setup_links)
    key_vault = KeyVaultTenantActivities(clients.key_vault)
    policies = PolicyActivities(policy)
    key_health = (
        KeyHealthActivities(clients.resources, poll_seconds=poll_seconds)
        if poll_seconds is not None
        else KeyHealthActivities(clients.resources)
    )
    lifecycle_notify = LifecycleNotifierActivities(notifier)
    return [
        features.get_feature,
        features.register_feature,
        features.wait_feature_registered,
        features.ensure_feature_registered,
        features.register_provider,
        graph.ensure_application,
        graph.ensure_federated_credential,
        graph.delete_application,
        identity.ensure_managed_identity,
        identity.delete_managed_identity,
        encryption.create_encryption_set,
        encryption.verify_encryption_set,
        encryption.create_test_disk,
        encryption.delete_test_disk,
        encryption.delete_encryption_set,
        notify.notify_customer,
        key_vault.check_key_vault_tenant,
        policies.load_policy,
        key_health.read_encryption_set_health,
        key_health.probe_key,
        key_health.list_encryption_set_users,
        lifecycle_notify.notify_lifecycle,
        *([RunHistoryActivities(temporal).earlier_completed_run] if temporal else []),
    ]


__all__ = [
    "EncryptionActivities",
    "FeatureActivities",
    "GraphActivities",
    "KeyVaultTenantActivities",
    "KeyHealthActivities",
    "LifecycleNotifierActivities",
    "LogNotifier",
    "ManagedIdentityActivities",
    "Notifier",
    "NotifierActivities",
    "PolicyActivities",
    "RunHistoryActivities",
    "SetupLinks",
    "WebhookNotifier",
    "build_activities",
]
