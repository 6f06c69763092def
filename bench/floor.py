"""The floor: a workflow of the onboarding's happy-path shape whose activities do nothing.

Same activities in the same order and grouping (10 on the happy path, two pairs side by side), the
same signal name, one wait; what it lacks is Azure and our bookkeeping. Its throughput is what
Temporal and one worker process of the same settings can do on this machine.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models import SIGNAL_CUSTOMER_SETUP_COMPLETE, Stage, search_attributes

FLOOR_WORKFLOW = "BenchFloor"
FLOOR_ACTIVITY = "bench_floor_noop"
_TIMEOUT = timedelta(minutes=2)
_RETRY = RetryPolicy(maximum_attempts=3)

# The onboarding's happy path (feature already registered), step by step.
BEFORE_SIGNAL: tuple[tuple[str, ...], ...] = (
    ("get_feature",),
    ("ensure_application", "ensure_managed_identity"),
    ("ensure_federated_credential",),
    ("notify_instructions",),
)
AFTER_SIGNAL: tuple[tuple[str, ...], ...] = (
    ("create_encryption_set",),
    ("verify_encryption_set", "create_test_disk"),
    ("delete_test_disk",),
    ("notify_completed",),
)
ACTIVITY_COUNT = sum(len(step) for step in (*BEFORE_SIGNAL, *AFTER_SIGNAL))


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
        return ACTIVITY_COUNT


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
