"""What each command does against Temporal, without printing: start, submit, status, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from client.connection import (
    NO_ANSWER_STATUSES,
    TemporalTarget,
    cause_text,
    existing_workflow,
    rpc_failure,
)
from client.errors import AlreadyCompleted, InvalidClientInput, OperationRejected
from models import (
    QUERY_STATUS,
    SIGNAL_CUSTOMER_SETUP_COMPLETE,
    TERMINAL_STAGES,
    UPDATE_SUBMIT_CUSTOMER_SETUP,
    WORKFLOW_TYPE,
    Attempt,
    CustomerSetupComplete,
    OnboardingRequest,
    OnboardingResult,
    OnboardingStatus,
    Stage,
    search_attributes,
    workflow_id_for,
)
from models.text import onboarding_summary

# Without a worker a query or update waits for one; give up and say so instead of hanging.
WORKER_ANSWER_TIMEOUT = timedelta(seconds=20)
NO_WORKER_HINT = "is worker.py running on task queue '{queue}'?"


@dataclass(frozen=True)
class StartOutcome:
    workflow_id: str
    run_id: str
    started: bool


def _static_summary(request: OnboardingRequest) -> str:
    return onboarding_summary(
        customer_name=request.customer_name,
        customer_tenant_id=request.customer_tenant_id,
        des_name=request.des_name,
        region=request.region,
    )


async def start_onboarding(
    client: Client, target: TemporalTarget, request: OnboardingRequest
) -> StartOutcome:
    """Start the workflow, or attach to the running one with the same id (never a second run)."""
    workflow_id = workflow_id_for(request.customer_tenant_id, request.des_name)
    try:
        handle = await client.start_workflow(
            WORKFLOW_TYPE,
            request.model_dump(mode="json"),
            id=workflow_id,
            task_queue=target.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A completed onboarding is final; a failed or cancelled one may be started again.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(
                        search_attributes.CUSTOMER_TENANT_ID, request.customer_tenant_id
                    ),
                    SearchAttributePair(search_attributes.CUSTOMER_NAME, request.customer_name),
                    SearchAttributePair(search_attributes.STAGE, Stage.VALIDATING.value),
                ]
            ),
            static_summary=_static_summary(request),
        )
    except WorkflowAlreadyStartedError:
        raise AlreadyCompleted(
            f"workflow '{workflow_id}' already completed for this customer and encryption set; "
            f"see `starter.py status --workflow-id {workflow_id}`"
        ) from None
    except RPCError as error:
        raise rpc_failure(error, target) from None
    # The SDK keeps the server's answer but exposes no accessor for its `started` flag.
    response = getattr(handle, "_start_workflow_response", None)
    started = bool(getattr(response, "started", True))
    return StartOutcome(workflow_id, handle.result_run_id or "", started)


async def submit_customer_setup(
    client: Client,
    target: TemporalTarget,
    workflow_id: str,
    body: CustomerSetupComplete,
    *,
    as_signal: bool,
) -> Attempt | None:
    """Send the key URL: the validated update (returns the accepted attempt) or the plain signal."""
    handle, description = await existing_workflow(client, target, workflow_id)
    if description.status != WorkflowExecutionStatus.RUNNING:
        state = description.status.name.lower() if description.status else "closed"
        raise OperationRejected(f"workflow '{workflow_id}' is {state}; it accepts no submissions")
    try:
        if as_signal:
            await handle.signal(SIGNAL_CUSTOMER_SETUP_COMPLETE, body)
            return None
        return await handle.execute_update(
            UPDATE_SUBMIT_CUSTOMER_SETUP,
            body,
            result_type=Attempt,
            rpc_timeout=WORKER_ANSWER_TIMEOUT,
        )
    except WorkflowUpdateFailedError as error:
        raise OperationRejected(f"submission rejected: {cause_text(error.cause)}") from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise OperationRejected(
            "no answer to the submission; " + NO_WORKER_HINT.format(queue=target.task_queue)
        ) from None
    except RPCError as error:
        raise rpc_failure(error, target, workflow_id) from None


async def fetch_status(
    client: Client, target: TemporalTarget, workflow_id: str
) -> OnboardingStatus:
    handle, _ = await existing_workflow(client, target, workflow_id)
    try:
        return await handle.query(
            QUERY_STATUS, result_type=OnboardingStatus, rpc_timeout=WORKER_ANSWER_TIMEOUT
        )
    except WorkflowQueryFailedError as error:
        raise OperationRejected(f"status query failed: {error.message}") from None
    except RPCError as error:
        if error.status in NO_ANSWER_STATUSES:
            raise OperationRejected(
                "no worker answered the status query; "
                + NO_WORKER_HINT.format(queue=target.task_queue)
            ) from None
        raise rpc_failure(error, target, workflow_id) from None


async def fetch_result(
    client: Client, target: TemporalTarget, workflow_id: str
) -> OnboardingResult:
    """The completed onboarding's result; OperationRejected if it failed or was cancelled."""
    handle = client.get_workflow_handle(workflow_id, result_type=OnboardingResult)
    try:
        return await handle.result()
    except WorkflowFailureError as error:
        reason = cause_text(error.cause)
        raise OperationRejected(f"onboarding '{workflow_id}' did not complete: {reason}") from None
    except RPCError as error:
        raise rpc_failure(error, target, workflow_id) from None


