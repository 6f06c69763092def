"""Start the key-health watch when an onboarding completes (a child that outlives its parent)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from models import ApplicationRef, ManagedIdentityRef, OnboardingRequest, ResourceIds, lifecycle
    from models.lifecycle import Deployment, WatchInput, watch_workflow_id
    from models.watch_settings import WatchSettings
    from workflows.key_health import CmkKeyHealthWatchWorkflow

# Onboardings that completed before this patch have no watch (no command starts one later yet);
# `starter.py offboard` reads their deployment from the onboarding's own result instead.
PATCH_START_KEY_HEALTH_WATCH = "start-key-health-watch"


def deployment_of(
    request: OnboardingRequest,
    workflow_id: str,
    resources: ResourceIds,
    app: ApplicationRef,
    identity: ManagedIdentityRef,
) -> Deployment:
    assert resources.encryption_set_id is not None and resources.key_url is not None
    return lifecycle.deployment_of(
        request,
        workflow_id,
        encryption_set_id=resources.encryption_set_id,
        identity_id=identity.id,
        app_id=app.app_id,
        app_object_id=app.object_id,
        key_url=resources.key_url,
    )


async def start_key_health_watch(deployment: Deployment, settings: WatchSettings) -> None:
    """Best effort: a completed onboarding stays completed if the watch cannot start."""
    try:
        await workflow.start_child_workflow(
            CmkKeyHealthWatchWorkflow.run,
            WatchInput(deployment=deployment, settings=settings, verified_at=workflow.now()),
            id=watch_workflow_id(deployment.onboarding_workflow_id),
            parent_close_policy=ParentClosePolicy.ABANDON,
            # A re-onboarding (after an offboarding) gets a fresh watch.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary=f"Key health of {deployment.customer_name}: {deployment.des_name}",
        )
    except WorkflowAlreadyStartedError:
        workflow.logger.info("Key-health watch already running")
