"""A headless dev server for the CLI tests; no worker, so workflows stay where the CLI put them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from harness.local_stack import DevServer, free_port


@pytest.fixture(scope="session")
async def cli_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevServer]:
    server = DevServer(db_file=tmp_path_factory.mktemp("cli-temporal") / "temporal.db", ui=False)
    await server.start()
    yield server
    server.stop()


@pytest.fixture
def cli_env(cli_server: DevServer) -> dict[str, str]:
    """Points the CLI at the test server on a task queue no worker polls."""
    return {
        "TEMPORAL_ADDRESS": cli_server.address,
        "TEMPORAL_TASK_QUEUE": f"no-worker-{uuid.uuid4().hex[:8]}",
    }


@pytest.fixture
def dead_address() -> str:
    """An address where nothing listens."""
    return f"127.0.0.1:{free_port()}"
