"""Notifiers (log, webhook to the emulator's sink) and the error table's message patterns."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import LogNotifier, NotifierActivities, WebhookNotifier
from activities.errors import (
    FIC_PROPAGATING,
    FIC_PROPAGATION_DELAY,
    FIC_PROPAGATION_WINDOW,
    UNRECOGNIZED_REJECTION,
    classify,
)
from emulator.runner import RunningEmulator
from models import CustomerInstructions, CustomerNotification, CustomerSetupIssue, ErrorType

NOTIFICATION = CustomerNotification(
    kind="reminder",
    workflow_id="cmk-onboarding-x",
    customer_tenant_id="11111111-1111-1111-1111-111111111111",
    customer_name="Contoso",
    instructions=CustomerInstructions(
        consent_url="https://login.microsoftonline.com/t/adminconsent?client_id=a",
        app_id="a",
        commands=("az ad sp create --id a",),
        markdown="# Do this",
    ),
    reminder_number=2,
)


async def test_log_notifier_writes_one_structured_line() -> None:
    """The default notifier logs kind, customer and consent URL as fields of one event."""
    activities = NotifierActivities(LogNotifier())
    with capture_logs() as logs:
        await ActivityEnvironment().run(activities.notify_customer, NOTIFICATION)
    assert len(logs) == 1
    assert logs[0]["kind"] == "reminder" and logs[0]["customer_name"] == "Contoso"
    assert logs[0]["consent_url"].startswith("https://login.microsoftonline.com/")


async def test_webhook_notifier_posts_json_to_the_sink(emulator: RunningEmulator) -> None:
    """The webhook body is the notification as JSON, trusted through the given CA bundle."""
    notifier = WebhookNotifier(
        f"{emulator.url}/_emulator/webhooks/notify-test", ca_path=emulator.ca_path
    )
    try:
        await ActivityEnvironment().run(NotifierActivities(notifier).notify_customer, NOTIFICATION)
    finally:
        await notifier.aclose()
    messages = await emulator.control.webhook_messages("notify-test")
    assert len(messages) == 1
    body = messages[0].get("body", messages[0])
    text = body.pop("text")
    assert CustomerNotification.model_validate(body) == NOTIFICATION
    assert text.startswith("**Reminder") and "Contoso" in text


def test_webhook_text_escapes_what_the_customer_and_azure_supplied() -> None:
    """A customer name or an Azure message with Markdown renders as literal text in the webhook's
    `text`, so a chat receiver shows no link or formatting the ISV did not write; the data field
    keeps the raw value."""
    from activities.notify import webhook_body

    hostile = "Contoso](https://evil.example)[*bold* <img src=x>"
    body = webhook_body(
        NOTIFICATION.model_copy(
            update={"customer_name": hostile, "reason": "see [here](https://evil.example)"}
        )
    )
    assert body["customer_name"] == hostile
    text = str(body["text"])
    assert "](" not in text and "[here]" not in text  # no link survives
    assert "Contoso\\]\\(https://evil.example\\)\\[\\*bold\\* \\<img src=x\\>" in text


async def test_lifecycle_notification_goes_through_the_same_webhook(
    emulator: RunningEmulator,
) -> None:
    """Key health, key change and offboarding notices post their own JSON (with `audience`) and
    an escaped Markdown `text` naming each finding and its fix."""
    from activities.lifecycle_notify import LifecycleNotifierActivities
    from models.lifecycle import Finding, Health, LifecycleNotification

    notice = LifecycleNotification(
        kind="health_changed",
        audience="isv",
        workflow_id="cmk-onboarding-x",
        customer_tenant_id=NOTIFICATION.customer_tenant_id,
        customer_name="Contoso *Ltd*",
        health=Health.BROKEN,
        findings=(
            Finding(
                code="KEY_DISABLED",
                severity=Health.BROKEN,
                owner="customer",
                message="The key is disabled",
                fix="Enable the key",
            ),
        ),
        message="Disks using this encryption set cannot start.",
    )
    notifier = WebhookNotifier(
        f"{emulator.url}/_emulator/webhooks/lifecycle-test", ca_path=emulator.ca_path
    )
    try:
        await ActivityEnvironment().run(
            LifecycleNotifierActivities(notifier).notify_lifecycle, notice
        )
    finally:
        await notifier.aclose()
    (message,) = await emulator.control.webhook_messages("lifecycle-test")
    body = message.get("body", message)
    text = body.pop("text")
    assert LifecycleNotification.model_validate(body) == notice
    assert "Contoso \\*Ltd\\*" in text and "KEY_DISABLED: The key is disabled" in text


async def test_unreachable_webhook_is_retryable() -> None:
    """A webhook that refuses connections fails the attempt as retryable."""
    notifier = WebhookNotifier("https://127.0.0.1:9/hook")
    try:
        with pytest.raises(ApplicationError) as raised:
            await notifier.send(NOTIFICATION)
    finally:
        await notifier.aclose()
    assert not raised.value.non_retryable


def _arm_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> HttpResponseError:
    request = httpx.Request("PUT", "https://management.azure.com/x")
    response = httpx.Response(
        status,
        json={"error": {"code": code, "message": message}},
        headers=headers or {},
        request=request,
    )
    return HttpResponseError(message=message, response=_AzureResponse(response))


class _AzureResponse:
    """The slice of azure.core's HttpResponse that HttpResponseError reads."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.reason = response.reason_phrase
        self.request = response.request
        self.content_type = "application/json"

    def text(self, encoding: str | None = None) -> str:
        return self._response.text

    def body(self) -> bytes:
        return self._response.content

    def json(self) -> object:
        return self._response.json()


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "InternalError",
            "AADSTS700016: Application with identifier 'x' was not found",
            "ApplicationNotFoundInCustomerTenant",
        ),
        (
            "Forbidden",
            "Unable to access key vault resource 'kv' to enable encryption at rest.",
            "KeyVaultAccessForbidden",
        ),
        (
            "BadRequest",
            "The key vault must have purge protection enabled.",
            "KeyVaultPurgeProtectionNotEnabled",
        ),
    ],
)
def test_real_azure_messages_map_to_customer_issues(code: str, message: str, expected: str) -> None:
    """Generic codes whose message names a customer-side cause become CUSTOMER_SETUP."""
    error = classify(_arm_error(400, code, message), "create disk encryption set")
    assert error is not None and error.type == ErrorType.CUSTOMER_SETUP
    assert CustomerSetupIssue.model_validate(error.details[0]).code == expected


