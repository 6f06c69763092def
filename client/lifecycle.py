"""After onboarding: key health, key change and offboarding against Temporal, without printing."""

from __future__ import annotations

from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from client.connection import TemporalTarget, cause_text, existing_workflow, rpc_failure
from client.errors import InvalidClientInput, OperationRejected, WorkflowNotFound
from client.operations import WORKER_ANSWER_TIMEOUT
from models import (
    WORKFLOW_TYPE,
    OnboardingResult,
    Stage,
    key_url_problem,
    parse_request,
    search_attributes,
)
from models import lifecycle as lifecycle_models
from models.lifecycle import (
    OFFBOARDING_WORKFLOW_TYPE,
    QUERY_HEALTH,
    SIGNAL_CHECK_NOW,
    UPDATE_CHANGE_KEY,
    WATCH_WORKFLOW_TYPE,
    Deployment,
    Health,
    KeyChange,
    KeyChangeRequest,
    OffboardInput,
    OffboardResult,
    WatchStatus,
    offboarding_workflow_id,
    watch_workflow_id,
)


async def fetch_health(client: Client, target: TemporalTarget, onboarding_id: str) -> WatchStatus:
    handle, _ = await existing_workflow(client, target, watch_workflow_id(onboarding_id))
    try:
        return await handle.query(
            QUERY_HEALTH, result_type=WatchStatus, rpc_timeout=WORKER_ANSWER_TIMEOUT
        )
    except WorkflowQueryFailedError as error:
        raise OperationRejected(f"health query failed: {error.message}") from None
    except RPCError as error:
        raise rpc_failure(error, target, handle.id) from None


async def check_now(client: Client, target: TemporalTarget, onboarding_id: str) -> None:
    handle, description = await existing_workflow(client, target, watch_workflow_id(onboarding_id))
    if description.status != WorkflowExecutionStatus.RUNNING:
        raise OperationRejected(f"the key-health watch '{handle.id}' is not running")
    await handle.signal(SIGNAL_CHECK_NOW, True)


async def change_key(
    client: Client, target: TemporalTarget, onboarding_id: str, key_url: str
) -> KeyChange:
    """Send the update and wait for its outcome (the DES update and test disk take minutes)."""
    if problem := key_url_problem(key_url):
        raise InvalidClientInput(f"--key-url: {problem}")
    handle, description = await existing_workflow(client, target, watch_workflow_id(onboarding_id))
    if description.status != WorkflowExecutionStatus.RUNNING:
        raise OperationRejected(
            f"the key-health watch '{handle.id}' is not running; the key can only be changed "
            "for an onboarding that completed and was not offboarded"
        )
    try:
        update = await handle.start_update(
            UPDATE_CHANGE_KEY,
            KeyChangeRequest(key_url=key_url),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=KeyChange,
            rpc_timeout=WORKER_ANSWER_TIMEOUT,
        )
        return await update.result()
    except WorkflowUpdateFailedError as error:
        raise OperationRejected(f"key change rejected: {cause_text(error.cause)}") from None
    except RPCError as error:
        raise rpc_failure(error, target, handle.id) from None


async def deployment_of(client: Client, target: TemporalTarget, onboarding_id: str) -> Deployment:
    handle, _ = await existing_workflow(client, target, watch_workflow_id(onboarding_id))
    try:
        return await handle.query(
            "deployment", result_type=Deployment, rpc_timeout=WORKER_ANSWER_TIMEOUT
        )
    except (WorkflowQueryFailedError, RPCError) as error:
        raise OperationRejected(
            f"could not read the deployment from {handle.id}: {error}"
        ) from None


