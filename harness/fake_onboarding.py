"""A real CmkOnboardingWorkflow on fake Azure activities, in a Temporal test environment: the
workflow tests and the bench's 30-day-wait figure (bench/long_wait.py) run onboardings so."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from harness.fake_azure import FakeAzure
from harness.polling import assert_eventually
from models import Stage, search_attributes, workflow_id_for
from workflows import WORKFLOWS, CmkOnboardingWorkflow
from workflows.sandbox import sandboxed_runner
from workflows.task_queues import azure_writes_task_queue, des_writes_task_queue

CUSTOMER_TENANT = "11111111-2222-3333-4444-555555555555"
ISV_TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SUBSCRIPTION = "99999999-8888-7777-6666-555555555555"
KEY_URL = "https://contoso-kv.vault.azure.net/keys/cmk/0123456789abcdef0123456789abcdef"
FIXED_KEY_URL = "https://contoso-kv.vault.azure.net/keys/cmk2/fedcba9876543210fedcba9876543210"

# The replay test's recorded histories, written by Onboarding.record_history.
HISTORIES = Path(__file__).resolve().parents[1] / "tests" / "workflows" / "histories"


async def add_search_attributes(client: Client) -> None:
    """The test server, like a dev server, only accepts upserts of registered attributes."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                for key in search_attributes.ALL
            },
        )
    )


def make_request(**overrides: Any) -> dict[str, Any]:
    """A valid raw request as JSON-like data; each call gets its own DES (and workflow id)."""
    request: dict[str, Any] = {
        "customer_tenant_id": CUSTOMER_TENANT,
        "customer_name": "Contoso",
        "isv_tenant_id": ISV_TENANT,
        "subscription_id": SUBSCRIPTION,
        "resource_group": "rg-cmk",
        "region": "eastus",
        "des_name": f"des-{uuid.uuid4().hex[:12]}",
        # The watch has its own tests (test_key_health.py); FakeAzure has no health activities.
        "key_health": {"enabled": False},
    }
    request.update(overrides)
    return request


@dataclass
class Onboarding:
    handle: WorkflowHandle[CmkOnboardingWorkflow, Any]
    fake: FakeAzure
    request: dict[str, Any]

    async def status(self) -> Any:
        return await self.handle.query(CmkOnboardingWorkflow.status)

    async def wait_for_stage(self, stage: Stage) -> Any:
        async def reached() -> Any:
            status = await self.status()
            assert status.stage == stage, f"stage is {status.stage}, waiting for {stage}"
            return status

        return await assert_eventually(reached)

    async def wait_until_parked(self) -> int:
        """Wait until the workflow waits on its reminder/deadline timer with nothing else in
        flight (the stage changes before the instructions are sent); returns the event count.

        The test server sometimes adds an empty workflow task after the timer started, so the
        timer must be the last event other than workflow-task ones, with no task in flight.
        """

        async def parked() -> int:
            names = [
                EventType.Name(e.event_type) for e in (await self.handle.fetch_history()).events
            ]
            others = [name for name in names if not name.startswith("EVENT_TYPE_WORKFLOW_TASK_")]
            assert others and others[-1] == "EVENT_TYPE_TIMER_STARTED", (
                f"history ends {names[-12:]}"
            )
            assert names[-1] in (
                "EVENT_TYPE_TIMER_STARTED",
                "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
            ), f"a workflow task is in flight: {names[-3:]}"
            return len(names)

        return await assert_eventually(parked)

    async def event_count(self) -> int:
        return len((await self.handle.fetch_history()).events)

    async def activity_summaries(self) -> list[str]:
        """The summary the Temporal UI shows beside each scheduled activity, in order."""
        history = await self.handle.fetch_history()
        return [
            json.loads(event.user_metadata.summary.data)
            for event in history.events
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and event.user_metadata.HasField("summary")
        ]

    async def record_history(self, name: str) -> None:
        await record_history(self.handle, name)


async def record_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With RECORD_HISTORIES=1, save the history of the handle's run (a running one too) for
    tests/workflows/test_replay.py."""
    if os.environ.get("RECORD_HISTORIES") == "1":
        history = await handle.fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json())


@asynccontextmanager
async def workers_on(
    client: Client, task_queue: str, activities: Sequence[Callable[..., Any]]
) -> AsyncIterator[None]:
    """Workers as worker.py runs them: workflows (in the production sandbox) and activities on
    `task_queue`, and the same activities on its DES-writes and Azure-writes queues."""
    # Heartbeats carry cancellation to blocked fakes: send them at once, not every 30 s.
    heartbeats: dict[str, Any] = {
        "default_heartbeat_throttle_interval": timedelta(milliseconds=50),
        "max_heartbeat_throttle_interval": timedelta(milliseconds=50),
    }
    async with (
        Worker(
            client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=activities,
            workflow_runner=sandboxed_runner(),
            **heartbeats,
        ),
        Worker(
            client,
            task_queue=des_writes_task_queue(task_queue),
            activities=activities,
            **heartbeats,
        ),
        Worker(
            client,
            task_queue=azure_writes_task_queue(task_queue),
            activities=activities,
            **heartbeats,
        ),
    ):
        yield


@asynccontextmanager
async def running(
    env: WorkflowEnvironment, fake: FakeAzure | None = None, **overrides: Any
) -> AsyncIterator[Onboarding]:
    """Start workers on a fresh task queue and one onboarding on it."""
    fake = fake or FakeAzure()
    request = make_request(**overrides)
    task_queue = f"tq-{uuid.uuid4()}"
    async with workers_on(env.client, task_queue, fake.activities()):
        handle = await env.client.start_workflow(
            CmkOnboardingWorkflow.run,
            request,
            id=workflow_id_for(
                str(request.get("customer_tenant_id")), str(request.get("des_name"))
            ),
            task_queue=task_queue,
        )
        yield Onboarding(handle=handle, fake=fake, request=request)
