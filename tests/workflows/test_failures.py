"""How the workflow reads activity failures and names its own."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from harness.fake_azure import ISSUES, customer_error
from harness.fake_onboarding import KEY_URL, make_request
from models import Attempt, ErrorType, Stage, parse_request
from workflows import failures


def activity_error(cause: BaseException) -> ActivityError:
    error = ActivityError(
        "activity failed",
        scheduled_event_id=1,
        started_event_id=2,
        identity="test",
        activity_type="create_encryption_set",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    error.__cause__ = cause
    return error


def test_customer_issue_is_read_from_the_error_details() -> None:
    """A CustomerSetupError carries code, message and fix in its first detail."""
    issue = failures.customer_issue(activity_error(customer_error(ISSUES["no_role"])))
    assert issue == ISSUES["no_role"]


def test_customer_issue_without_structured_details_keeps_the_message() -> None:
    """A CustomerSetupError without details still routes back with its message."""
    cause = ApplicationError("no consent", type=ErrorType.CUSTOMER_SETUP, non_retryable=True)
    issue = failures.customer_issue(activity_error(cause))
    assert issue is not None and issue.message == "no consent"


def test_other_failures_are_not_customer_issues() -> None:
    """ISV-side rejections are not routed back to the customer."""
    cause = ApplicationError("bad", type=ErrorType.AZURE_REQUEST_REJECTED, non_retryable=True)
    assert failures.customer_issue(activity_error(cause)) is None


def test_workflow_failure_names_the_stage_and_keeps_the_type() -> None:
    """An activity failure becomes a non-retryable failure naming the stage, same error type."""
    cause = ApplicationError("quota", {"x": 1}, type=ErrorType.AZURE_REQUEST_REJECTED)
    failure = failures.as_workflow_failure(activity_error(cause), Stage.ENSURING_IDENTITY)
    assert failure.message == "ensuring-identity failed: quota"
    assert failure.type == ErrorType.AZURE_REQUEST_REJECTED and failure.non_retryable
    assert failure.details == ({"x": 1},)


def test_named_failures_explain_themselves() -> None:
    """Deadline, exhaustion and cleanup messages name the customer, reasons and leftovers."""
    request = parse_request(make_request(max_customer_attempts=1))
    attempt = Attempt(
        number=1,
        key_url=KEY_URL,
        submitted_at=datetime(2030, 1, 1, tzinfo=UTC),
        outcome="customer_error",
        code="KeyDisabled",
        reason="disabled",
    )
    exhausted = failures.attempts_exhausted(request, [attempt])
    assert "Contoso" in exhausted.message and "KeyDisabled: disabled" in exhausted.message
    deadline = failures.deadline_exceeded(request, datetime(2030, 1, 15, tzinfo=UTC))
    assert "2030-01-15" in deadline.message and deadline.type == "CustomerDeadlineExceeded"
    reported = failures.with_cleanup_problems(exhausted, ["test disk d not deleted: locked"])
    assert reported.message.endswith("(cleanup incomplete: test disk d not deleted: locked)")
    assert reported.type == exhausted.type
