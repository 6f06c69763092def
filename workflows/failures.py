"""The workflow's failures: how activity errors are read and which named errors it raises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.exceptions import ActivityError, ApplicationError, FailureError

from models import (
    FEATURE_NAME,
    FEATURE_NAMESPACE,
    Attempt,
    CustomerSetupIssue,
    ErrorType,
    OnboardingRequest,
    Stage,
)
from models.wording import duration_words, moment_words


def customer_issue(error: BaseException) -> CustomerSetupIssue | None:
    """The customer-side problem an activity failure reports, or None for any other failure."""
    cause = error.cause if isinstance(error, ActivityError) else error
    if not isinstance(cause, ApplicationError) or cause.type != ErrorType.CUSTOMER_SETUP:
        return None
    detail = cause.details[0] if cause.details else {}
    if isinstance(detail, dict):
        try:
            return CustomerSetupIssue.model_validate(detail)
        except ValueError:
            pass
    return CustomerSetupIssue(code="CustomerSetup", message=cause.message, fix="see the message")


@dataclass(frozen=True)
class OperatorIssue:
    """An attempt's failure that the ISV operator must judge. `customer_told`: Azure's own words
    go to the customer too (they may be able to act); otherwise only the ISV side can."""

    code: str
    message: str
    customer_told: bool
    operation: str | None = None
    request_id: str | None = None


# ISV-side trust-chain codes that surface only after the customer's submission; the customer's
# setup may be right, so the onboarding waits for the operator instead of failing.
_ISV_CODES_AFTER_SUBMISSION = frozenset({"FederatedCredentialMismatch"})


def operator_issue(error: BaseException) -> OperatorIssue | None:
    """The operator-attention reading of a DES / test-disk failure, or None for any other."""
    if not isinstance(error, ActivityError) or not isinstance(error.cause, ApplicationError):
        return None
    cause = error.cause
    detail: dict[str, Any] = {}
    if cause.details and isinstance(cause.details[0], dict):
        detail = cause.details[0]
    if cause.type == ErrorType.UNRECOGNIZED_REJECTION:
        return OperatorIssue(
            code=str(detail.get("code") or "unknown"),
            message=str(detail.get("message") or cause.message),
            customer_told=True,
            operation=_text(detail.get("operation")),
            request_id=_text(detail.get("request_id")),
        )
    fic_rejected = (
        cause.type == ErrorType.AZURE_REQUEST_REJECTED
        and detail.get("code") in _ISV_CODES_AFTER_SUBMISSION
    )
    # The retry policy may end a FIC_PROPAGATING streak before the classifier's own bound does.
    if fic_rejected or cause.type == ErrorType.FIC_PROPAGATING:
        return OperatorIssue(
            code=str(detail.get("code") or cause.type),
            message=cause.message,
            customer_told=False,
        )
    return None


def _text(value: object) -> str | None:
    return str(value) if value is not None else None


def as_workflow_failure(error: BaseException, stage: Stage) -> ApplicationError:
    """Name the stage and keep the activity's error type, so callers can branch on it."""
    if isinstance(error, ApplicationError):
        return error
    cause = error.cause if isinstance(error, ActivityError) and error.cause else error
    error_type = cause.type if isinstance(cause, ApplicationError) else type(cause).__name__
    message = cause.message if isinstance(cause, FailureError) else str(cause)
    details = list(cause.details) if isinstance(cause, ApplicationError) else []
    return ApplicationError(
        f"{stage} failed: {message}", *details, type=error_type, non_retryable=True
    )


def with_cleanup_problems(failure: ApplicationError, problems: Sequence[str]) -> ApplicationError:
    if not problems:
        return failure
    return ApplicationError(
        f"{failure.message} (cleanup incomplete: {'; '.join(problems)})",
        *failure.details,
        type=failure.type,
        non_retryable=True,
    )


def feature_registration_timeout(request: OnboardingRequest) -> ApplicationError:
    return ApplicationError(
        f"preview feature {FEATURE_NAMESPACE}/{FEATURE_NAME} did not reach 'Registered' within "
        f"{duration_words(request.feature_registration_timeout)}; check "
        f"`az feature show --namespace "
        f"{FEATURE_NAMESPACE} --name {FEATURE_NAME}` and start the onboarding again",
        type=ErrorType.FEATURE_REGISTRATION_TIMEOUT,
        non_retryable=True,
    )


def verification_failed(problems: Sequence[str]) -> ApplicationError:
    return ApplicationError(
        "verification failed: " + "; ".join(problems),
        type=ErrorType.VERIFICATION_FAILED,
        non_retryable=True,
    )


def attempts_exhausted(request: OnboardingRequest, attempts: Sequence[Attempt]) -> ApplicationError:
    reasons = "; ".join(f"attempt {a.number} ({a.key_url}): {a.code}: {a.reason}" for a in attempts)
    return ApplicationError(
        f"customer {request.customer_name} ({request.customer_tenant_id}) used all "
        f"{request.max_customer_attempts} setup attempts without success: {reasons}",
        [a.model_dump(mode="json") for a in attempts],
        type=ErrorType.CUSTOMER_ATTEMPTS_EXHAUSTED,
        non_retryable=True,
    )


def deadline_exceeded(request: OnboardingRequest, deadline: datetime) -> ApplicationError:
    return ApplicationError(
        f"customer {request.customer_name} ({request.customer_tenant_id}) did not complete the "
        f"setup by the deadline {moment_words(deadline)} "
        f"({duration_words(request.customer_deadline)} after they were asked); "
        "start a new onboarding when the customer is ready",
        type=ErrorType.CUSTOMER_DEADLINE_EXCEEDED,
        non_retryable=True,
    )
