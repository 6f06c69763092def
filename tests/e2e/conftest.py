"""One real stack per session: dev server, emulator subprocess, seeded ISV tenant, worker.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulator.control import CustomerTenant, EmulatorControl, IsvTenant
from emulator.runner import EmulatorProcess, start_emulator_process
from harness.local_stack import LOCAL_TIME_SCALE, DevServer, WorkerProcess, worker_env

WEBHOOK_CHANNEL = "e2e-customer"


@dataclass(frozen=True)
class Stack:
    server: DevServer
    emulator: EmulatorProcess
    isv: IsvTenant
    worker: WorkerProcess
    task_queue: str

    @property
    def control(self) -> EmulatorControl:
        return self.emulator.control

    @property
    def cli_env(self) -> dict[str, str]:
        """What a user exports before running starter.py against this stack."""
        return {"TEMPORAL_ADDRESS": self.server.address, "TEMPORAL_TASK_QUEUE": self.task_queue}


@asynccontextmanager
async def running_stack(
    root: Path, *, worker_extra: dict[str, str] | None = None
) -> AsyncIterator[Stack]:
    """Dev server, emulator process, seeded ISV tenant and worker.py under `root`, then stopped.

    The e2e session fixture and other suites that need their own real stack (tests/reliability)
    start it the same way through this.
    """
    server = DevServer(db_file=root / "temporal.db", ui=False)
    await server.start()
    emulator = start_emulator_process(data_dir=root / "emulator", feature_delay=0.2)
    # Azure's throttling model, faster; worker_env scales the worker's write pace to match.
    await emulator.control.set_throttling(time_scale=LOCAL_TIME_SCALE)
    isv = await emulator.control.create_isv_tenant()
    task_queue = f"e2e-{uuid.uuid4().hex[:8]}"
    env = worker_env(
        server.address,
        task_queue,
        isv,
        emulator.url,
        emulator.ca_path,
        webhook_channel=WEBHOOK_CHANNEL,
        extra=worker_extra,
    )
    worker = WorkerProcess(env, root / "worker.log")
    worker.start()
    try:
        yield Stack(server, emulator, isv, worker, task_queue)
    finally:
        worker.stop()
        await emulator.control.aclose()
        emulator.stop()
        server.stop()


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("e2e")) as started:
        yield started


@pytest.fixture
async def customer(stack: Stack) -> CustomerTenant:
    """A fresh customer tenant per test, so tests never share an onboarding."""
    assert stack.worker.running, f"worker.py is not running:\n{stack.worker.log_tail()}"
    return await stack.control.create_customer_tenant(display_name="Contoso")