def _classified_in_attempt(
    failure: HttpResponseError, attempt: int, since_scheduled: timedelta
) -> Any:
    """classify() inside an activity on `attempt`, first scheduled `since_scheduled` ago."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, attempt=attempt, scheduled_time=datetime.now(UTC) - since_scheduled
    )
    return env.run(lambda: classify(failure, "op"))


async def test_aadsts70021_is_retried_for_a_bounded_window_then_rejected() -> None:
    """AADSTS70021 right after the FIC was written is replication lag (Learn recommends retrying):
    retryable within FIC_PROPAGATION_WINDOW of the activity's scheduling, then a non-retryable
    ISV-side rejection."""
    failure = _arm_error(
        200, "KeyVaultAccessForbidden", "AADSTS70021: No matching federated identity record found"
    )
    early = _classified_in_attempt(failure, 1, timedelta(seconds=5))
    assert early is not None and early.type == FIC_PROPAGATING and not early.non_retryable
    assert early.next_retry_delay == FIC_PROPAGATION_DELAY
    late = _classified_in_attempt(failure, 2, FIC_PROPAGATION_WINDOW + timedelta(seconds=1))
    assert late is not None and late.type == ErrorType.AZURE_REQUEST_REJECTED and late.non_retryable
    assert "does not match 10 minutes 1 second after it was first requested" in late.message


async def test_aadsts70021_retries_are_not_used_up_by_crashed_attempts() -> None:
    """Attempts that workers lost (SIGKILL, heartbeat timeout) or spent on 429s count for nothing:
    the 30th attempt two minutes in is still within the propagation window."""
    failure = _arm_error(
        200, "KeyVaultAccessForbidden", "AADSTS70021: No matching federated identity record found"
    )
    error = _classified_in_attempt(failure, 30, timedelta(minutes=2))
    assert error is not None and error.type == FIC_PROPAGATING and not error.non_retryable


@pytest.mark.parametrize("status", [200, 400])
def test_unknown_code_is_an_unrecognized_rejection_with_the_raw_text(status: int) -> None:
    """An unknown, non-transient code (e.g. from a failed async operation, HTTP 200) is neither
    retried nor a known fix: UNRECOGNIZED_REJECTION with Azure's redacted words in details."""
    error = classify(
        _arm_error(status, "BrandNewDiskRPCode", "Nope. Bearer abcdefghijklmnop"), "op"
    )
    assert error is not None and error.type == UNRECOGNIZED_REJECTION and error.non_retryable
    details = error.details[0]
    assert details["code"] == "BrandNewDiskRPCode" and details["status"] == status
    assert "abcdefghijklmnop" not in details["message"] and "Nope." in details["message"]
    assert "abcdefghijklmnop" not in error.message


