"""The CLI against a real dev server and the real workflow, with fake Azure activities in-process.

The end-to-end tests cover the same commands with the real activities and the emulator; these pin
the CLI's own contract (JSON shapes, exit codes, messages) independently of Azure.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from temporalio.client import Client

from client import operations
from client.connection import DEFAULT_NAMESPACE, TemporalTarget
from client.errors import OperationRejected, WorkflowNotFound
from harness.fake_azure import FakeAzure
from harness.fake_onboarding import workers_on
from harness.local_stack import DevServer
from models import ActivityName, OnboardingStatus
from payload_codec.codec import data_converter
from tests.cli.requests import as_flags, request_fields
from tests.cli.starter_process import CliRun, run_starter

KEY_URL = "https://contosokv.vault.azure.net/keys/disk-key/0123456789abcdef0123456789abcdef"


@dataclass
class FakeStack:
    env: dict[str, str]
    fake: FakeAzure
    client: Client
    target: TemporalTarget

    async def cli(self, *args: str) -> CliRun:
        return await run_starter(*args, env=self.env)

    async def start(self, fields: dict[str, str]) -> str:
        started = await self.cli("start", *as_flags(fields), "--json")
        assert started.code == 0, started.stderr
        return str(json.loads(started.stdout)["workflow_id"])

    async def status(self, workflow_id: str) -> dict:  # type: ignore[type-arg]
        shown = await self.cli("status", "-w", workflow_id, "--json")
        assert shown.code == 0, shown.stderr
        return dict(json.loads(shown.stdout))

    async def wait_for_stage(self, workflow_id: str, stage: str) -> dict:  # type: ignore[type-arg]
        for _ in range(100):
            status = await self.status(workflow_id)
            if status["stage"] == stage:
                return status
            await asyncio.sleep(0.1)
        raise AssertionError(f"{workflow_id} never reached {stage}; last: {status}")


@pytest.fixture
async def fake_stack(cli_server: DevServer) -> AsyncIterator[FakeStack]:
    client = await Client.connect(cli_server.address, data_converter=data_converter(None))
    task_queue = f"fake-{uuid.uuid4().hex[:8]}"
    fake = FakeAzure()
    async with workers_on(client, task_queue, fake.activities()):
        env = {"TEMPORAL_ADDRESS": cli_server.address, "TEMPORAL_TASK_QUEUE": task_queue}
        target = TemporalTarget(cli_server.address, DEFAULT_NAMESPACE, task_queue)
        yield FakeStack(env, fake, client, target)


async def test_status_json_is_the_status_model(fake_stack: FakeStack) -> None:
    """`status --json` prints an OnboardingStatus that round-trips through the model."""
    fields = request_fields()
    workflow_id = await fake_stack.start(fields)
    status = await fake_stack.wait_for_stage(workflow_id, "awaiting-customer")
    parsed = OnboardingStatus.model_validate(status)
    assert parsed.workflow_id == workflow_id
    assert parsed.customer_tenant_id == fields["customer_tenant_id"]
    assert parsed.waiting_for == "customer"
    assert parsed.instructions is not None and parsed.resources.app_id == parsed.instructions.app_id

    shown = await fake_stack.cli("status", "-w", workflow_id)
    assert "awaiting-customer" in shown.stdout and "Consent URL" in shown.stdout
    told = await fake_stack.cli("instructions", "-w", workflow_id)
    assert told.code == 0 and "az ad sp create --id" in told.stdout


async def test_update_accepts_and_watch_follows_to_completion(fake_stack: FakeStack) -> None:
    """`complete` prints the accepted submission; `watch` exits 0 once the onboarding completed."""
    workflow_id = await fake_stack.start(request_fields())
    await fake_stack.wait_for_stage(workflow_id, "awaiting-customer")
    accepted = await fake_stack.cli("complete", "-w", workflow_id, "--key-url", KEY_URL, "--json")
    assert accepted.code == 0, accepted.stderr
    attempt = json.loads(accepted.stdout)
    assert (attempt["number"], attempt["key_url"], attempt["outcome"]) == (1, KEY_URL, "pending")

    watched = await fake_stack.cli("watch", "-w", workflow_id, "--interval", "0.2")
    assert watched.code == 0, watched.stdout + watched.stderr
    assert "completed" in watched.stdout
    listed = await fake_stack.cli("list", "--stage", "completed", "--json")
    assert workflow_id in {row["workflow_id"] for row in json.loads(listed.stdout)}


async def test_validator_rejection_exits_1_with_the_reason(fake_stack: FakeStack) -> None:
    """A submission for another tenant is rejected with the validator's reason and not recorded."""
    workflow_id = await fake_stack.start(request_fields())
    await fake_stack.wait_for_stage(workflow_id, "awaiting-customer")
    other_tenant = str(uuid.uuid4())
    rejected = await fake_stack.cli(
        "complete", "-w", workflow_id, "--key-url", KEY_URL, "--customer-tenant-id", other_tenant
    )
    assert rejected.code == 1
    assert rejected.stderr.startswith("error: submission rejected:")
    assert other_tenant in rejected.stderr
    assert (await fake_stack.status(workflow_id))["attempts"] == []


