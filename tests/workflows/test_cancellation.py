"""Cancellation in every stage compensates what this onboarding created, then ends cancelled."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment

from harness.fake_azure import FakeAzure
from harness.fake_onboarding import KEY_URL, Onboarding, running
from harness.polling import assert_eventually
from models import ActivityName as A
from models import ErrorType, Stage
from workflows import plan
from workflows.onboarding import CmkOnboardingWorkflow  # noqa: F401  (documents the subject)

ISOLATED = {"identity_mode": "isolated"}


async def cancel_and_expect_cancelled(onboarding: Onboarding) -> None:
    await onboarding.handle.cancel()
    with pytest.raises(WorkflowFailureError) as failure:
        await onboarding.handle.result()
    assert isinstance(failure.value.cause, CancelledError)
    assert (await onboarding.status()).stage == Stage.CANCELLED


def deletions(fake: FakeAzure) -> list[tuple[str, str]]:
    return [(name, ref.id) for name, ref in fake.calls if name.startswith("delete_")]


@pytest.mark.parametrize(
    ("blocked", "stage", "feature_state"),
    [
        (A.ENSURE_FEATURE_REGISTERED, Stage.REGISTERING_FEATURE, "NotRegistered"),
        (A.ENSURE_MANAGED_IDENTITY, Stage.ENSURING_IDENTITY, "Registered"),
    ],
)
async def test_cancel_before_hand_off_removes_only_the_per_customer_identity(
    env: WorkflowEnvironment, blocked: A, stage: Stage, feature_state: str
) -> None:
    """Cancelled before the hand-off, only per-customer identity/app are deleted, mid-activity."""
    fake = FakeAzure(feature_state=feature_state, blocked={blocked})
    async with running(env, fake, key_url=KEY_URL, policy=ISOLATED) as onboarding:
        await onboarding.wait_for_stage(stage)
        await assert_eventually(_started(fake, blocked))
        await cancel_and_expect_cancelled(onboarding)
        app_object_id = (await onboarding.status()).resources.app_object_id
    assert fake.cancelled == [blocked]
    request = plan_request(onboarding)
    if stage == Stage.REGISTERING_FEATURE:
        assert deletions(fake) == []
    else:
        assert set(deletions(fake)) == {
            (A.DELETE_MANAGED_IDENTITY, plan.identity_id(request)),
            (A.DELETE_APPLICATION, app_object_id),
        }
        # The identity create had stopped before its compensation began.
        assert fake.names().index(A.DELETE_MANAGED_IDENTITY) > fake.names().index(blocked)


async def test_cancel_while_awaiting_customer_removes_failed_attempt_leftovers(
    env: WorkflowEnvironment,
) -> None:
    """Cancelled while waiting after a failed attempt, the DES and test disk are removed."""
    fake = FakeAzure()
    fake.fail_with_customer_issues(A.CREATE_TEST_DISK, "key_disabled")
    async with running(env, fake, key_url=KEY_URL) as onboarding:

        async def failed_once() -> None:
            status = await onboarding.status()
            assert status.stage == Stage.AWAITING_CUSTOMER and status.attempts
            assert status.attempts[0].outcome == "customer_error"

        await assert_eventually(failed_once)
        await cancel_and_expect_cancelled(onboarding)
        await onboarding.record_history("cancelled_while_awaiting_after_failure")
    request = plan_request(onboarding)
    assert deletions(fake) == [
        (A.DELETE_TEST_DISK, plan.test_disk_id(request)),
        (A.DELETE_ENCRYPTION_SET, plan.encryption_set_id(request)),
    ]


async def test_cancel_while_awaiting_in_shared_mode_deletes_nothing(
    env: WorkflowEnvironment,
) -> None:
    """The shared ISV app and identity are never compensated."""
    fake = FakeAzure()
    async with running(env, fake) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        await cancel_and_expect_cancelled(onboarding)
    assert deletions(fake) == []


@pytest.mark.parametrize(
    ("blocked", "stage", "expected"),
    [
        (A.CREATE_ENCRYPTION_SET, Stage.CREATING_ENCRYPTION_SET, [A.DELETE_ENCRYPTION_SET]),
        (A.CREATE_TEST_DISK, Stage.VERIFYING, [A.DELETE_TEST_DISK, A.DELETE_ENCRYPTION_SET]),
    ],
)
async def test_cancel_mid_create_waits_for_it_then_compensates(
    env: WorkflowEnvironment, blocked: A, stage: Stage, expected: list[A]
) -> None:
    """Cancelled during a create, the create stops first, then test disk and DES are deleted."""
    fake = FakeAzure(blocked={blocked})
    async with running(env, fake, key_url=KEY_URL, policy=ISOLATED) as onboarding:
        await onboarding.wait_for_stage(stage)
        await assert_eventually(_started(fake, blocked))
        await cancel_and_expect_cancelled(onboarding)
        await onboarding.record_history(f"cancelled_during_{stage}")
    names = [name for name, _ in deletions(fake)]
    assert names[: len(expected)] == expected
    assert set(names[len(expected) :]) == {A.DELETE_MANAGED_IDENTITY, A.DELETE_APPLICATION}
    assert fake.cancelled == [blocked]
    assert fake.names().index(expected[0]) > fake.names().index(blocked)


async def test_encryption_set_in_use_is_kept_and_cancel_still_ends_cancelled(
    env: WorkflowEnvironment,
) -> None:
    """DELETE_ENCRYPTION_SET reporting 'in use' is not an error for the compensation."""
    fake = FakeAzure(blocked={A.CREATE_TEST_DISK}, encryption_set_in_use=True)
    async with running(env, fake, key_url=KEY_URL) as onboarding:
        await onboarding.wait_for_stage(Stage.VERIFYING)
        await assert_eventually(_started(fake, A.CREATE_TEST_DISK))
        await cancel_and_expect_cancelled(onboarding)
    assert A.DELETE_ENCRYPTION_SET in fake.names()


async def test_cancel_during_a_notification_is_not_swallowed_by_its_best_effort_handling(
    env: WorkflowEnvironment,
) -> None:
    """A notification's failures are logged and ignored, but the onboarding's own cancellation
    arriving while the webhook is in flight ends the onboarding, not the notification."""
    fake = FakeAzure(blocked={A.NOTIFY_CUSTOMER})
    async with running(env, fake) as onboarding:
        await assert_eventually(_started(fake, A.NOTIFY_CUSTOMER))
        await cancel_and_expect_cancelled(onboarding)
        await onboarding.record_history("cancelled_during_notification")
    assert fake.notifications == []  # abandoned: the cancel did not wait for the webhook


async def test_failed_cleanup_is_reported_in_the_failure(env: WorkflowEnvironment) -> None:
    """A compensation step that fails is named in the workflow failure; the others still run."""
    fake = FakeAzure()
    fake.fail_with_customer_issues(A.CREATE_ENCRYPTION_SET, "no_role")
    fake.errors[A.DELETE_ENCRYPTION_SET].append(
        ApplicationError("locked", type=ErrorType.AZURE_REQUEST_REJECTED, non_retryable=True)
    )
    async with running(
        env, fake, key_url=KEY_URL, max_customer_attempts=1, policy=ISOLATED
    ) as onboarding:
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == ErrorType.CUSTOMER_ATTEMPTS_EXHAUSTED
    assert "cleanup incomplete: encryption set" in cause.message
    assert {A.DELETE_MANAGED_IDENTITY, A.DELETE_APPLICATION} <= set(fake.names())


def _started(fake: FakeAzure, name: A):  # noqa: ANN202
    async def check() -> None:
        assert name in fake.names(), f"{name} has not started"
        await asyncio.sleep(0)

    return check


def plan_request(onboarding: Onboarding):  # noqa: ANN201
    from models import parse_request

    return parse_request(onboarding.request)
