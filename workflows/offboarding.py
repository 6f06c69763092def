"""Offboarding: remove one customer's encryption set (and, isolated, its identity chain).

Refuses while disks use the set. Every step is idempotent (deletes treat "already gone" as done)
and the workflow id is fixed per onboarding, so a crash or a second `offboard` repeats nothing.
The shared identity (app, managed identity, federated credential) is never touched.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    # `import workflows.x as x`, not `from workflows import x`: the sandbox passes a module through
    # only when it is imported by its full name; the `from` form re-imported it in every run.
    import workflows.lifecycle_calls as lifecycle_calls
    from models.lifecycle import (
        OFFBOARDING_WORKFLOW_TYPE,
        SIGNAL_STOP_WATCH,
        Deployment,
        LifecycleNotification,
        OffboardInput,
        OffboardResult,
        watch_workflow_id,
    )
    from workflows.key_health import health_disk_name

ENCRYPTION_SET_IN_USE = "EncryptionSetInUse"
ENCRYPTION_SET_NOT_OURS = "EncryptionSetNotOwned"
# Runs before this patch took "not deleted and no users" for "already gone" without a read.
PATCH_CONFIRM_DELETION = "offboarding-confirms-deletion"
# Our own test disks may exist for a moment (a probe the stopping watch had in flight).
_OWN_DISK_WAIT = timedelta(seconds=30)
_OWN_DISK_ROUNDS = 20


def _own_disk_names(deployment: Deployment) -> set[str]:
    return {
        health_disk_name(deployment.des_name).lower(),
        f"{deployment.des_name[:73]}-verify".lower(),
    }


def is_per_customer(deployment: Deployment, resource_name: str) -> bool:
    """Belt and braces: only isolated-mode names carry the customer tenant id."""
    return deployment.identity_mode == "isolated" and resource_name.lower().endswith(
        deployment.customer_tenant_id.lower()
    )


@workflow.defn(name=OFFBOARDING_WORKFLOW_TYPE)
class CmkOffboardingWorkflow:
    @workflow.run
    async def run(self, offboard: OffboardInput) -> OffboardResult:
        deployment = offboard.deployment
        des_id = deployment.encryption_set_id
        own = _own_disk_names(deployment)
        users = await lifecycle_calls.list_encryption_set_users(des_id)
        if foreign := [u for u in users if u.rsplit("/", 1)[-1].lower() not in own]:
            raise _in_use(des_id, foreign)
        watch_stopped = await self._stop_watch(deployment)
        deleted: list[str] = []
        for _ in range(_OWN_DISK_ROUNDS):
            if await lifecycle_calls.delete_encryption_set(des_id):
                deleted.append(des_id)
                break
            users = await lifecycle_calls.list_encryption_set_users(des_id)
            if not users:
                break  # 404: already gone (a previous run deleted it)
            if foreign := [u for u in users if u.rsplit("/", 1)[-1].lower() not in own]:
                raise _in_use(des_id, foreign)
            await workflow.sleep(_OWN_DISK_WAIT, summary="Wait for the last probe disk to go")
        else:
            raise ApplicationError(
                f"encryption set {des_id} kept refusing deletion; run `starter.py offboard` again",
                type=ENCRYPTION_SET_IN_USE,
                non_retryable=True,
            )
        # "Not deleted, no users" is also what a set tagged for another onboarding gives.
        if (
            not deleted
            and workflow.patched(PATCH_CONFIRM_DELETION)
            and (await lifecycle_calls.read_encryption_set(des_id)).found
        ):
            raise ApplicationError(
                f"encryption set {des_id} was not deleted: its cmk-onboarding tag names "
                f"another onboarding than {deployment.onboarding_workflow_id}; delete or "
                "re-tag it by hand if it is really this customer's",
                type=ENCRYPTION_SET_NOT_OURS,
                non_retryable=True,
            )
        kept_shared: list[str] = []
        identity_name = deployment.identity_id.rsplit("/", 1)[-1]
        if is_per_customer(deployment, identity_name):
            await lifecycle_calls.delete_managed_identity(deployment.identity_id)
            deleted.append(deployment.identity_id)
            # The federated credential lives on the per-customer app and goes with it.
            if deployment.app_object_id:
                await lifecycle_calls.delete_application(deployment.app_object_id)
                deleted.append(deployment.app_object_id)
        else:
            kept_shared += [deployment.identity_id, deployment.federated_client_id]
        for audience in ("customer", "isv"):
            await lifecycle_calls.notify(
                LifecycleNotification(
                    kind="offboarded",
                    audience=audience,  # type: ignore[arg-type]
                    workflow_id=deployment.onboarding_workflow_id,
                    customer_tenant_id=deployment.customer_tenant_id,
                    customer_name=deployment.customer_name,
                    message=f"Offboarded: encryption set {deployment.des_name} deleted; the "
                    "customer may now remove the role assignment and the key.",
                )
            )
        return OffboardResult(
            onboarding_workflow_id=deployment.onboarding_workflow_id,
            deleted=tuple(deleted),
            kept_shared=tuple(kept_shared),
            watch_stopped=watch_stopped,
        )

    async def _stop_watch(self, deployment: Deployment) -> bool:
        watch = workflow.get_external_workflow_handle(
            watch_workflow_id(deployment.onboarding_workflow_id)
        )
        try:
            await watch.signal(SIGNAL_STOP_WATCH, "offboarded")
        except FailureError as error:
            # Not running (never started, or stopped by an earlier offboarding run).
            workflow.logger.info("Key-health watch not signalled: %s", error)
            return False
        return True


def _in_use(des_id: str, users: list[str]) -> ApplicationError:
    return ApplicationError(
        f"encryption set {des_id} is still used by {len(users)} resource(s): "
        + ", ".join(users)
        + "; move or delete them (or re-encrypt them with another set), then offboard again",
        users,
        type=ENCRYPTION_SET_IN_USE,
        non_retryable=True,
    )
