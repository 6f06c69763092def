"""worker.py as a user runs it: polls its task queue, stops on SIGTERM, refuses bad settings."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from emulator.control import IsvTenant
from emulator.runner import RunningEmulator
from harness.polling import assert_eventually

# worker.py subprocesses against a real dev server.
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(
    address: str, task_queue: str, isv: IsvTenant, emulator: RunningEmulator
) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "AZURE_", "PAYLOAD_"))
    }
    return env | {
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_NAMESPACE": "default",
        "TEMPORAL_TASK_QUEUE": task_queue,
        "AZURE_MODE": "emulator",
        "AZURE_TENANT_ID": isv.tenant_id,
        "AZURE_CLIENT_ID": isv.client_id,
        "AZURE_CLIENT_SECRET": isv.client_secret,
        "AZURE_SUBSCRIPTION_ID": isv.subscription_id,
        "EMULATOR_URL": emulator.url,
        "EMULATOR_CA_BUNDLE": str(emulator.ca_path),
        "LOG_FORMAT": "json",
    }


async def _pollers(client: Client, task_queue: str, kind: TaskQueueType.ValueType) -> int:
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind
        )
    )
    return len(response.pollers)


async def _wait_for_pollers(
    client: Client, task_queue: str, process: subprocess.Popen[bytes]
) -> None:
    async def polling() -> bool:
        if process.poll() is not None:
            pytest.fail("worker.py exited early")  # not retried: it will not come back
        workflow = await _pollers(client, task_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
        activity = await _pollers(client, task_queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
        return bool(workflow and activity)

    await assert_eventually(
        polling, within=30, message="worker.py never polled its task queue", interval=0.2
    )


async def test_worker_polls_and_exits_cleanly_on_sigterm(
    dev_server: WorkflowEnvironment,
    emulator: RunningEmulator,
    isv: IsvTenant,
    tmp_path: Path,
) -> None:
    """worker.py polls workflow and activity tasks, logs one startup line, exits 0 on SIGTERM."""
    task_queue = f"worker-smoke-{uuid.uuid4()}"
    address = dev_server.client.service_client.config.target_host
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: ASYNC220 - returns at once; waits run in a thread
            [sys.executable, str(REPO_ROOT / "worker.py")],
            cwd=REPO_ROOT,
            env=_env(address, task_queue, isv, emulator),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            await _wait_for_pollers(dev_server.client, task_queue, process)
            process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(process.wait, 30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    started = [line for line in lines if line["event"] == "worker started"]
    assert code == 0, log_path.read_text()
    assert len(started) == 1
    assert started[0]["task_queue"] == task_queue
    assert started[0]["namespace"] == "default" and started[0]["azure_mode"] == "emulator"
    assert any(line["event"] == "worker stopped" for line in lines)
    assert isv.client_secret not in log_path.read_text()


def test_bad_setting_exits_2_with_one_line_naming_the_variable() -> None:
    """A malformed setting is one line on stderr naming the variable, exit code 2, no traceback."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "AZURE_", "NOTIFIER"))
    }
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "worker.py")],
        cwd=REPO_ROOT,
        env=env | {"AZURE_MODE": "emulator", "EMULATOR_URL": "http://127.0.0.1:1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "EMULATOR_URL" in lines[0] and "https://" in lines[0]
    assert "Traceback" not in result.stderr
