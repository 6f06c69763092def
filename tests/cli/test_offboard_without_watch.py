"""Offboarding an onboarding that has no key-health watch (completed before the watch existed):
the deployment comes from the onboarding's own request and OnboardingResult."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from harness.fake_azure import FakeAzure
from harness.local_stack import DevServer
from payload_codec.codec import data_converter
from tests.cli.requests import request_fields
from tests.cli.starter_process import run_starter
from tests.workflows.fake_lifecycle import FakeKeyChain, deployment
from workflows import WORKFLOWS
from workflows.task_queues import azure_writes_task_queue, des_writes_task_queue

KEY_URL = "https://contosokv.vault.azure.net/keys/disk-key/0123456789abcdef0123456789abcdef"


@pytest.fixture
async def env(cli_server: DevServer) -> AsyncIterator[dict[str, str]]:
    """The real workflows with FakeAzure for the onboarding and the lifecycle fakes for the
    offboarding's own activities (users of the set, notifications)."""
    client = await Client.connect(cli_server.address, data_converter=data_converter(None))
    task_queue = f"offboard-{uuid.uuid4().hex[:8]}"
    chain = FakeKeyChain(deployment("unused"))
    activities = FakeAzure().activities() + [
        chain.list_encryption_set_users,
        chain.notify_lifecycle,
        chain.read_encryption_set_health,
    ]
    async with (
        Worker(client, task_queue=task_queue, workflows=WORKFLOWS, activities=activities),
        Worker(client, task_queue=azure_writes_task_queue(task_queue), activities=activities),
        Worker(client, task_queue=des_writes_task_queue(task_queue), activities=activities),
    ):
        yield {"TEMPORAL_ADDRESS": cli_server.address, "TEMPORAL_TASK_QUEUE": task_queue}


async def test_offboard_falls_back_to_the_onboarding_result(
    env: dict[str, str], tmp_path: Path
) -> None:
    """No watch (key_health disabled, like an onboarding from before the watch): `offboard`
    still finds the encryption set from the onboarding's result and deletes it."""
    fields = request_fields() | {"key_health": {"enabled": False}}
    request = tmp_path / "request.json"
    request.write_text(json.dumps(fields))
    started = await run_starter("start", "--from-json", str(request), "--json", env=env)
    assert started.code == 0, started.stderr
    workflow_id = json.loads(started.stdout)["workflow_id"]
    submitted = await run_starter("complete", "-w", workflow_id, "--key-url", KEY_URL, env=env)
    assert submitted.code == 0, submitted.stderr
    watched = await run_starter("watch", "-w", workflow_id, "--interval", "0.2", env=env)
    assert watched.code == 0, watched.stdout + watched.stderr
    status = json.loads((await run_starter("status", "-w", workflow_id, "--json", env=env)).stdout)

    offboarded = await run_starter("offboard", "-w", workflow_id, "--json", env=env)
    assert offboarded.code == 0, offboarded.stderr
    result = json.loads(offboarded.stdout)
    assert result["deleted"] == [status["resources"]["encryption_set_id"]]
    assert result["watch_stopped"] is False
