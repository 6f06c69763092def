"""What the workflow reports: instructions, notifications, attempts, status and result."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from models.base import Strict
from models.contract import Stage


class CustomerInstructions(Strict):
    consent_url: str
    app_id: str
    commands: tuple[str, ...]
    markdown: str


class CustomerNotification(Strict):
    kind: Literal["instructions", "reminder", "attempt_failed", "deadline_exceeded", "completed"]
    workflow_id: str
    customer_tenant_id: str
    customer_name: str
    instructions: CustomerInstructions | None = None
    reason: str | None = None
    fix: str | None = None
    reminder_number: int | None = None
    # Set only inside the notify activity, at send time: the signed link never enters history.
    setup_page_url: str | None = None


class NotificationReceipt(Strict):
    """What the notify activity reports back: whether the customer got a setup page link."""

    setup_page_link: bool = False


class Attempt(Strict):
    number: int
    key_url: str
    submitted_at: datetime
    # azure_rejected: Azure refused with a code nobody mapped (the customer saw Azure's words);
    # isv_error: the ISV side must act first. Both flag the operator (OperatorAttention).
    outcome: Literal["pending", "succeeded", "customer_error", "azure_rejected", "isv_error"] = (
        "pending"
    )
    code: str | None = None
    reason: str | None = None
    fix: str | None = None


class ResourceIds(BaseModel):
    app_id: str | None = None
    app_object_id: str | None = None
    identity_id: str | None = None
    identity_principal_id: str | None = None
    identity_client_id: str | None = None
    federated_credential_id: str | None = None
    encryption_set_id: str | None = None
    test_disk_id: str | None = None
    key_url: str | None = None


class RejectedSubmission(Strict):
    """A signalled submission the workflow could not act on (the update path rejects instead)."""

    received_at: datetime
    key_url: str | None = None
    reason: str


class OperatorAttention(Strict):
    """Something the ISV operator must look at; the onboarding waits instead of failing."""

    code: str
    message: str
    at: datetime
    attempt: int | None = None
    operation: str | None = None
    request_id: str | None = None


class OnboardingStatus(BaseModel):
    workflow_id: str
    customer_tenant_id: str
    customer_name: str
    stage: Stage
    stage_started_at: dict[str, datetime] = {}
    waiting_for: Literal["isv", "customer", "azure", "nobody"] = "azure"
    instructions: CustomerInstructions | None = None
    attempts: list[Attempt] = []
    reminders_sent: int = 0
    resources: ResourceIds = ResourceIds()
    last_failure: str | None = None
    deadline: datetime | None = None
    # The last few rejected signals (workflows.onboarding.MAX_REJECTED_SUBMISSIONS); older ones
    # are only counted here.
    rejected_submissions: list[RejectedSubmission] = []
    rejected_submissions_dropped: int = 0
    # A setup page link went out with a notification; the link itself is never kept here.
    setup_page_link_sent: bool = False
    # Registered, NotRequired (the subscription has no such feature), or Skipped (policy).
    feature_state: str | None = None
    # Set while an attempt ended in something only the ISV operator can judge; cleared on success.
    operator_attention: OperatorAttention | None = None


class OnboardingResult(Strict):
    workflow_id: str
    customer_tenant_id: str
    feature_state: str
    resources: ResourceIds
    created: tuple[str, ...]
    reused: tuple[str, ...]
    attempts: int