async def deployment_from_onboarding(
    client: Client, target: TemporalTarget, onboarding_id: str
) -> Deployment:
    """What a completed onboarding left, from its request (the run's input) and its
    OnboardingResult: for onboardings that completed before the watch existed (or without one)."""
    handle, description = await existing_workflow(client, target, onboarding_id)
    if description.status != WorkflowExecutionStatus.COMPLETED:
        state = description.status.name.lower() if description.status else "unknown"
        raise OperationRejected(
            f"onboarding '{onboarding_id}' is {state}: only a completed onboarding can be "
            "offboarded (cancel a running one instead: it removes what it created)"
        )
    try:
        result = await client.get_workflow_handle(
            onboarding_id, result_type=OnboardingResult
        ).result()
        raw: Any = None
        async for event in handle.fetch_history_events():
            started = event.workflow_execution_started_event_attributes
            [raw] = await client.data_converter.decode(started.input.payloads, [dict])
            break
    except RPCError as error:
        raise rpc_failure(error, target, onboarding_id) from None
    request = parse_request(raw)
    resources = result.resources
    missing = [
        name
        for name in ("encryption_set_id", "identity_id", "app_id", "key_url")
        if getattr(resources, name) is None
    ]
    if missing:
        raise OperationRejected(
            f"onboarding '{onboarding_id}' recorded no {', '.join(missing)}; nothing to offboard"
        )
    assert resources.encryption_set_id and resources.identity_id and resources.app_id
    return lifecycle_models.deployment_of(
        request,
        onboarding_id,
        encryption_set_id=resources.encryption_set_id,
        identity_id=resources.identity_id,
        app_id=resources.app_id,
        app_object_id=resources.app_object_id,
        key_url=resources.key_url or "",
    )


async def offboard(client: Client, target: TemporalTarget, onboarding_id: str) -> OffboardResult:
    """Start (or attach to) the offboarding and wait for it; refusals become OperationRejected.

    The deployment comes from the key-health watch (it knows a changed key); an onboarding
    without one (completed before the watch existed, or with the watch disabled) falls back to
    its own request and result.
    """
    try:
        deployment = await deployment_of(client, target, onboarding_id)
    except (WorkflowNotFound, OperationRejected):
        deployment = await deployment_from_onboarding(client, target, onboarding_id)
    try:
        handle = await client.start_workflow(
            OFFBOARDING_WORKFLOW_TYPE,
            OffboardInput(deployment=deployment),
            id=offboarding_workflow_id(onboarding_id),
            task_queue=target.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # Refused (disks still in use) may be tried again; a completed one is final.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            result_type=OffboardResult,
            static_summary=f"Offboard {deployment.customer_name}: {deployment.des_name}",
        )
        return await handle.result()
    except WorkflowFailureError as error:
        cause = error.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise OperationRejected(f"offboarding refused: {message}") from None
    except RPCError as error:
        raise rpc_failure(error, target) from None


def require_health(value: str | None) -> Health | None:
    if value is None:
        return None
    try:
        return Health(value)
    except ValueError:
        raise InvalidClientInput(
            f"--health: '{value}' is not a health; use one of {', '.join(h.value for h in Health)}"
        ) from None


async def list_watches(
    client: Client, target: TemporalTarget, health: Health | None, limit: int
) -> list[dict[str, Any]]:
    query = f'WorkflowType = "{WATCH_WORKFLOW_TYPE}" AND ExecutionStatus = "Running"'
    if health is not None:
        query += f' AND {search_attributes.HEALTH.name} = "{health.value}"'
    rows: list[dict[str, Any]] = []
    try:
        async for execution in client.list_workflows(query, limit=limit):
            attributes = execution.typed_search_attributes
            rows.append(
                {
                    "workflow_id": "cmk-onboarding-" + execution.id.removeprefix("cmk-key-health-"),
                    "watch_workflow_id": execution.id,
                    "health": attributes.get(search_attributes.HEALTH),
                    "customer_tenant_id": attributes.get(search_attributes.CUSTOMER_TENANT_ID),
                    "customer_name": attributes.get(search_attributes.CUSTOMER_NAME),
                    "start_time": execution.start_time.isoformat(),
                }
            )
    except RPCError as error:
        raise rpc_failure(error, target) from None
    return rows


async def counts(client: Client, target: TemporalTarget) -> dict[str, dict[str, int]]:
    """Onboardings per stage and running watches per health (one count query each)."""
    result: dict[str, dict[str, int]] = {"stage": {}, "health": {}}
    try:
        for stage in Stage:
            query = (
                f'WorkflowType = "{WORKFLOW_TYPE}" AND {search_attributes.STAGE.name} = "{stage}"'
            )
            if found := (await client.count_workflows(query)).count:
                result["stage"][stage.value] = found
        for health in Health:
            query = (
                f'WorkflowType = "{WATCH_WORKFLOW_TYPE}" AND ExecutionStatus = "Running" AND '
                f'{search_attributes.HEALTH.name} = "{health}"'
            )
            if found := (await client.count_workflows(query)).count:
                result["health"][health.value] = found
    except RPCError as error:
        raise rpc_failure(error, target) from None
    return result
