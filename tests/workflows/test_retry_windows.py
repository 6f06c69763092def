"""Idempotent Azure calls are retried for a time window, however many attempts crashes cost."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from harness.fake_azure import FakeAzure
from harness.fake_onboarding import KEY_URL, running
from models import ActivityName as A
from models import OnboardingResult
from workflows import options

# More than any attempt budget the Azure calls ever had (10 for creates and cleanup).
CRASHES = 12


@pytest.mark.parametrize(
    "profile",
    [
        options.AZURE_CALL,
        options.PACED_LONG_RUNNING_WRITE,
        options.CLEANUP,
        options.PACED_CLEANUP,
        options.PACED_DES_WRITE,
        options.WATCH_PROBE,
    ],
    ids=["azure-call", "long-running-write", "cleanup", "paced-cleanup", "des-write", "probe"],
)
def test_idempotent_azure_calls_are_bounded_by_hours_not_attempts(
    profile: options.CallProfile,
) -> None:
    """No attempt cap for a crash loop to exhaust; the window is hours, and lost workers are
    noticed by heartbeat, well inside it."""
    assert profile.retry.maximum_attempts == 0
    assert profile.schedule_to_close is not None and profile.schedule_to_close.total_seconds() >= (
        3600
    )
    assert profile.heartbeat == options.AZURE_HEARTBEAT


async def test_create_survives_more_worker_crashes_than_any_attempt_budget(
    env: WorkflowEnvironment,
) -> None:
    """A create whose worker dies mid-call 12 times in a row still completes."""
    fake = FakeAzure()
    fake.lost[A.CREATE_ENCRYPTION_SET] = CRASHES
    async with running(env, fake, key_url=KEY_URL) as onboarding:
        result = await onboarding.handle.result()
    assert isinstance(result, OnboardingResult)
    assert fake.names().count(A.CREATE_ENCRYPTION_SET) == CRASHES + 1


async def test_cleanup_survives_more_worker_crashes_than_any_attempt_budget(
    env: WorkflowEnvironment,
) -> None:
    """A compensation delete lost with its worker 12 times still deletes: nothing is left over."""
    fake = FakeAzure()
    fake.fail_with_customer_issues(A.CREATE_ENCRYPTION_SET, "no_role")
    fake.lost[A.DELETE_ENCRYPTION_SET] = CRASHES
    async with running(env, fake, key_url=KEY_URL, max_customer_attempts=1) as onboarding:
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
    assert "cleanup incomplete" not in str(failure.value.cause)
    assert fake.names().count(A.DELETE_ENCRYPTION_SET) == CRASHES + 1


async def test_azure_outage_fails_the_onboarding_only_after_the_window(
    env: WorkflowEnvironment,
) -> None:
    """A call that keeps failing is retried about once a minute for the whole window, then the
    onboarding fails (and compensates) instead of waiting forever."""
    fake = FakeAzure(down={A.ENSURE_APPLICATION})
    async with running(env, fake, key_url=KEY_URL) as onboarding:
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
        events = (await onboarding.handle.fetch_history()).events
    scheduled = next(
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == A.ENSURE_APPLICATION
    )
    given_up = next(
        e
        for e in events
        if e.event_type
        in (EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
    )
    retried_for = given_up.event_time.ToDatetime() - scheduled.event_time.ToDatetime()
    window = options.AZURE_CALL_WINDOW
    assert window * 0.95 <= retried_for <= window, retried_for
    attempts = fake.names().count(A.ENSURE_APPLICATION)
    assert attempts > 100, attempts  # at least one a minute, after the first backoffs
    assert "ensuring-identity failed" in str(failure.value.cause)
