"""The per-customer cross-tenant CMK onboarding workflow (deterministic orchestration only)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    is_cancelled_exception,
)
from temporalio.exceptions import (
    TimeoutError as TemporalTimeoutError,
)

with workflow.unsafe.imports_passed_through():
    # `import workflows.x as x`, not `from workflows import x`: the sandbox passes a module through
    # only when it is imported by its full name; the `from` form re-imported it in every run.
    import workflows.failures as failures
    import workflows.guards as guards
    import workflows.plan as plan
    import workflows.steps as steps
    from models import (
        DEFAULT_POLICY,
        QUERY_STATUS,
        SIGNAL_CUSTOMER_SETUP_COMPLETE,
        UPDATE_SUBMIT_CUSTOMER_SETUP,
        WORKFLOW_TYPE,
        ActivityName,
        ApplicationRef,
        Attempt,
        CustomerNotification,
        CustomerSetupComplete,
        CustomerSetupIssue,
        EncryptionSetRef,
        ErrorType,
        FeatureRef,
        FeatureState,
        FederatedCredentialRef,
        KeyVaultTenantCheck,
        ManagedIdentityRef,
        OnboardingRequest,
        OnboardingResult,
        OnboardingStatus,
        OperatorAttention,
        ProviderRef,
        RejectedSubmission,
        RequestInvalid,
        ResourceIds,
        Stage,
        TestDiskRef,
        apply_worker_policy,
        parse_request,
        search_attributes,
    )
    from workflows.compensation import Leftovers, compensate
    from workflows.instructions import build_instructions, current_details
    from workflows.submissions import SubmissionRejected, parse_submission
    from workflows.watch_start import (
        PATCH_START_KEY_HEALTH_WATCH,
        deployment_of,
        start_key_health_watch,
    )

# Workflows started before this patch poll the feature with get/register/wait/provider activities.
PATCH_ONE_FEATURE_ACTIVITY = "one-feature-registration-activity"
# Workflows started before these patches trusted the request's policy and any vault's tenant.
PATCH_WORKER_POLICY = "policy-from-worker"
PATCH_KEY_VAULT_TENANT = "key-vault-tenant-check"
# Workflows started before this patch accepted a key URL without a version (DiskRP requires one)
# and a zone-redundant disk SKU in a region without availability zones.
PATCH_FIDELITY_CHECKS = "azure-fidelity-checks"
# Workflows started before this patch failed on an unrecognized Azure rejection or a federated
# credential that never matched; now the attempt goes back to waiting and the operator is flagged.
PATCH_OPERATOR_ATTENTION = "operator-attention"
PATCH_REFUSE_COMPLETED_ID = "refuse-id-of-completed-onboarding"
# Workflows started before this patch waited for an in-flight notification's cancellation.
PATCH_NOTIFY_ABANDONED_ON_CANCEL = "notify-abandoned-on-cancel"
# Workflows started before this patch refused a submission sent while the failure notice of the
# previous attempt was still being delivered, though status already said "awaiting customer".
PATCH_ACCEPT_DURING_FAILURE_NOTICE = "accept-submission-during-failure-notice"
# Signalled submissions kept in status; older ones are only counted.
MAX_REJECTED_SUBMISSIONS = 20

WaitingFor = Literal["isv", "customer", "azure", "nobody"]
NotificationKind = Literal[
    "instructions", "reminder", "attempt_failed", "deadline_exceeded", "completed"
]


@workflow.defn(name=WORKFLOW_TYPE)
class CmkOnboardingWorkflow:
    """Onboards one customer: ISV identity, customer hand-off, encryption set, verification.

    Submissions (signal or update) share one path: the first valid one while awaiting the customer
    becomes the next attempt; any other is refused until that attempt fails back to waiting.
    """

    @workflow.init
    def __init__(self, request: Any = None, *more: Any) -> None:
        # The defaults and *more let a start with no or several inputs (`temporal workflow start`
        # takes any number of --input) reach run()'s validation instead of a TypeError that fails
        # the workflow task and is retried forever.
        raw = request if isinstance(request, dict) else {}
        self._workflow_id = workflow.info().workflow_id
        self._request: OnboardingRequest | None = None
        self._status = OnboardingStatus(
            workflow_id=self._workflow_id,
            customer_tenant_id=str(raw.get("customer_tenant_id", "")).lower(),
            customer_name=str(raw.get("customer_name", "")),
            stage=Stage.VALIDATING,
            stage_started_at={Stage.VALIDATING: workflow.now()},
            waiting_for="isv",
            resources=ResourceIds(),
        )
        self._pending: Attempt | None = None
        self._processing: Attempt | None = None
        self._deadline_at: datetime | None = None
        self._next_reminder_at: datetime | None = None
        self._leftovers = Leftovers()
        self._deadline_passed = False
        self._cleanup_problems: list[str] = []
        self._unsent_attributes: list[SearchAttributeUpdate[Any]] = []
        # Decided once, here: the signal and update handlers may run before run() does.
        self._fidelity_checks = workflow.patched(PATCH_FIDELITY_CHECKS)

    # --- messages ---------------------------------------------------------------------------

    @workflow.query(name=QUERY_STATUS)
    def status(self) -> OnboardingStatus:
        return self._status

    @workflow.signal(name=SIGNAL_CUSTOMER_SETUP_COMPLETE)
    def customer_setup_complete(self, body: Any) -> None:
        """Fire-and-forget submission: an unusable one is recorded in status, not raised."""
        try:
            submission = self._check_submission(body)
        except SubmissionRejected as rejected:
            key_url = body.get("key_url") if isinstance(body, dict) else None
            rejected_list = self._status.rejected_submissions
            rejected_list.append(
                RejectedSubmission(
                    received_at=workflow.now(),
                    # Capped: a flood of huge bodies must not grow the status without bound.
                    key_url=key_url[:600] if isinstance(key_url, str) else None,
                    reason=str(rejected),
                )
            )
            if len(rejected_list) > MAX_REJECTED_SUBMISSIONS:
                dropped = len(rejected_list) - MAX_REJECTED_SUBMISSIONS
                del rejected_list[:dropped]
                self._status.rejected_submissions_dropped += dropped
            workflow.logger.warning("Rejected customer_setup_complete signal: %s", rejected)
            self._refresh_details()
            return
        self._accept(submission)

    @workflow.update(name=UPDATE_SUBMIT_CUSTOMER_SETUP)
    def submit_customer_setup(self, body: Any) -> Attempt:
        """Validated submission: returns the accepted attempt, whose outcome `status` reports."""
        try:
            return self._accept(self._check_submission(body))
        except SubmissionRejected as rejected:
            # Only reachable if a signal in the same activation won the race after validation.
            raise _rejection(rejected) from None

    @submit_customer_setup.validator
    def _validate_submission(self, body: Any) -> None:
        try:
            self._check_submission(body)
        except SubmissionRejected as rejected:
            raise _rejection(rejected) from None

    def _check_submission(self, body: Any) -> CustomerSetupComplete:
        busy = self._pending or self._processing
        return parse_submission(
            body,
            customer_tenant_id=self._status.customer_tenant_id,
            # Past the deadline nothing is accepted, even while the last notification goes out.
            stage=Stage.COMPENSATING if self._deadline_passed else self._status.stage,
            busy_with_attempt=busy.number if busy else None,
            policy=self._request.policy if self._request else DEFAULT_POLICY,
            require_key_version=self._fidelity_checks,
        )

    def _accept(self, submission: CustomerSetupComplete) -> Attempt:
        attempt = Attempt(
            number=len(self._status.attempts) + 1,
            key_url=submission.key_url,
            submitted_at=workflow.now(),
        )
        self._status.attempts.append(attempt)
        self._pending = attempt
        self._refresh_details()
        return attempt

    # --- main flow --------------------------------------------------------------------------

    @workflow.run
    async def run(self, request: Any = None, *more: Any) -> OnboardingResult:
        try:
            if more:
                raise RequestInvalid(
                    [("request", f"must be one JSON object, not {1 + len(more)} arguments")]
                )
            checks = self._fidelity_checks
            parsed = parse_request(request, fidelity_checks=checks)
            if workflow.patched(PATCH_WORKER_POLICY):
                # The worker's policy is the limit; the request may only narrow it.
                parsed = apply_worker_policy(
                    parsed, await guards.load_policy(), fidelity_checks=checks
                )
            self._request = parsed
        except RequestInvalid as invalid:
            self._status.last_failure = str(invalid)
            self._set_stage(Stage.FAILED, "nobody")
            raise ApplicationError(
                str(invalid),
                {"problems": invalid.problems},
                type=ErrorType.INVALID_REQUEST,
                non_retryable=True,
            ) from None
        self._status.customer_tenant_id = self._request.customer_tenant_id
        self._status.customer_name = self._request.customer_name
        # Sent with the first stage change: one history event instead of two.
        self._unsent_attributes = [
            search_attributes.CUSTOMER_TENANT_ID.value_set(self._request.customer_tenant_id),
            search_attributes.CUSTOMER_NAME.value_set(self._request.customer_name),
        ]
        self._refresh_details()
        if workflow.patched(PATCH_REFUSE_COMPLETED_ID):
            await self._refuse_if_completed_before()
        try:
            result = await self._onboard(self._request)
        except (asyncio.CancelledError, Exception) as error:
            await self._end_after_failure(error)
            raise  # _end_after_failure always raises; this satisfies the type checker
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    async def _refuse_if_completed_before(self) -> None:
        """A new run with a completed onboarding's id (the CLI refuses to start one, `temporal
        workflow start` may not) ends here, before any notification or Azure write."""
        earlier = await guards.earlier_completed_run(self._workflow_id)
        if earlier is None:
            return
        message = (
            f"onboarding {self._workflow_id} already completed (run {earlier}); nothing was "
            f"sent or changed: see `starter.py status -w {self._workflow_id}`"
        )
        self._status.last_failure = message
        self._set_stage(Stage.FAILED, "nobody")
        raise ApplicationError(message, type=ErrorType.ALREADY_COMPLETED, non_retryable=True)

    async def _onboard(self, request: OnboardingRequest) -> OnboardingResult:
        feature_state, provider_registration = await self._register_feature(request)
        self._status.feature_state = feature_state
        self._checkpoint()
        # The provider re-registration only has to finish before the encryption set is created.
        (app, identity, fic), _ = await _gather(
            self._ensure_identity(request), provider_registration
        )
        self._checkpoint()
        encryption_set, disk = await self._hand_off(request, app, identity)
        resources = self._status.resources
        resources.test_disk_id = disk.id
        if self._status.operator_attention is not None:
            self._status.operator_attention = None
            self._unsent_attributes.append(search_attributes.NEEDS_OPERATOR.value_unset())
        self._set_stage(Stage.COMPLETED, "nobody")
        if request.key_health.enabled and workflow.patched(PATCH_START_KEY_HEALTH_WATCH):
            deployment = deployment_of(request, self._workflow_id, resources, app, identity)
            await start_key_health_watch(deployment, request.key_health)
        await self._notify("completed")
        created = [
            r
            for r, new in (
                (app.object_id, app.created),
                (identity.id, identity.created),
                (fic.id, fic.created),
            )
            if new
        ]
        reused = [r for r in (app.object_id, identity.id, fic.id) if r not in created]
        return OnboardingResult(
            workflow_id=self._workflow_id,
            customer_tenant_id=request.customer_tenant_id,
            feature_state=feature_state,
            resources=resources.model_copy(),
            created=(*created, encryption_set.id),
            reused=tuple(reused),
            attempts=len(self._status.attempts),
        )

    async def _register_feature(
        self, request: OnboardingRequest
    ) -> tuple[str, Coroutine[Any, Any, object]]:
        """The feature's state, and the provider re-registration still to run (if any)."""
        if not request.policy.register_preview_feature:
            return "Skipped", _nothing()
        self._set_stage(Stage.REGISTERING_FEATURE, "azure")
        feature = FeatureRef(subscription_id=request.subscription_id)
        timeout = request.feature_registration_timeout
        if workflow.patched(PATCH_ONE_FEATURE_ACTIVITY):
            # One activity instead of up to four: the registration path's history stays small.
            state = await _within_registration_timeout(
                request, steps.ensure_feature_registered(feature, timeout)
            )
            return state.state, _nothing()
        state = await steps.get_feature(feature)
        if state.state == "Registered":
            return state.state, _nothing()
        await steps.register_feature(feature)
        state = await _within_registration_timeout(
            request, steps.wait_feature_registered(feature, timeout)
        )
        return state.state, steps.register_provider(
            ProviderRef(subscription_id=request.subscription_id)
        )

    async def _ensure_identity(
        self, request: OnboardingRequest
    ) -> tuple[ApplicationRef, ManagedIdentityRef, FederatedCredentialRef]:
        self._set_stage(Stage.ENSURING_IDENTITY, "azure")
        self._leftovers.identity = True

        async def ensure_application() -> ApplicationRef:
            # Recorded as soon as it exists: compensation needs it even if the identity fails.
            app = await steps.ensure_application(plan.application_spec(request))
            self._leftovers.app_object_id = app.object_id
            self._status.resources.app_id, self._status.resources.app_object_id = (
                app.app_id,
                app.object_id,
            )
            return app

        app, identity = await _gather(
            ensure_application(),
            steps.ensure_managed_identity(plan.managed_identity_spec(request, self._workflow_id)),
        )
        resources = self._status.resources
        resources.identity_id = identity.id
        resources.identity_principal_id = identity.principal_id
        resources.identity_client_id = identity.client_id
        fic = await steps.ensure_federated_credential(
            plan.federated_credential_spec(request, app, identity)
        )
        resources.federated_credential_id = fic.id
        return app, identity, fic

    async def _hand_off(
        self, request: OnboardingRequest, app: ApplicationRef, identity: ManagedIdentityRef
    ) -> tuple[EncryptionSetRef, TestDiskRef]:
        """Wait for the customer, then provision; customer-side failures loop back here."""
        now = workflow.now()
        self._deadline_at = now + request.customer_deadline
        self._next_reminder_at = now + request.reminder_interval
        self._status.deadline = self._deadline_at
        self._status.instructions = build_instructions(
            request, self._workflow_id, app.app_id, asked_at=now
        )
        self._set_stage(Stage.AWAITING_CUSTOMER, "customer")
        if request.key_url is not None:
            self._accept(CustomerSetupComplete(key_url=request.key_url))
        else:
            await self._notify("instructions")
        while True:
            attempt = await self._wait_for_submission(request)
            self._processing, self._pending = attempt, None
            try:
                return await self._provision(request, app, identity, attempt)
            except ActivityError as error:
                issue = failures.customer_issue(error)
                if issue is not None:
                    if issue.resource_id is not None:
                        self._status.resources.encryption_set_id = issue.resource_id
                    await self._attempt_failed(request, attempt, issue)
                    continue
                flagged = failures.operator_issue(error)
                if flagged is None or not workflow.patched(PATCH_OPERATOR_ATTENTION):
                    raise
                await self._needs_operator(request, attempt, flagged)
            finally:
                self._processing = None

    async def _wait_for_submission(self, request: OnboardingRequest) -> Attempt:
        assert self._deadline_at is not None and self._next_reminder_at is not None
        while self._pending is None:
            now = workflow.now()
            if now >= self._deadline_at:
                await self._deadline_exceeded(request)
            wake_at = min(self._next_reminder_at, self._deadline_at)
            next_event = "deadline" if wake_at == self._deadline_at else "next reminder"
            try:
                await workflow.wait_condition(
                    lambda: self._pending is not None,
                    timeout=wake_at - now,
                    timeout_summary=(
                        f"Await customer setup ({next_event} at {wake_at:%Y-%m-%d %H:%M} UTC)"
                    ),
                )
            except TimeoutError:
                now = workflow.now()
                if (
                    self._pending is None
                    and self._next_reminder_at <= now < self._deadline_at
                    and self._status.waiting_for != "isv"  # the customer has nothing to do
                ):
                    self._status.reminders_sent += 1
                    self._next_reminder_at += request.reminder_interval
                    await self._notify("reminder", reminder_number=self._status.reminders_sent)
        return self._pending

    async def _provision(
        self,
        request: OnboardingRequest,
        app: ApplicationRef,
        identity: ManagedIdentityRef,
        attempt: Attempt,
    ) -> tuple[EncryptionSetRef, TestDiskRef]:
        self._set_stage(Stage.CREATING_ENCRYPTION_SET, "azure")
        spec = plan.encryption_set_spec(request, self._workflow_id, app, identity, attempt.key_url)
        if workflow.patched(PATCH_KEY_VAULT_TENANT):
            # Another tenant's vault goes back to the customer before anything is written.
            await guards.check_key_vault_tenant(
                KeyVaultTenantCheck(
                    key_url=attempt.key_url, customer_tenant_id=request.customer_tenant_id
                )
            )
        self._leftovers.encryption_set = True
        encryption_set = await steps.create_encryption_set(spec, attempt.number)
        self._status.resources.encryption_set_id = encryption_set.id
        self._checkpoint()
        self._set_stage(Stage.VERIFYING, "azure")
        self._leftovers.test_disk = True
        # Both only read the finished encryption set, so they can run side by side.
        verified, disk = await _gather(
            steps.verify_encryption_set(spec),
            steps.create_test_disk(plan.test_disk_spec(request, encryption_set)),
        )
        self._checkpoint()
        if problems := plan.verification_problems(spec, verified, disk):
            raise failures.verification_failed(problems)
        await steps.delete(ActivityName.DELETE_TEST_DISK, disk.id, f"test disk {disk.id}")
        self._leftovers.test_disk = False
        self._status.resources.key_url = attempt.key_url
        self._set_attempt(attempt.model_copy(update={"outcome": "succeeded"}))
        return encryption_set, disk

    async def _attempt_failed(
        self, request: OnboardingRequest, attempt: Attempt, issue: CustomerSetupIssue
    ) -> None:
        self._set_attempt(
            attempt.model_copy(
                update={
                    "outcome": "customer_error",
                    "code": issue.code,
                    "reason": issue.message,
                    "fix": issue.fix,
                }
            )
        )
        self._status.last_failure = f"attempt {attempt.number}: {issue.code}: {issue.message}"
        workflow.logger.info("Customer setup attempt %d failed: %s", attempt.number, issue.code)
        if self._customer_attempts() >= request.max_customer_attempts:
            raise failures.attempts_exhausted(request, self._status.attempts)
        self._back_to_waiting()
        self._set_stage(Stage.AWAITING_CUSTOMER, "customer")
        self._next_reminder_at = workflow.now() + request.reminder_interval
        await self._notify("attempt_failed", reason=issue.message, fix=issue.fix)

    def _back_to_waiting(self) -> None:
        """The attempt is over once status says so: a submission sent while its failure notice
        is still being delivered is the next attempt, not a duplicate of this one."""
        if workflow.patched(PATCH_ACCEPT_DURING_FAILURE_NOTICE):
            self._processing = None

    def _customer_attempts(self) -> int:
        """Attempts that count against max_customer_attempts: not those the ISV side ended."""
        return sum(1 for a in self._status.attempts if a.outcome != "isv_error")

    async def _needs_operator(
        self, request: OnboardingRequest, attempt: Attempt, issue: failures.OperatorIssue
    ) -> None:
        """Back to waiting with the operator flagged, instead of failing or retrying blindly."""
        outcome = "azure_rejected" if issue.customer_told else "isv_error"
        fix = (
            "Azure refused with an error this service does not recognize; the ISV operator has "
            "been told. If the message names something in your tenant, fix it and send the key "
            "URL again; otherwise wait for the ISV."
            if issue.customer_told
            else "Nothing for the customer to do: the ISV operator must fix the ISV side and then "
            "send the key URL again (starter.py complete)."
        )
        self._set_attempt(
            attempt.model_copy(
                update={"outcome": outcome, "code": issue.code, "reason": issue.message, "fix": fix}
            )
        )
        self._status.operator_attention = OperatorAttention(
            code=issue.code,
            message=issue.message,
            at=workflow.now(),
            attempt=attempt.number,
            operation=issue.operation,
            request_id=issue.request_id,
        )
        self._status.last_failure = f"attempt {attempt.number}: {issue.code}: {issue.message}"
        workflow.logger.warning("Attempt %d needs the ISV operator: %s", attempt.number, issue.code)
        if self._customer_attempts() >= request.max_customer_attempts:
            raise failures.attempts_exhausted(request, self._status.attempts)
        self._unsent_attributes.append(search_attributes.NEEDS_OPERATOR.value_set(issue.code))
        self._back_to_waiting()
        self._set_stage(Stage.AWAITING_CUSTOMER, "customer" if issue.customer_told else "isv")
        self._next_reminder_at = workflow.now() + request.reminder_interval
        if issue.customer_told:
            await self._notify("attempt_failed", reason=issue.message, fix=fix)

    async def _deadline_exceeded(self, request: OnboardingRequest) -> None:
        assert self._deadline_at is not None
        self._deadline_passed = True
        await self._notify("deadline_exceeded")
        raise failures.deadline_exceeded(request, self._deadline_at)

    # --- failure, cancellation and compensation ---------------------------------------------

    def _checkpoint(self) -> None:
        """A create that finished despite a cancel request swallows it; honour it here."""
        if workflow.cancellation_reason() is not None:
            raise asyncio.CancelledError("workflow cancellation requested")

    async def _end_after_failure(self, error: BaseException) -> None:
        cancelled = is_cancelled_exception(error)
        failure = None if cancelled else failures.as_workflow_failure(error, self._status.stage)
        if failure is not None:
            self._status.last_failure = failure.message
        cancelled_during_cleanup = False
        compensation = asyncio.ensure_future(self._compensate())
        try:
            # Shielded: a cancel arriving now must not cut the cleanup short.
            await asyncio.shield(compensation)
        except asyncio.CancelledError:
            cancelled_during_cleanup = True
            await compensation
        cancelled = cancelled or cancelled_during_cleanup
        self._set_stage(Stage.CANCELLED if cancelled else Stage.FAILED, "nobody")
        await workflow.wait_condition(workflow.all_handlers_finished)
        if failure is None or cancelled:
            raise asyncio.CancelledError("onboarding cancelled after compensation")
        raise failures.with_cleanup_problems(failure, self._cleanup_problems)

    async def _compensate(self) -> None:
        assert self._request is not None
        self._set_stage(Stage.COMPENSATING, "azure")
        self._cleanup_problems = await compensate(self._request, self._leftovers)

    # --- status -----------------------------------------------------------------------------

    def _set_stage(self, stage: Stage, waiting_for: WaitingFor) -> None:
        self._status.stage = stage
        self._status.stage_started_at[stage] = workflow.now()
        self._status.waiting_for = waiting_for
        workflow.upsert_search_attributes(
            [*self._unsent_attributes, search_attributes.STAGE.value_set(stage)]
        )
        self._unsent_attributes = []
        self._refresh_details()

    def _set_attempt(self, attempt: Attempt) -> None:
        self._status.attempts[attempt.number - 1] = attempt
        self._refresh_details()

    def _refresh_details(self) -> None:
        request = self._request
        interval = request.reminder_interval if request else None
        workflow.set_current_details(
            current_details(self._status, reminder_interval=interval, request=request)
        )

    async def _notify(self, kind: NotificationKind, **extra: Any) -> None:
        """Best effort: the status query and UI still show everything if a channel is down."""
        request = self._request
        assert request is not None
        failed = [a for a in self._status.attempts if a.outcome == "customer_error"]
        if failed and kind == "reminder":
            last = failed[-1]
            extra |= {"reason": last.reason, "fix": last.fix}
        notification = CustomerNotification(
            kind=kind,
            workflow_id=self._workflow_id,
            customer_tenant_id=request.customer_tenant_id,
            customer_name=request.customer_name,
            instructions=self._status.instructions,
            **extra,
        )
        try:
            receipt = await steps.notify(
                notification, abandon_on_cancel=workflow.patched(PATCH_NOTIFY_ABANDONED_ON_CANCEL)
            )
        except ActivityError as error:
            if is_cancelled_exception(error):
                raise  # the onboarding's own cancellation, not a channel failure: never swallow it
            cause = error.cause or error
            workflow.logger.warning("Customer notification %s failed: %s", kind, cause)
            return
        if receipt is not None and receipt.setup_page_link:
            self._status.setup_page_link_sent = True
            self._refresh_details()


def _rejection(rejected: SubmissionRejected) -> ApplicationError:
    """A refused submission: the same body would be refused again, so the failure says so.

    A plain exception from a validator reaches the caller as a retryable ValueError.
    """
    return ApplicationError(str(rejected), type=ErrorType.SUBMISSION_REJECTED, non_retryable=True)


async def _nothing() -> None:
    return None


async def _within_registration_timeout(
    request: OnboardingRequest, polling: Coroutine[Any, Any, FeatureState]
) -> FeatureState:
    """The polled feature state; running out of time is the onboarding's failure, named so."""
    try:
        return await polling
    except ActivityError as error:
        # Out of time between polls the last NotReadyYet surfaces with retry state TIMEOUT.
        timed_out = error.retry_state == RetryState.TIMEOUT
        if not (timed_out or isinstance(error.cause, TemporalTimeoutError)):
            raise
        raise failures.feature_registration_timeout(request) from None


async def _gather(*calls: Any) -> Any:
    """Run activity calls together and wait for all of them before surfacing the first failure."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
