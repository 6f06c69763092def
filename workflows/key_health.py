"""The key-health watch: one long-running workflow per completed onboarding (continue-as-new).

Why a workflow and not a Temporal Schedule: a finding is only news when it changes (notify once,
clear once), so the watch keeps state between checks; a Schedule would start 24 short workflows
per customer per day and keep that state elsewhere. The watch also serialises the key change
(update `change_key`) with its own checks, so a probe never races a DES update.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    # `import workflows.x as x`, not `from workflows import x`: the sandbox passes a module through
    # only when it is imported by its full name; the `from` form re-imported it in every run.
    import workflows.health_rules as health_rules
    import workflows.lifecycle_calls as lifecycle_calls
    from models import (
        EncryptionSetSpec,
        ErrorType,
        TestDiskSpec,
        key_url_problem,
        search_attributes,
    )
    from models.lifecycle import (
        QUERY_HEALTH,
        SIGNAL_CHECK_NOW,
        SIGNAL_STOP_WATCH,
        UPDATE_CHANGE_KEY,
        WATCH_WORKFLOW_TYPE,
        Deployment,
        Finding,
        Health,
        KeyChange,
        KeyChangeRequest,
        LifecycleNotification,
        ProbeSpec,
        WatchInput,
        WatchStatus,
    )
    from models.search_attributes import HEALTH
    from workflows.failures import customer_issue
    from workflows.plan import onboarding_tags, verification_problems

# Watches before this patch reported a deleted vault as KEY_ROLE_REMOVED (DiskRP's message is
# the same); with it, a "cannot access the vault" finding asks the vault whether it still exists.
PATCH_VAULT_GONE_CHECK = "key-health-vault-gone-check"

_HEALTH_DISK_SUFFIX = "-health"
_DISK_NAME_MAX = 80
_KEPT_KEY_CHANGES = 20


def health_disk_name(des_name: str) -> str:
    """The probe's and the key change's test disk (never both at once: the watch serialises)."""
    return des_name[: _DISK_NAME_MAX - len(_HEALTH_DISK_SUFFIX)] + _HEALTH_DISK_SUFFIX


def _encryption_set_spec(deployment: Deployment, key_url: str) -> EncryptionSetSpec:
    return EncryptionSetSpec(
        subscription_id=deployment.subscription_id,
        resource_group=deployment.resource_group,
        name=deployment.des_name,
        region=deployment.region,
        identity_id=deployment.identity_id,
        federated_client_id=deployment.federated_client_id,
        key_url=key_url,
        encryption_type=deployment.encryption_type,
        rotation_to_latest_key_version_enabled=deployment.rotation_to_latest_key_version_enabled,
        tags=onboarding_tags(deployment.onboarding_workflow_id),
    )


def _test_disk_spec(deployment: Deployment) -> TestDiskSpec:
    return TestDiskSpec(
        subscription_id=deployment.subscription_id,
        resource_group=deployment.resource_group,
        name=health_disk_name(deployment.des_name),
        region=deployment.region,
        sku=deployment.disk_sku,
        size_gb=deployment.test_disk_size_gb,
        encryption_set_id=deployment.encryption_set_id,
        encryption_type=deployment.encryption_type,
    )


def _test_disk_id(deployment: Deployment) -> str:
    return (
        f"/subscriptions/{deployment.subscription_id}/resourceGroups/{deployment.resource_group}"
        f"/providers/Microsoft.Compute/disks/{health_disk_name(deployment.des_name)}"
    )


class _KeyChangeFailed(Exception):
    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.reason, self.fix = reason, fix


@workflow.defn(name=WATCH_WORKFLOW_TYPE)
class CmkKeyHealthWatchWorkflow:
    """Checks one customer's DES every `check_interval`; probes the key every `probe_interval`."""

    @workflow.init
    def __init__(self, watch: WatchInput) -> None:
        self._deployment = watch.deployment
        self._settings = watch.settings
        self._status = watch.carried or WatchStatus(
            onboarding_workflow_id=watch.deployment.onboarding_workflow_id,
            key_url=watch.deployment.key_url,
        )
        # The onboarding just read the DES back and created a test disk with it: that was this
        # watch's first check and probe (the first read still sets the modification baseline).
        self._verified_by_onboarding = watch.carried is None and watch.verified_at is not None
        if self._verified_by_onboarding and watch.verified_at is not None:
            verified = watch.verified_at
            self._status.health, self._status.healthy_since = Health.HEALTHY, verified
            self._status.last_check_at = self._status.last_probe_at = verified
            self._status.last_probe_ok = True
        self._checks_this_run = 0
        self._check_requested = False
        self._probe_requested = False
        self._stop_reason: str | None = None
        self._queued_change: KeyChange | None = None

    # --- messages ---------------------------------------------------------------------------

    @workflow.query(name=QUERY_HEALTH)
    def health(self) -> WatchStatus:
        return self._status

    @workflow.query(name="deployment")
    def deployment(self) -> Deployment:
        return self._deployment

    @workflow.signal(name=SIGNAL_CHECK_NOW)
    def check_now(self, probe: bool = True) -> None:
        """Check at once (the fix is in, or an operator wants to know); probe unless told not to."""
        self._check_requested = True
        self._probe_requested = self._probe_requested or bool(probe)

    @workflow.signal(name=SIGNAL_STOP_WATCH)
    def stop(self, reason: str = "stopped") -> None:
        self._stop_reason = str(reason)[:200] or "stopped"

    @workflow.update(name=UPDATE_CHANGE_KEY)
    async def change_key(self, body: Any) -> KeyChange:
        """Queue the key change for the main loop and return its outcome when it is done."""
        request = self._check_key_change(body)
        change = KeyChange(
            number=len(self._status.key_changes) + 1,
            requested_at=workflow.now(),
            old_key_url=self._deployment.key_url,
            new_key_url=request.key_url,
        )
        self._queued_change = change
        self._status.key_changes.append(change)
        await workflow.wait_condition(lambda: self._change(change.number).outcome != "pending")
        return self._change(change.number)

    @change_key.validator
    def _validate_key_change(self, body: Any) -> None:
        self._check_key_change(body)

    def _check_key_change(self, body: Any) -> KeyChangeRequest:
        if self._stop_reason is not None:
            raise ApplicationError("the watch is stopping; start a new onboarding instead")
        if isinstance(body, KeyChangeRequest):
            body = body.model_dump()
        if not isinstance(body, dict) or not isinstance(body.get("key_url"), str):
            raise ApplicationError(
                'key_url: is required; send {"key_url": "https://<vault>.vault.azure.net/keys/'
                '<name>[/<version>]"}',
                type=ErrorType.INVALID_REQUEST,
            )
        request = KeyChangeRequest.model_validate(body)
        if problem := key_url_problem(request.key_url, self._deployment.policy):
            raise ApplicationError(f"key_url: {problem}", type=ErrorType.INVALID_REQUEST)
        if request.key_url.rstrip("/").lower() == self._deployment.key_url.rstrip("/").lower():
            raise ApplicationError(
                f"key_url: the encryption set already uses {self._deployment.key_url}",
                type=ErrorType.INVALID_REQUEST,
            )
        if self._queued_change is not None or any(
            c.outcome == "pending" for c in self._status.key_changes
        ):
            raise ApplicationError(
                "a key change is already in progress; wait for it (`starter.py health`)",
                type=ErrorType.INVALID_REQUEST,
            )
        return request

    def _change(self, number: int) -> KeyChange:
        return self._status.key_changes[number - 1]

    # --- main loop --------------------------------------------------------------------------

    @workflow.run
    async def run(self, watch: WatchInput) -> WatchStatus:
        self._upsert_identity_attributes()
        check = not self._verified_by_onboarding
        while True:
            if self._queued_change is not None:
                await self._run_key_change(self._queued_change)
                self._queued_change = None
                self._check_requested = True
            if check or self._check_requested:
                await self._check()
            check = True
            if self._stop_reason is not None:
                break
            if self._checks_this_run >= self._settings.checks_per_run or (
                workflow.info().is_continue_as_new_suggested()
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._queued_change is None and self._stop_reason is None:
                    workflow.continue_as_new(
                        WatchInput(
                            deployment=self._deployment,
                            settings=self._settings,
                            carried=self._status,
                        )
                    )
            next_check = self._status.last_check_at or workflow.now()
            wait = next_check + self._settings.check_interval - workflow.now()
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: (
                        self._check_requested
                        or self._stop_reason is not None
                        or self._queued_change is not None
                    ),
                    timeout=max(wait, timedelta(seconds=1)),
                    timeout_summary="Next key-health check",
                )
            if self._stop_reason is not None:
                break
        self._status.stopped_reason = self._stop_reason
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status

    def _probe_due(self) -> bool:
        if self._probe_requested:
            return True
        last = self._status.last_probe_at
        if last is None:
            return True
        since = workflow.now() - last
        if self._status.health not in (None, Health.HEALTHY):
            return since >= self._settings.unhealthy_probe_interval
        return since >= self._settings.probe_interval

    async def _check(self) -> None:
        self._check_requested = False
        deployment, status = self._deployment, self._status
        read = await self._read()
        if read is None:
            return  # Azure unreachable for this check: keep the last verdict, try next time
        if status.checks == 0 and read.found:
            status.baseline_modified_by = read.last_modified_by
            status.baseline_modified_at = read.last_modified_at
        findings = health_rules.read_findings(
            deployment, read, status.baseline_modified_by, status.baseline_modified_at
        )
        forced, due = self._probe_requested, self._probe_due()
        was_unhealthy = status.health not in (None, Health.HEALTHY)
        if not read.found:
            probe = False
        elif findings:
            # The read explains it; a probe would spend two writes to say the same.
            probe = forced or (due and health_rules.health_of(findings) != Health.BROKEN)
        elif was_unhealthy:
            # A clean read after trouble: one probe confirms the fix before it clears, unless
            # the last probe failed recently (then at most every unhealthy_probe_interval).
            probe = forced or due or status.last_probe_ok is not False
        else:
            probe = forced or due
        if probe:
            self._probe_requested = False
            result = await lifecycle_calls.probe_key(
                ProbeSpec(
                    subscription_id=deployment.subscription_id,
                    resource_group=deployment.resource_group,
                    disk_name=health_disk_name(deployment.des_name),
                    region=deployment.region,
                    sku=deployment.disk_sku,
                    size_gb=deployment.test_disk_size_gb,
                    encryption_set_id=deployment.encryption_set_id,
                    encryption_type=deployment.encryption_type,
                )
            )
            status.last_probe_at, status.last_probe_ok = workflow.now(), result.ok
            findings = health_rules.merge(findings, health_rules.probe_findings(result))
        elif read.found and not findings and was_unhealthy:
            # The last probe failed and it is too soon for another: a read cannot clear that.
            findings = [f for f in status.findings if f.code in health_rules.KEY_CHAIN_CODES]
        if health_rules.role_removed_in(findings) and workflow.patched(PATCH_VAULT_GONE_CHECK):
            exists = await lifecycle_calls.vault_exists(
                status.key_url or deployment.key_url, deployment.customer_tenant_id
            )
            if exists is False:
                findings = health_rules.vault_gone_instead(findings)
        status.checks += 1
        self._checks_this_run += 1
        status.last_check_at = workflow.now()
        status.last_key_rotation_at = read.last_key_rotation_at or status.last_key_rotation_at
        if read.found and read.key_url:
            status.key_url = read.key_url
        await self._record(findings)

    async def _read(self) -> Any:
        try:
            return await lifecycle_calls.read_encryption_set(self._deployment.encryption_set_id)
        except ActivityError as error:
            workflow.logger.warning("Key-health read failed: %s", error.cause or error)
            return None

    async def _record(self, findings: list[Finding]) -> None:
        status = self._status
        health = health_rules.health_of(findings)
        changed = health != status.health or {f.code for f in findings} != {
            f.code for f in status.findings
        }
        first = status.health is None
        previous = status.health
        status.findings = findings
        if health != previous:
            now = workflow.now()
            if health == Health.HEALTHY:
                status.healthy_since, status.unhealthy_since = now, None
            elif previous in (None, Health.HEALTHY):
                status.unhealthy_since = now
            status.health = health
            workflow.upsert_search_attributes([HEALTH.value_set(health.value)])
        workflow.set_current_details(self._details())
        # The first healthy verdict is not news; every later change (and first trouble) is.
        if changed and not (first and health == Health.HEALTHY):
            if health == Health.HEALTHY:
                message = "The customer-managed key works again: all findings cleared."
            else:
                message = f"Key health is {health.value}: " + "; ".join(
                    f"{f.code}: {f.message}" for f in findings
                )
            await self._notify_both("health_changed", message)

    # --- key change -------------------------------------------------------------------------

    async def _run_key_change(self, change: KeyChange) -> None:
        deployment = self._deployment
        new_spec = _encryption_set_spec(deployment, change.new_key_url)
        try:
            await self._move_to(new_spec)
        except _KeyChangeFailed as failed:
            outcome = "rolled_back"
            try:
                await self._move_to(_encryption_set_spec(deployment, change.old_key_url))
            except _KeyChangeFailed as rollback:
                outcome = "rollback_failed"
                failed = _KeyChangeFailed(
                    f"{failed.reason}; rolling back to {change.old_key_url} failed too: "
                    f"{rollback.reason}",
                    rollback.fix,
                )
            self._finish_change(change, outcome, failed.reason, failed.fix)
            await self._notify_both(
                "key_changed",
                f"Key change {change.number} to {change.new_key_url} failed ({failed.reason}); "
                + (
                    f"the encryption set uses {change.old_key_url} again."
                    if outcome == "rolled_back"
                    else "the rollback failed too: disks may not start."
                ),
            )
            return
        self._deployment = deployment.model_copy(update={"key_url": change.new_key_url})
        self._status.key_url = change.new_key_url
        # Our own PUT is the new baseline for "changed outside the service".
        read = await self._read()
        if read is not None and read.found:
            self._status.baseline_modified_by = read.last_modified_by
            self._status.baseline_modified_at = read.last_modified_at
        self._finish_change(change, "succeeded", None, None)
        await self._notify_both(
            "key_changed",
            f"The encryption set now uses {change.new_key_url} (was {change.old_key_url}).",
        )

    async def _move_to(self, spec: EncryptionSetSpec) -> None:
        """PUT the key, then verify like the onboarding: read back and create a test disk."""
        disk_spec = _test_disk_spec(self._deployment)
        try:
            encryption_set = await lifecycle_calls.put_encryption_set(spec)
            verified = await lifecycle_calls.verify_encryption_set(spec)
            disk = await lifecycle_calls.create_test_disk(disk_spec)
            problems = verification_problems(spec, verified, disk)
            if encryption_set.id.lower() != disk.encryption_set_id.lower():
                problems.append(f"test disk uses {disk.encryption_set_id}")
        except ActivityError as error:
            issue = customer_issue(error)
            if issue is not None:
                raise _KeyChangeFailed(f"{issue.code}: {issue.message}", issue.fix) from None
            cause = error.cause or error
            raise _KeyChangeFailed(
                f"{getattr(cause, 'message', None) or cause}",
                "ISV: see the message; the workflow history has the failed activity",
            ) from None
        finally:
            try:
                await lifecycle_calls.delete_test_disk(_test_disk_id(self._deployment))
            except ActivityError as error:
                workflow.logger.warning("Test disk not deleted: %s", error.cause or error)
        if problems:
            raise _KeyChangeFailed(
                "verification failed: " + "; ".join(problems),
                "ISV: compare the encryption set with the requested key",
            )

    def _finish_change(
        self, change: KeyChange, outcome: str, reason: str | None, fix: str | None
    ) -> None:
        finished = change.model_copy(
            update={
                "outcome": outcome,
                "reason": reason,
                "fix": fix,
                "finished_at": workflow.now(),
            }
        )
        self._status.key_changes[change.number - 1] = finished
        # Bounded: the status is carried into every new run.
        if len(self._status.key_changes) > _KEPT_KEY_CHANGES and all(
            c.outcome != "pending" for c in self._status.key_changes
        ):
            del self._status.key_changes[:-_KEPT_KEY_CHANGES]

    # --- status -----------------------------------------------------------------------------

    def _upsert_identity_attributes(self) -> None:
        deployment = self._deployment
        updates = [
            search_attributes.CUSTOMER_TENANT_ID.value_set(deployment.customer_tenant_id),
            search_attributes.CUSTOMER_NAME.value_set(deployment.customer_name),
        ]
        if self._verified_by_onboarding:
            updates.append(HEALTH.value_set(Health.HEALTHY.value))
            workflow.set_current_details(self._details())
        workflow.upsert_search_attributes(updates)

    def _details(self) -> str:
        status = self._status
        lines = [
            f"**Key health: {status.health.value if status.health else 'not checked yet'}**",
            f"Key: {status.key_url}",
            f"Last check: {_when(status.last_check_at)}; last probe: "
            f"{_when(status.last_probe_at)} ({'ok' if status.last_probe_ok else 'failed'})",
        ]
        lines += [f"- **{f.code}** ({f.owner}): {f.message}. Fix: {f.fix}" for f in status.findings]
        return "\n\n".join(lines)

    async def _notify_both(self, kind: Any, message: str) -> None:
        deployment = self._deployment
        for audience in ("customer", "isv"):
            await lifecycle_calls.notify(
                LifecycleNotification(
                    kind=kind,
                    audience=audience,  # type: ignore[arg-type]
                    workflow_id=deployment.onboarding_workflow_id,
                    customer_tenant_id=deployment.customer_tenant_id,
                    customer_name=deployment.customer_name,
                    health=self._status.health,
                    findings=tuple(self._status.findings),
                    message=message,
                )
            )


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "never"