@pytest.mark.parametrize(
    ("status", "code"),
    [(200, "InternalExecutionError"), (200, "InternalOperationError"), (502, "BadGateway")],
)
def test_transient_codes_retry_at_any_status(status: int, code: str) -> None:
    """5xx, and InternalError-like codes even inside a status-200 poll, stay retryable."""
    error = classify(_arm_error(status, code, "try again"), "op")
    assert error is not None and error.type == "AzureServiceError" and not error.non_retryable


def test_missing_service_principal_text_is_the_consent_issue() -> None:
    """AADSTS7000229 (missing service principal) inside a DiskRP message means no consent."""
    error = classify(
        _arm_error(
            200,
            "KeyVaultAccessForbidden",
            "AADSTS7000229: The client application x is missing service principal in the tenant y.",
        ),
        "create disk encryption set",
    )
    assert error is not None and error.type == ErrorType.CUSTOMER_SETUP
    assert error.details[0]["code"] == "ApplicationNotFoundInCustomerTenant"


def test_authorization_failure_of_the_isv_principal_is_clear() -> None:
    """A 403 AuthorizationFailed says the worker's identity was refused and does not retry."""
    error = classify(
        _arm_error(403, "AuthorizationFailed", "The client does not have authorization"), "op"
    )
    assert error is not None and error.non_retryable
    assert "worker's identity" in error.message


def test_secrets_in_azure_messages_are_redacted() -> None:
    """An Azure message that echoes a token never reaches the ApplicationError."""
    error = classify(_arm_error(500, "InternalError", "echo Bearer abcdefghijklmnop"), "op")
    assert error is not None and "abcdefghijklmnop" not in error.message
    assert not error.non_retryable


def test_expired_key_is_the_customers_to_fix() -> None:
    """KeyExpired goes back to the customer with the expiry fix."""
    error = classify(_arm_error(200, "KeyExpired", "The key 'k' has expired."), "op")
    assert error is not None and error.type == ErrorType.CUSTOMER_SETUP and error.non_retryable
    issue = CustomerSetupIssue.model_validate(error.details[0])
    assert issue.code == "KeyExpired"
    assert issue.fix == (
        "Set a later expiry on the key or create a new key version, then send the key URL again."
    )


def test_deleted_identity_is_an_isv_side_rejection() -> None:
    """UserAssignedIdentityNotFound is the ISV's: a non-retryable rejection, not the customer's."""
    error = classify(
        _arm_error(200, "UserAssignedIdentityNotFound", "The identity was not found."), "op"
    )
    assert error is not None and error.type == ErrorType.AZURE_REQUEST_REJECTED
    assert error.non_retryable and error.details[0]["code"] == "UserAssignedIdentityNotFound"


@pytest.mark.parametrize(
    ("vault", "role"),
    [
        ("https://kv1.vault.azure.net", "'Key Vault Crypto Service Encryption User'"),
        ("https://hsm1.managedhsm.azure.net", "'Managed HSM Crypto Service Encryption User'"),
    ],
)
def test_access_fix_names_the_role_of_the_key_host(vault: str, role: str) -> None:
    """A Managed HSM key needs the HSM's local role and `az keyvault role assignment create`."""
    message = f"Unable to access key vault resource '{vault}/' to enable encryption at rest."
    error = classify(_arm_error(400, "KeyVaultAccessForbidden", message), "op")
    assert error is not None
    fix = CustomerSetupIssue.model_validate(error.details[0]).fix
    assert role in fix
    assert ("--hsm-name" in fix) == ("managedhsm" in vault)


def test_the_propagation_window_ends_well_inside_the_retry_windows() -> None:
    """Otherwise the retry policy, not the classifier, would end a streak with a retryable type."""
    from workflows import options

    for profile in (options.PACED_DES_WRITE, options.PACED_LONG_RUNNING_WRITE, options.AZURE_CALL):
        assert profile.schedule_to_close is not None
        assert profile.schedule_to_close >= FIC_PROPAGATION_WINDOW * 3, profile