async def watch_status(
    client: Client,
    target: TemporalTarget,
    workflow_id: str,
    on_change: Callable[[OnboardingStatus], None],
    *,
    until: Callable[[OnboardingStatus], bool] = lambda s: s.stage in TERMINAL_STAGES,
    interval: float = 0.5,
    health_check: Callable[[], Awaitable[None]] | None = None,
) -> OnboardingStatus:
    """Poll the status query, calling `on_change` whenever it changes, until `until` holds."""
    previous: OnboardingStatus | None = None
    while True:
        if health_check is not None:
            await health_check()
        status = await fetch_status(client, target, workflow_id)
        if status != previous:
            on_change(status)
            previous = status
        if until(status):
            return status
        await asyncio.sleep(interval)


async def cancel_onboarding(client: Client, target: TemporalTarget, workflow_id: str) -> None:
    handle, description = await existing_workflow(client, target, workflow_id)
    if description.status != WorkflowExecutionStatus.RUNNING:
        state = description.status.name.lower() if description.status else "closed"
        raise OperationRejected(f"workflow '{workflow_id}' is already {state}")
    try:
        await handle.cancel()
    except RPCError as error:
        raise rpc_failure(error, target, workflow_id) from None


def visibility_query(stage: Stage | None) -> str:
    query = f'WorkflowType = "{WORKFLOW_TYPE}"'
    if stage is not None:
        query += f' AND {search_attributes.STAGE.name} = "{stage.value}"'
    return query


async def list_onboardings(
    client: Client, target: TemporalTarget, stage: Stage | None, limit: int
) -> list[dict[str, Any]]:
    """One row per onboarding (latest first), from the visibility store's search attributes."""
    rows: list[dict[str, Any]] = []
    try:
        async for execution in client.list_workflows(visibility_query(stage), limit=limit):
            attributes = execution.typed_search_attributes
            rows.append(
                {
                    "workflow_id": execution.id,
                    "run_id": execution.run_id,
                    "status": execution.status.name if execution.status else None,
                    "stage": attributes.get(search_attributes.STAGE),
                    "customer_tenant_id": attributes.get(search_attributes.CUSTOMER_TENANT_ID),
                    "customer_name": attributes.get(search_attributes.CUSTOMER_NAME),
                    "start_time": execution.start_time.isoformat(),
                    "close_time": execution.close_time.isoformat()
                    if execution.close_time
                    else None,
                }
            )
    except RPCError as error:
        raise rpc_failure(error, target) from None
    return rows


def require_stage(value: str | None) -> Stage | None:
    if value is None:
        return None
    try:
        return Stage(value)
    except ValueError:
        raise InvalidClientInput(
            f"--stage: '{value}' is not a stage; use one of {', '.join(s.value for s in Stage)}"
        ) from None
