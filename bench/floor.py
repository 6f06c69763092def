"""The floor: a workflow of the onboarding's happy-path shape whose activities do nothing.

Same activities in the same order and grouping (13 on the happy path, two pairs side by side), the
same signal name, one wait, and the same hand-over before the completion notice: a child workflow
started with ParentClosePolicy.ABANDON that sleeps on a timer, as the key-health watch does. What
it lacks is Azure and our bookkeeping. Its throughput is what Temporal and one worker process of
the same settings can do on this machine. Keep it in step with the onboarding:
tests/workflows/test_floor_shape.py compares the two.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from models import SIGNAL_CUSTOMER_SETUP_COMPLETE, Stage, search_attributes

FLOOR_WORKFLOW = "BenchFloor"
FLOOR_ACTIVITY = "bench_floor_noop"
_TIMEOUT = timedelta(minutes=2)
_RETRY = RetryPolicy(maximum_attempts=3)

FLOOR_WATCH_WORKFLOW = "BenchFloorWatch"
# The key-health watch's first sleep (it was verified just before it started).
WATCH_SLEEP = timedelta(hours=1)

# The onboarding's happy path (feature already registered, no key URL up front), step by step:
# the activity types it schedules, in order (tests/workflows/test_floor_shape.py checks them).
BEFORE_SIGNAL: tuple[tuple[str, ...], ...] = (
    ("load_policy",),
    ("earlier_completed_run",),
    ("ensure_feature_registered",),
    ("ensure_application", "ensure_managed_identity"),
    ("ensure_federated_credential",),
    ("notify_customer",),
)
AFTER_SIGNAL: tuple[tuple[str, ...], ...] = (
    ("check_key_vault_tenant",),
    ("create_encryption_set",),
    ("verify_encryption_set", "create_test_disk"),
    ("delete_test_disk",),
)
# After the watch is started: the completion notice.
AFTER_WATCH: tuple[tuple[str, ...], ...] = (("notify_customer",),)
ACTIVITY_COUNT = sum(len(step) for step in (*BEFORE_SIGNAL, *AFTER_SIGNAL, *AFTER_WATCH))


@activity.defn(name=FLOOR_ACTIVITY)
async def noop(step: str) -> str:
    return step


@workflow.defn(name=FLOOR_WORKFLOW)
class FloorWorkflow:
    def __init__(self) -> None:
        self._signalled = False

    @workflow.signal(name=SIGNAL_CUSTOMER_SETUP_COMPLETE)
    def customer_setup_complete(self, _body: Any) -> None:
        self._signalled = True

    @workflow.run
    async def run(self, _request: Any) -> int:
        await _steps(BEFORE_SIGNAL)
        # The one search attribute write the driver needs to see who waits, as for onboardings.
        workflow.upsert_search_attributes(
            [search_attributes.STAGE.value_set(Stage.AWAITING_CUSTOMER)]
        )
        await workflow.wait_condition(lambda: self._signalled)
        await _steps(AFTER_SIGNAL)
        await workflow.start_child_workflow(
            FloorWatchWorkflow.run,
            id=f"{workflow.info().workflow_id}-watch",
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        await _steps(AFTER_WATCH)
        return ACTIVITY_COUNT


@workflow.defn(name=FLOOR_WATCH_WORKFLOW)
class FloorWatchWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(WATCH_SLEEP)


async def _steps(steps: tuple[tuple[str, ...], ...]) -> None:
    for step in steps:
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    FLOOR_ACTIVITY,
                    name,
                    start_to_close_timeout=_TIMEOUT,
                    retry_policy=_RETRY,
                    summary=name,
                )
                for name in step
            )
        )
