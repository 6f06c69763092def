"""The bench's floor (bench/floor.py) has the onboarding's happy-path shape: the same activities in
the same order and grouping, and the same child workflow at the end. When the onboarding grows a
step and the floor does not, "ratio to the floor" flatters nobody and misleads everyone."""

from __future__ import annotations

from itertools import groupby

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from bench.floor import AFTER_SIGNAL, AFTER_WATCH, BEFORE_SIGNAL
from harness.fake_onboarding import KEY_URL, running
from models import SIGNAL_CUSTOMER_SETUP_COMPLETE, CustomerSetupComplete, Stage


async def test_the_floor_schedules_what_the_onboarding_schedules(env: WorkflowEnvironment) -> None:
    async with running(env, key_health={"enabled": True}) as onboarding:
        await onboarding.wait_for_stage(Stage.AWAITING_CUSTOMER)
        await onboarding.handle.signal(
            SIGNAL_CUSTOMER_SETUP_COMPLETE, CustomerSetupComplete(key_url=KEY_URL)
        )
        await onboarding.handle.result()
        history = await onboarding.handle.fetch_history()
    # Activities scheduled by one workflow task form one step (they run side by side).
    steps: list[tuple[str, ...]] = []
    children: list[str] = []
    task = 0
    scheduled: list[tuple[int, str]] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            task = event.event_id
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            scheduled.append((task, attributes.activity_type.name))
        elif event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            child = event.start_child_workflow_execution_initiated_event_attributes
            children.append(child.workflow_type.name)
            scheduled.append((task, "(child workflow)"))
    for _, group in groupby(scheduled, key=lambda pair: pair[0]):
        steps.append(tuple(sorted(name for _, name in group)))
    floor = [
        tuple(sorted(step))
        for step in (*BEFORE_SIGNAL, *AFTER_SIGNAL, ("(child workflow)",), *AFTER_WATCH)
    ]
    assert steps == floor, (steps, children)
    assert children == ["CmkKeyHealthWatch"]
