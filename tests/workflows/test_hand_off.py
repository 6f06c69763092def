"""The days-long customer hand-off: submissions, reminders, deadline and loop-back."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from harness.fake_azure import ISSUES, FakeAzure, customer_error
from harness.fake_onboarding import CUSTOMER_TENANT, FIXED_KEY_URL, KEY_URL, Onboarding, running
from harness.polling import assert_eventually
from models import ActivityName as A
from models import CustomerSetupComplete, ErrorType, Stage
from workflows import WORKFLOWS, CmkOnboardingWorkflow

SUBMIT = CmkOnboardingWorkflow.submit_customer_setup
WORKFLOW_TASK_EVENTS = {
    "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
    "EVENT_TYPE_WORKFLOW_TASK_STARTED",
    "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
}
SIGNAL = CmkOnboardingWorkflow.customer_setup_complete


async def awaiting_after_failed_attempts(onboarding: Onboarding, failed: int):  # noqa: ANN201
    async def back_to_waiting():  # noqa: ANN202
        status = await onboarding.status()
        assert status.stage == Stage.AWAITING_CUSTOMER
        assert [a.outcome for a in status.attempts] == ["customer_error"] * failed
        return status

    return await assert_eventually(back_to_waiting)


async def test_instructions_sent_and_status_while_awaiting(env: WorkflowEnvironment) -> None:
    """Awaiting the customer, status names who we wait for, the consent URL and the deadline."""
    async with running(env) as onboarding:
        status = await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        await onboarding.handle.signal(SIGNAL, CustomerSetupComplete(key_url=KEY_URL))
        await onboarding.handle.result()
    app_id = status.resources.app_id
    assert status.waiting_for == "customer"
    assert status.instructions.consent_url == (
        f"https://login.microsoftonline.com/{CUSTOMER_TENANT}/adminconsent?client_id={app_id}"
    )
    assert f"az ad sp create --id {app_id}" in status.instructions.commands
    awaiting_since = status.stage_started_at[Stage.AWAITING_CUSTOMER]
    assert status.deadline == awaiting_since + timedelta(days=14)
    assert list(status.stage_started_at) == [
        Stage.VALIDATING,
        Stage.REGISTERING_FEATURE,
        Stage.ENSURING_IDENTITY,
        Stage.AWAITING_CUSTOMER,
    ]
    assert status.resources.identity_id and status.resources.federated_credential_id
    first = onboarding.fake.notifications[0]
    assert first.kind == "instructions" and first.instructions == status.instructions


async def test_reminders_over_a_30_day_wait_then_deadline(env: WorkflowEnvironment) -> None:
    """A 30-day deadline with 2-day reminders sends 14 reminders, then fails; small history."""
    fake = FakeAzure(feature_state="NotRegistered", polls_until_registered=200)
    async with running(env, fake, customer_deadline="P30D", reminder_interval="P2D") as onboarding:
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
        status = await onboarding.status()
        events = await onboarding.event_count()
        await onboarding.record_history("deadline_after_30_days_of_reminders")
    print(f"30-day wait, 2-day reminders, 200 feature polls: {events} history events")
    reminders = [n for n in fake.notifications if n.kind == "reminder"]
    assert [n.reminder_number for n in reminders] == list(range(1, 15))
    assert all(n.instructions is not None for n in reminders)
    assert status.reminders_sent == 14
    assert fake.notifications[-1].kind == "deadline_exceeded"
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == ErrorType.CUSTOMER_DEADLINE_EXCEEDED
    assert "Contoso" in cause.message and "deadline" in cause.message
    assert events < 400


async def test_reminder_after_a_failure_carries_reason_and_fix(env: WorkflowEnvironment) -> None:
    """Reminders after a failed attempt repeat its reason and fix."""
    fake = FakeAzure()
    fake.fail_with_customer_issues(A.CREATE_ENCRYPTION_SET, "no_role")
    async with running(env, fake) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        await onboarding.handle.execute_update(SUBMIT, CustomerSetupComplete(key_url=KEY_URL))
        await awaiting_after_failed_attempts(onboarding, 1)
        await env.sleep(timedelta(days=2, hours=1))
        status = await onboarding.status()
        await onboarding.handle.signal(SIGNAL, CustomerSetupComplete(key_url=FIXED_KEY_URL))
        await onboarding.handle.result()
    assert status.reminders_sent == 1
    reminder = next(n for n in fake.notifications if n.kind == "reminder")
    assert reminder.reason == ISSUES["no_role"].message
    assert reminder.fix == ISSUES["no_role"].fix


async def test_deadline_compensates_what_the_onboarding_created(env: WorkflowEnvironment) -> None:
    """At the deadline the DES, test disk and per-customer identity and app are removed."""
    fake = FakeAzure()
    fake.fail_with_customer_issues(A.CREATE_TEST_DISK, "key_disabled")
    async with running(
        env, fake, customer_deadline="P3D", policy={"identity_mode": "isolated"}
    ) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        await onboarding.handle.execute_update(SUBMIT, CustomerSetupComplete(key_url=KEY_URL))
        await awaiting_after_failed_attempts(onboarding, 1)
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
        status = await onboarding.status()
        await onboarding.record_history("deadline_with_compensation")
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == ErrorType.CUSTOMER_DEADLINE_EXCEEDED
    resources = status.resources
    deletions = [(n, ref.id) for n, ref in fake.calls if n.startswith("delete_")]
    assert deletions[:2] == [
        (
            A.DELETE_TEST_DISK,
            resources.encryption_set_id.replace("diskEncryptionSets", "disks") + "-verify",
        ),
        (A.DELETE_ENCRYPTION_SET, resources.encryption_set_id),
    ]
    assert set(deletions[2:]) == {
        (A.DELETE_MANAGED_IDENTITY, resources.identity_id),
        (A.DELETE_APPLICATION, resources.app_object_id),
    }
    assert status.stage == Stage.FAILED


@pytest.mark.parametrize(
    ("activity", "issue"),
    [
        (A.CREATE_ENCRYPTION_SET, "no_consent"),
        (A.CREATE_ENCRYPTION_SET, "no_role"),
        (A.CREATE_TEST_DISK, "key_disabled"),
        (A.VERIFY_ENCRYPTION_SET, "wrong_region"),
    ],
)
async def test_customer_failure_loops_back_then_completes(
    env: WorkflowEnvironment, activity: A, issue: str
) -> None:
    """A customer-side failure returns to awaiting with reason and fix; a fixed key completes."""
    fake = FakeAzure()
    fake.fail_with_customer_issues(activity, issue)
    async with running(env, fake) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        await onboarding.handle.execute_update(SUBMIT, CustomerSetupComplete(key_url=KEY_URL))
        status = await awaiting_after_failed_attempts(onboarding, 1)
        await onboarding.handle.signal(SIGNAL, CustomerSetupComplete(key_url=FIXED_KEY_URL))
        result = await onboarding.handle.result()
        await onboarding.record_history(f"loop_back_{issue}")
    expected = ISSUES[issue]
    failed = status.attempts[0]
    assert (failed.code, failed.reason, failed.fix) == (
        expected.code,
        expected.message,
        expected.fix,
    )
    assert expected.code in status.last_failure
    notice = next(n for n in fake.notifications if n.kind == "attempt_failed")
    assert (notice.reason, notice.fix) == (expected.message, expected.fix)
    assert result.attempts == 2 and result.resources.key_url == FIXED_KEY_URL
    assert [s.key_url for s in fake.inputs(A.CREATE_ENCRYPTION_SET)] == [KEY_URL, FIXED_KEY_URL]


async def test_key_sent_while_the_failure_notice_is_delivered_is_the_next_attempt(
    env: WorkflowEnvironment,
) -> None:
    """Status says "awaiting customer" as soon as an attempt fails; a key sent while the failure
    notice is still on its way starts the next attempt instead of being refused as a duplicate."""
    fake = FakeAzure(blocked={A.NOTIFY_CUSTOMER})
    fake.fail_with_customer_issues(A.CREATE_TEST_DISK, "key_disabled")
    async with running(env, fake, key_url=KEY_URL) as onboarding:
        await awaiting_after_failed_attempts(onboarding, 1)

        async def notice_in_flight() -> None:
            assert A.NOTIFY_CUSTOMER in fake.names()

        await assert_eventually(notice_in_flight)
        attempt = await onboarding.handle.execute_update(
            SUBMIT, CustomerSetupComplete(key_url=FIXED_KEY_URL)
        )
        assert attempt.number == 2
        fake.blocked.discard(A.NOTIFY_CUSTOMER)
        result = await onboarding.handle.result()
        await onboarding.record_history("next_attempt_during_failure_notice")
    assert result.attempts == 2 and result.resources.key_url == FIXED_KEY_URL


@pytest.mark.parametrize(
    "activity", [A.CREATE_ENCRYPTION_SET, A.VERIFY_ENCRYPTION_SET, A.CREATE_TEST_DISK]
)
async def test_status_keeps_the_encryption_set_after_a_customer_failure(
    env: WorkflowEnvironment, activity: A
) -> None:
    """An encryption set Azure accepted stays in status while the customer fixes their side."""
    fake = FakeAzure()
    des_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/d"
    if activity == A.CREATE_ENCRYPTION_SET:
        # The PUT was accepted and the create failed on the key: the activity names the DES.
        issue = ISSUES["no_role"].model_copy(update={"resource_id": des_id})
        fake.errors[activity].append(customer_error(issue))
    else:
        fake.fail_with_customer_issues(activity, "no_role")
    async with running(env, fake, key_url=KEY_URL) as onboarding:
        status = await awaiting_after_failed_attempts(onboarding, 1)
        await onboarding.handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await onboarding.handle.result()
    expected = des_id if activity == A.CREATE_ENCRYPTION_SET else onboarding.request["des_name"]
    assert status.resources.encryption_set_id, status.resources
    assert status.resources.encryption_set_id.endswith(expected)


async def test_attempts_exhausted_lists_every_reason(env: WorkflowEnvironment) -> None:
    """After max_customer_attempts customer failures the workflow fails listing each reason."""
    fake = FakeAzure()
    fake.fail_with_customer_issues(A.CREATE_ENCRYPTION_SET, "no_consent", "no_role")
    async with running(env, fake, key_url=KEY_URL, max_customer_attempts=2) as onboarding:
        await awaiting_after_failed_attempts(onboarding, 1)
        await onboarding.handle.signal(SIGNAL, CustomerSetupComplete(key_url=FIXED_KEY_URL))
        with pytest.raises(WorkflowFailureError) as failure:
            await onboarding.handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == ErrorType.CUSTOMER_ATTEMPTS_EXHAUSTED
    assert ISSUES["no_consent"].code in cause.message and ISSUES["no_role"].code in cause.message
    assert [a["key_url"] for a in cause.details[0]] == [KEY_URL, FIXED_KEY_URL]
    assert A.DELETE_ENCRYPTION_SET in fake.names()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"key_url": "http://contoso-kv.vault.azure.net/keys/cmk"}, "must use https"),
        ({"key_url": "https://contoso.example.com/keys/cmk"}, "not a Key Vault or Managed HSM"),
        ({"key_url": "https://contoso-kv.vault.azure.net/secrets/x"}, "is not /keys/<name>"),
        (
            {"key_url": "https://contoso-kv.vault.azure.net/keys/cmk"},
            "has no key version; Azure requires the full versioned key identifier (also with "
            "automatic rotation to the latest version). Copy it from `az keyvault key show "
            "--vault-name contoso-kv --name cmk --query key.kid -o tsv`",
        ),
        (
            {"key_url": KEY_URL, "customer_tenant_id": "00000000-0000-0000-0000-000000000001"},
            "does not match",
        ),
        ({"keyurl": KEY_URL}, "malformed"),
    ],
)
async def test_update_validator_rejects_bad_submissions(
    env: WorkflowEnvironment, body: dict[str, str], reason: str
) -> None:
    """The update validator rejects with a clear reason and writes nothing to history."""
    async with running(env) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        before = await onboarding.wait_until_parked()
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await onboarding.handle.execute_update(SUBMIT, body)
        assert reason in str(rejected.value.cause)
        # The test server cannot drop the workflow task as a real server does, but no update
        # event and no command may come from a rejected update.
        added = (await onboarding.handle.fetch_history()).events[before:]
        assert {EventType.Name(e.event_type) for e in added} <= WORKFLOW_TASK_EVENTS
        accepted = await onboarding.handle.execute_update(
            SUBMIT, {"key_url": KEY_URL, "customer_tenant_id": CUSTOMER_TENANT.upper()}
        )
        await onboarding.handle.result()
    assert (accepted.number, accepted.key_url, accepted.outcome) == (1, KEY_URL, "pending")


async def test_rejected_update_is_non_retryable(env: WorkflowEnvironment) -> None:
    """A refused submission fails non-retryable (SubmissionRejected): resending cannot help."""
    async with running(env) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await onboarding.handle.execute_update(SUBMIT, {"key_url": "https://evil.example.com"})
        await onboarding.handle.signal(SIGNAL, CustomerSetupComplete(key_url=KEY_URL))
        await onboarding.handle.result()
    cause = rejected.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == ErrorType.SUBMISSION_REJECTED
    assert cause.non_retryable
    assert "not a Key Vault or Managed HSM host" in cause.message


async def test_update_rejected_outside_awaiting_stage(env: WorkflowEnvironment) -> None:
    """Submissions before the hand-off or while an attempt runs are rejected, naming why."""
    fake = FakeAzure(blocked={A.ENSURE_APPLICATION})
    async with running(env, fake) as onboarding:
        await onboarding.wait_for_stage(Stage.ENSURING_IDENTITY)
        with pytest.raises(WorkflowUpdateFailedError) as early:
            await onboarding.handle.execute_update(SUBMIT, CustomerSetupComplete(key_url=KEY_URL))
        await onboarding.handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await onboarding.handle.result()
    assert "stage 'ensuring-identity'" in str(early.value.cause)

    fake = FakeAzure(blocked={A.CREATE_ENCRYPTION_SET})
    async with running(env, fake, key_url=KEY_URL) as onboarding:
        await onboarding.wait_for_stage(Stage.CREATING_ENCRYPTION_SET)
        with pytest.raises(WorkflowUpdateFailedError) as busy:
            await onboarding.handle.execute_update(SUBMIT, CustomerSetupComplete(key_url=KEY_URL))
        await onboarding.handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await onboarding.handle.result()
    assert "attempt 1 is already being processed" in str(busy.value.cause)


async def test_invalid_signal_is_recorded_and_waiting_continues(env: WorkflowEnvironment) -> None:
    """A bad signal shows up in status as a rejected submission; a good one then proceeds."""
    async with running(env) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        await onboarding.handle.signal(SIGNAL, {"key_url": "https://evil.example.com/keys/k"})
        status = await onboarding.status()
        await onboarding.handle.signal(SIGNAL, {"key_url": KEY_URL})
        result = await onboarding.handle.result()
    assert status.stage == Stage.AWAITING_CUSTOMER and status.attempts == []
    rejected = status.rejected_submissions[0]
    assert rejected.key_url == "https://evil.example.com/keys/k"
    assert "not a Key Vault or Managed HSM host" in rejected.reason
    assert result.attempts == 1


async def test_signal_then_update_first_submission_wins(env: WorkflowEnvironment) -> None:
    """Once a signal is accepted, an update for the same wait is rejected as already processing."""
    fake = FakeAzure(blocked={A.CREATE_ENCRYPTION_SET})
    async with running(env, fake) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        await onboarding.handle.signal(SIGNAL, CustomerSetupComplete(key_url=KEY_URL))
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await onboarding.handle.execute_update(
                SUBMIT, CustomerSetupComplete(key_url=FIXED_KEY_URL)
            )
        status = await onboarding.status()
        await onboarding.handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await onboarding.handle.result()
    assert "already being processed" in str(rejected.value.cause)
    assert [a.key_url for a in status.attempts] == [KEY_URL]


@pytest.mark.parametrize("race", range(5))
async def test_concurrent_signal_and_update_accept_exactly_one(
    dev_env: WorkflowEnvironment, race: int
) -> None:
    """A signal and an update sent together: exactly one becomes the attempt, and the history of
    the race replays (the handlers run in the order the server recorded)."""
    async with running(dev_env) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        signal_sent, update_outcome = await asyncio.gather(
            onboarding.handle.signal(SIGNAL, CustomerSetupComplete(key_url=KEY_URL)),
            onboarding.handle.execute_update(SUBMIT, CustomerSetupComplete(key_url=FIXED_KEY_URL)),
            return_exceptions=True,
        )
        assert signal_sent is None
        result = await onboarding.handle.result()
        status = await onboarding.status()
        history = await onboarding.handle.fetch_history()
        await onboarding.record_history("signal_update_race")
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    replay = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert replay.replay_failure is None
    assert result.attempts == 1
    if isinstance(update_outcome, BaseException):
        assert isinstance(update_outcome, WorkflowUpdateFailedError)
        assert result.resources.key_url == KEY_URL
    else:
        assert result.resources.key_url == FIXED_KEY_URL
        assert status.rejected_submissions[0].key_url == KEY_URL