async def test_signal_submission_is_fire_and_forget(fake_stack: FakeStack) -> None:
    """`complete --signal` returns at once and the workflow still takes the key URL."""
    workflow_id = await fake_stack.start(request_fields())
    await fake_stack.wait_for_stage(workflow_id, "awaiting-customer")
    sent = await fake_stack.cli("complete", "-w", workflow_id, "--key-url", KEY_URL, "--signal")
    assert sent.code == 0, sent.stderr
    assert "signal sent" in sent.stdout
    final = await fake_stack.wait_for_stage(workflow_id, "completed")
    assert final["attempts"][0]["key_url"] == KEY_URL


async def test_customer_error_is_shown_with_its_fix(fake_stack: FakeStack) -> None:
    """A customer-side failure appears in `status` with code, reason and fix."""
    fake_stack.fake.fail_with_customer_issues(ActivityName.CREATE_ENCRYPTION_SET, "no_role")
    workflow_id = await fake_stack.start(request_fields())
    await fake_stack.wait_for_stage(workflow_id, "awaiting-customer")
    assert (await fake_stack.cli("complete", "-w", workflow_id, "--key-url", KEY_URL)).code == 0
    for _ in range(100):
        status = await fake_stack.status(workflow_id)
        if status["attempts"][0]["outcome"] == "customer_error":
            break
        await asyncio.sleep(0.1)
    # Wide enough that the fix is not folded next to the (versioned, long) key URL.
    shown = await run_starter("status", "-w", workflow_id, env={**fake_stack.env, "COLUMNS": "300"})
    assert "KeyVaultAccessForbidden" in shown.stdout
    assert "Key Vault Crypto Service Encryption User" in shown.stdout


async def test_cancel_then_watch_exits_1(fake_stack: FakeStack) -> None:
    """`cancel` ends a waiting onboarding as cancelled; `watch` reports it with exit 1."""
    workflow_id = await fake_stack.start(request_fields())
    await fake_stack.wait_for_stage(workflow_id, "awaiting-customer")
    cancelled = await fake_stack.cli("cancel", "-w", workflow_id)
    assert cancelled.code == 0, cancelled.stderr
    watched = await fake_stack.cli("watch", "-w", workflow_id, "--interval", "0.2")
    assert watched.code == 1
    assert (await fake_stack.status(workflow_id))["stage"] == "cancelled"
    again = await fake_stack.cli("cancel", "-w", workflow_id)
    assert again.code == 1 and "already" in again.stderr
    # The client library says so in its own exceptions, not the SDK's.
    with pytest.raises(OperationRejected, match=f"'{workflow_id}' did not complete: .*cancel"):
        await operations.fetch_result(fake_stack.client, fake_stack.target, workflow_id)
    with pytest.raises(WorkflowNotFound):
        await operations.fetch_result(fake_stack.client, fake_stack.target, "no-such-onboarding")
