"""After onboarding: the key-health watch, key changes and offboarding (names and models).

Side-effect free like the rest of models/: the workflows import it inside their sandbox. Names here
are a contract with running workflows and with clients: renaming one breaks them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from models.base import Strict
from models.request import DEFAULT_POLICY, OnboardingRequest, Policy
from models.watch_settings import WatchSettings

WATCH_WORKFLOW_TYPE = "CmkKeyHealthWatch"
OFFBOARDING_WORKFLOW_TYPE = "CmkOffboarding"
QUERY_HEALTH = "health"
SIGNAL_CHECK_NOW = "check_key_health_now"
SIGNAL_STOP_WATCH = "stop_key_health_watch"
UPDATE_CHANGE_KEY = "change_key"

_ONBOARDING_PREFIX = "cmk-onboarding-"


def watch_workflow_id(onboarding_workflow_id: str) -> str:
    """One watch per onboarding: `cmk-onboarding-<tenant>-<des>` -> `cmk-key-health-<...>`."""
    return "cmk-key-health-" + onboarding_workflow_id.removeprefix(_ONBOARDING_PREFIX)


def offboarding_workflow_id(onboarding_workflow_id: str) -> str:
    return "cmk-offboarding-" + onboarding_workflow_id.removeprefix(_ONBOARDING_PREFIX)


def acting_for(workflow_id: str) -> str:
    """The onboarding a watch or an offboarding acts for (its resources carry that id as their
    owner tag); any other workflow id is returned unchanged."""
    for prefix in ("cmk-key-health-", "cmk-offboarding-"):
        if workflow_id.startswith(prefix):
            return _ONBOARDING_PREFIX + workflow_id.removeprefix(prefix)
    return workflow_id


class LifecycleActivity(StrEnum):
    """Activities added for the lifecycle; the onboarding's own names are models.ActivityName."""

    READ_ENCRYPTION_SET_HEALTH = "read_encryption_set_health"
    PROBE_KEY = "probe_key"
    LIST_ENCRYPTION_SET_USERS = "list_encryption_set_users"
    NOTIFY_LIFECYCLE = "notify_lifecycle"


class Health(StrEnum):
    """Value of the CmkHealth search attribute."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"  # disks still work, but something will break them or changed unasked
    BROKEN = "broken"  # a disk using this encryption set cannot start or be created


class Deployment(Strict):
    """What a completed onboarding left in Azure; the watch, key change and offboarding use it."""

    onboarding_workflow_id: str
    customer_tenant_id: str
    customer_name: str
    subscription_id: str
    resource_group: str
    region: str
    des_name: str
    encryption_set_id: str
    identity_id: str
    federated_client_id: str
    app_object_id: str | None = None
    key_url: str
    encryption_type: str = "EncryptionAtRestWithCustomerKey"
    rotation_to_latest_key_version_enabled: bool = True
    disk_sku: str = "Premium_LRS"
    test_disk_size_gb: int = 4
    identity_mode: Literal["shared", "isolated"] = "shared"
    policy: Policy = DEFAULT_POLICY


def deployment_of(
    request: OnboardingRequest,
    workflow_id: str,
    *,
    encryption_set_id: str,
    identity_id: str,
    app_id: str,
    app_object_id: str | None,
    key_url: str,
) -> Deployment:
    """The Deployment a completed onboarding of `request` left (the per-customer app's object id
    only in isolated mode: the shared app is never the customer's to delete)."""
    return Deployment(
        onboarding_workflow_id=workflow_id,
        customer_tenant_id=request.customer_tenant_id,
        customer_name=request.customer_name,
        subscription_id=request.subscription_id,
        resource_group=request.resource_group,
        region=request.region,
        des_name=request.des_name,
        encryption_set_id=encryption_set_id,
        identity_id=identity_id,
        federated_client_id=app_id,
        app_object_id=app_object_id if request.policy.identity_mode == "isolated" else None,
        key_url=key_url,
        encryption_type=request.encryption_type,
        rotation_to_latest_key_version_enabled=request.rotation_to_latest_key_version_enabled,
        disk_sku=request.disk_sku,
        test_disk_size_gb=request.test_disk_size_gb,
        identity_mode=request.policy.identity_mode,
        policy=request.policy,
    )


class Finding(Strict):
    """One thing wrong with the key chain: what, why, and who fixes it how."""

    code: str
    severity: Literal[Health.DEGRADED, Health.BROKEN]
    owner: Literal["customer", "isv"]
    message: str
    fix: str


class EncryptionSetHealth(Strict):
    """The DES as one GET shows it (found=False: it does not exist)."""

    found: bool
    provisioning_state: str = ""
    key_url: str = ""
    federated_client_id: str = ""
    identity_ids: tuple[str, ...] = ()
    rotation_error_cause: str | None = None  # canonical cause, see activities/key_health.py
    rotation_error_message: str | None = None
    last_key_rotation_at: str | None = None
    last_modified_by: str | None = None
    last_modified_at: str | None = None
    tags: dict[str, str] = {}


class ProbeSpec(Strict):
    subscription_id: str
    resource_group: str
    disk_name: str
    region: str
    sku: str
    size_gb: int
    encryption_set_id: str
    encryption_type: str


class ProbeResult(Strict):
    """ok: a disk encrypted with the set was created (and removed again)."""

    ok: bool
    cause: str | None = None
    message: str | None = None


class KeyChange(Strict):
    number: int
    requested_at: datetime
    old_key_url: str
    new_key_url: str
    outcome: Literal["pending", "succeeded", "rolled_back", "rollback_failed"] = "pending"
    reason: str | None = None
    fix: str | None = None
    finished_at: datetime | None = None


class KeyChangeRequest(BaseModel):
    """Body of the `change_key` update. JSON: {"key_url": "https://<vault>.vault.azure.net/..."}"""

    key_url: str
    note: Annotated[str, Field(max_length=1000)] | None = None


class WatchStatus(BaseModel):
    """What the `health` query returns and what a new run (continue-as-new) carries over."""

    onboarding_workflow_id: str
    health: Health | None = None
    findings: list[Finding] = []
    key_url: str = ""
    last_check_at: datetime | None = None
    last_probe_at: datetime | None = None
    last_probe_ok: bool | None = None
    last_key_rotation_at: str | None = None
    healthy_since: datetime | None = None
    unhealthy_since: datetime | None = None
    # Who modified the DES last when the watch (or its own key change) last saw it as expected.
    baseline_modified_by: str | None = None
    baseline_modified_at: str | None = None
    checks: int = 0
    key_changes: list[KeyChange] = []
    stopped_reason: str | None = None


class WatchInput(Strict):
    deployment: Deployment
    settings: WatchSettings = WatchSettings()
    carried: WatchStatus | None = None
    # When the onboarding's own verification (DES read back + test disk) proved the key. Set by
    # the onboarding: the watch counts it as its first check and probe, so its first Azure call
    # comes one check_interval later. None (a watch started by hand): check and probe at once.
    verified_at: datetime | None = None


class LifecycleNotification(Strict):
    """Sent to the customer and to the ISV (one each, `audience` says which)."""

    kind: Literal["health_changed", "key_changed", "offboarded"]
    audience: Literal["customer", "isv"]
    workflow_id: str
    customer_tenant_id: str
    customer_name: str
    health: Health | None = None
    findings: tuple[Finding, ...] = ()
    message: str


class OffboardInput(Strict):
    deployment: Deployment


class OffboardResult(Strict):
    onboarding_workflow_id: str
    deleted: tuple[str, ...]
    kept_shared: tuple[str, ...]
    watch_stopped: bool
